"""Names from outside (references, payloads, registries) checked by full match against ASCII-only grammars,
before they become URLs or paths: no trailing newline, no Unicode look-alikes, no `..`, no separators."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from okd_release import digest as digests
from okd_release import names
from okd_release.errors import InvalidReference, UnsafeName
from okd_release.reference import Reference, parse

DIGEST = "sha256:" + "ab" * 32
SAFE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")  # distribution's grammar, spelled out here again


def test_digest_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidReference, match=r"invalid digest 'sha256:(ab){32}\\n': expected sha256:<64 lowercase hex>"):
        digests.validate(DIGEST + "\n")


@pytest.mark.parametrize("value", [None, 12, b"sha256:" + b"ab" * 32, ["sha256:" + "ab" * 32]])
def test_a_digest_that_is_not_a_string_is_an_invalid_digest_not_a_type_error(value: object) -> None:
    with pytest.raises(UnsafeName, match="invalid digest"):
        digests.validate(value)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("quay.io/a/b:v1\n", r"invalid tag 'v1\\n'"),
        ("quay.io/a/b\n", r"bad path component 'b\\n'"),
        ("quay.io\n/a/b:v1", r"bad registry host 'quay.io\\n'"),
        (f"quay.io/a/b@{DIGEST}\n", r"bad digest 'sha256:(ab){32}\\n'"),
        ("quay.io/a/b:t\u00e9st", "invalid tag 't\u00e9st'"),
        ("quay.io/a/b:v\uff11", "invalid tag 'v\uff11'"),  # a full-width digit one: \w matched it
        ("quay.io/a/b:\u0661", "invalid tag '\u0661'"),
        ("quay.io/\u0430/b:v1", "bad path component '\u0430'"),  # Cyrillic a
        ("quay.io/a/b:v1\x00", r"invalid tag 'v1\\x00'"),
        ("file://../etc:v1", r"bad path component '\.\.'"),
        ("file://a/./b:v1", r"bad path component '\.'"),
    ],
)
def test_parse_refuses_what_only_a_prefix_match_or_unicode_classes_let_through(text: str, reason: str) -> None:
    with pytest.raises(InvalidReference, match=reason) as raised:
        parse(text)
    assert "\n" not in str(raised.value)


def test_a_reference_cannot_be_made_with_unsafe_parts_however_it_is_made() -> None:
    with pytest.raises(UnsafeName, match=r"invalid tag 'x/\.\./y'"):
        Reference("quay.io", "a/b", tag="x/../y")
    with pytest.raises(UnsafeName, match=r"invalid repository 'a/\.\./b'"):
        Reference("quay.io", "a/../b")
    with pytest.raises(UnsafeName, match="invalid digest"):
        Reference("quay.io", "a/b", digest="sha256:../x")
    with pytest.raises(UnsafeName, match="invalid registry host 'evil.example/x'"):
        Reference("evil.example/x", "a/b", tag="v1")
    reference = parse("quay.io/a/b:v1")
    with pytest.raises(UnsafeName, match=r"invalid tag '\.\.'"):
        reference.with_tag("..")
    with pytest.raises(UnsafeName, match="invalid digest"):
        reference.with_digest(DIGEST + "\n")


@pytest.mark.parametrize("tag", ["v1", "4.15.0-0.okd-2024-03-10-010116", "_x", "A" * 128, "x86_64"])
def test_check_tag_accepts_distribution_tags(tag: str) -> None:
    assert names.check_tag(tag) == tag


@pytest.mark.parametrize("tag", ["", ".hidden", "-x", "A" * 129, "a/b", "..", "v1\n", "v 1", "t\u00e9st", "v:1", None, 3])
def test_check_tag_refuses_and_names_the_value_and_what_it_is(tag: object) -> None:
    with pytest.raises(UnsafeName, match=rf"^invalid image tag in payload {re.escape(repr(tag))}: "):
        names.check_tag(tag, "image tag in payload")


@pytest.mark.parametrize("repository", ["a", "okd/release", "a.b/c_d/e__f/g--h", "0/1/2"])
def test_check_repository_accepts_distribution_paths(repository: str) -> None:
    assert names.check_repository(repository) == repository


@pytest.mark.parametrize(
    ("repository", "reason"),
    [("", "no repository"), ("a//b", "bad path component ''"), ("a/../b", r"bad path component '\.\.'"),
     ("/a", "bad path component ''"), ("a/", "bad path component ''"), ("A/b", "must be lowercase"),
     ("a/b\n", r"bad path component 'b\\n'"), ("a/b c", "bad path component 'b c'"), ("a_/b", "bad path component 'a_'"),
     ("a" * 256, "longer than 255"), ("\u0430", "bad path component")],
)
def test_check_repository_refuses_with_the_reason(repository: str, reason: str) -> None:
    with pytest.raises(UnsafeName, match=f"^invalid mirror repository .*{reason}"):
        names.check_repository(repository, "mirror repository")


@pytest.mark.parametrize("host", ["quay.io", "localhost", "127.0.0.1:5000", "[::1]:5000", "my-registry.example.com:443"])
def test_check_host_accepts_registry_hosts(host: str) -> None:
    assert names.check_host(host) == host


@pytest.mark.parametrize("host", ["", "evil.example/x", "quay.io\n", "quay.io:99999999", "user@quay.io", "q uay.io",
                                  "-quay.io", "quay.io?x", "qu\u00e4y.io", "quay.io:"])
def test_check_host_refuses_what_would_change_the_url(host: str) -> None:
    with pytest.raises(UnsafeName, match=f"^invalid registry host {re.escape(repr(host))}: "):
        names.check_host(host)


def test_check_reference_is_a_digest_when_it_has_a_colon_else_a_tag() -> None:
    assert names.check_reference(DIGEST) == DIGEST and names.check_reference("v1") == "v1"
    with pytest.raises(UnsafeName, match="invalid manifest reference 'sha256:1234'"):
        names.check_reference("sha256:1234")
    with pytest.raises(UnsafeName, match=r"invalid manifest reference 'x/\.\./y'"):
        names.check_reference("x/../y")


@pytest.mark.parametrize("name", ["openshift-install", "0000_50_cluster-ingress_00.yaml", "a b", "release-metadata",
                                  "..hidden", "x" * 255, "~$!"])
def test_check_path_component_accepts_plain_file_names(name: str) -> None:
    assert names.check_path_component(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [("", "empty"), (".", "not a file name"), ("..", "not a file name"), ("a/b", "path separator"),
     ("..\\..\\x", "path separator"), ("/etc/passwd", "path separator"), ("a\x00b", "printable ASCII"),
     ("a\nb", "printable ASCII"), ("a\x7fb", "printable ASCII"), ("\u00e9", "printable ASCII"),
     ("x" * 256, "longer than 255"), (None, "empty"), (b"name", "empty")],
)
def test_check_path_component_refuses_with_the_reason(name: object, reason: str) -> None:
    with pytest.raises(UnsafeName, match=rf"^invalid manifest file name .*: (contains a |only )?{reason}") as raised:
        names.check_path_component(name, "manifest file name")
    assert "\n" not in str(raised.value) and "\x00" not in str(raised.value)


def test_a_huge_value_is_shortened_in_the_message() -> None:
    with pytest.raises(UnsafeName) as raised:
        names.check_tag("-" + "x" * 100_000)
    assert len(str(raised.value)) < 400


@given(st.text(max_size=140))
def test_check_tag_accepts_exactly_the_ascii_grammar(text: str) -> None:
    try:
        names.check_tag(text)
    except UnsafeName:
        assert not SAFE_TAG.fullmatch(text) or not text.isascii()
    else:
        assert text.isascii() and SAFE_TAG.fullmatch(text)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_whatever_parses_is_printable_ascii_in_every_part(text: str) -> None:
    try:
        reference = parse(text)
    except InvalidReference:
        return
    for part in (reference.registry, reference.repository, reference.tag or "", reference.digest or ""):
        assert part.isascii() and part.isprintable() and ".." not in part.split("/")
