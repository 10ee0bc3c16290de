import pytest
from hypothesis import given
from hypothesis import strategies as st

from okd_release.errors import InvalidReference
from okd_release.reference import parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("ubuntu", "docker.io", "library/ubuntu", "latest", None),
        ("docker.io/openshift/origin-cli", "docker.io", "openshift/origin-cli", "latest", None),
        ("localhost:5000/a/b:t", "localhost:5000", "a/b", "t", None),
        ("localhost/a", "localhost", "a", "latest", None),
        (f"host.example/a@{DIGEST}", "host.example", "a", None, DIGEST),
        (f"quay.io/okd/scos-release:4.15.0@{DIGEST}", "quay.io", "okd/scos-release", "4.15.0", DIGEST),
        ("127.0.0.1:5000/ns/repo:v1.0-rc_1", "127.0.0.1:5000", "ns/repo", "v1.0-rc_1", None),
        ("file://openshift/release:4.15", "", "openshift/release", "4.15", None),
    ],
)
def test_parse_normalises(text: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    reference = parse(text)
    assert (reference.registry, reference.repository, reference.tag, reference.digest) == (
        registry, repository, tag, digest)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("quay.io/OpenShift/release:4", "lowercase"),
        ("quay.io/a@sha256:1234", "bad digest"),
        ("quay.io/a@md5:" + "a" * 32, "bad digest"),
        ("quay.io/a:" + "t" * 129, "invalid tag"),
        ("quay.io/a:-bad", "invalid tag"),
        ("quay.io//a", "bad path component"),
        ("https://quay.io/a", "unsupported scheme"),
    ],
)
def test_parse_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason):
        parse(text)


def test_string_form_round_trips() -> None:
    for text in ("quay.io/okd/scos-release:4.15", f"quay.io/okd/scos-release@{DIGEST}", "file://a/b:c"):
        assert str(parse(text)) == text


def test_with_digest_drops_tag() -> None:
    assert str(parse("quay.io/a/b:t").with_digest(DIGEST)) == f"quay.io/a/b@{DIGEST}"


component = st.from_regex(r"[a-z0-9]{1,5}([._-][a-z0-9]{1,5}){0,2}", fullmatch=True)
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)


@given(st.lists(component, min_size=1, max_size=3), tags, st.sampled_from(["quay.io", "localhost:5000", "r.example.com"]))
def test_valid_references_round_trip(path: list[str], tag: str, registry: str) -> None:
    text = f"{registry}/{'/'.join(path)}:{tag}"
    reference = parse(text)
    assert str(reference) == text
    assert parse(str(reference)) == reference


@given(st.text(max_size=80))
def test_arbitrary_text_parses_or_raises_invalid_reference(text: str) -> None:
    try:
        reference = parse(text)
    except InvalidReference as error:
        assert str(error)
    else:
        assert parse(str(reference)) == reference
