"""The manifest rewriting rules, with oc's own table tests (pkg/cli/admin/release/image_mapper_test.go)
ported as data: TestNewImageMapper, TestNewExactMapper, TestNewComponentVersionsMapper,
Test_parseComponentVersionsLabel and Test_loadImageStreamTransforms. Cases marked "okd-release" are ours:
the boundaries oc's patterns imply, checked against /tmp/oc on the same inputs."""

from __future__ import annotations

import json
import re
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from okd_release.errors import PayloadError
from okd_release.release.new import rewrite
from okd_release.release.new.rewrite import ImageReference, exact_mapper, image_mapper, release_version, version_mapper
from okd_release.release.new.transforms import check_build_versions, load_transforms, parse_operator_references
from okd_release.release.payload.model import ImageTag
from okd_release.release.payload.versions import parse_semver, parse_versions

ETCD = {"etcd": ("quay.io/coreos/etcd", "quay.io/openshift/origin-etcd@sha256:1234")}
ETCD_LATEST = {"etcd": ("quay.io/coreos/etcd:latest", "quay.io/openshift/origin-etcd@sha256:1234")}
PROMETHEUS = {"etcd": ("quay.io/openshift/origin-prometheus:latest", "quay.io/openshift/origin-prometheus@sha256:1234")}
PLACEHOLDER = {"a": ("quay.io/ph/a:latest", "r.example/okd/c@sha256:aa")}

# TestNewImageMapper: (name, images {tag: (source, target)}, input, output); output None = an error
IMAGE_MAPPER_CASES = [
    ("empty input", {}, "", ""),
    ("empty source repository", {"etcd": ("", "quay.io/openshift/origin-etcd@sha256:1234")}, "", None),
    ("duplicate source repositories", {"etcd": ("quay.io/coreos/etcd", "quay.io/openshift/origin-etcd@sha256:1234"),
                                       "etcd-2": ("quay.io/coreos/etcd", "quay.io/openshift/origin-etcd@sha256:5678")},
     "", None),
    ("replace repository with tag", ETCD, "image: quay.io/coreos/etcd:latest",
     "image: quay.io/openshift/origin-etcd@sha256:1234"),
    ("replace tag with digest", ETCD_LATEST, "image: quay.io/coreos/etcd:latest",
     "image: quay.io/openshift/origin-etcd@sha256:1234"),
    ("replace repository with tag with trailing whitespace", ETCD, "image: quay.io/coreos/etcd:latest\n",
     "image: quay.io/openshift/origin-etcd@sha256:1234\n"),
    ("replace repository with digest", ETCD, "image: quay.io/coreos/etcd@sha256:5678",
     "image: quay.io/openshift/origin-etcd@sha256:1234"),
    ("replace with digest on a multi-line file with quotes and newlines", PROMETHEUS,
     '\n\t- "-images=prometheus=quay.io/openshift/origin-prometheus:latest"\n'
     '\t- "-images=alertmanager=quay.io/openshift/origin-prometheus-alertmanager:latest"\n',
     '\n\t- "-images=prometheus=quay.io/openshift/origin-prometheus@sha256:1234"\n'
     '\t- "-images=alertmanager=quay.io/openshift/origin-prometheus-alertmanager:latest"\n'),
    ("replace with digest on a multi-line file with quotes and newlines (2)", PROMETHEUS,
     '\n\t- "quay.io/openshift/origin-prometheus:latest"\n',
     '\n\t- "quay.io/openshift/origin-prometheus@sha256:1234"\n'),
    ("replace bare repository when told to do so", ETCD, "image: quay.io/coreos/etcd",
     "image: quay.io/openshift/origin-etcd@sha256:1234"),
    ("replace bare repository with trailing whitespace when told to do so", ETCD, "image: quay.io/coreos/etcd ",
     "image: quay.io/openshift/origin-etcd@sha256:1234 "),
    ("Ignore things that only look like images", ETCD, "example_url: https://quay.io/coreos/etcd:8443/test",
     "example_url: https://quay.io/coreos/etcd:8443/test"),
    ("replace entire file - just to verify the regex", ETCD, "quay.io/coreos/etcd:latest",
     "quay.io/openshift/origin-etcd@sha256:1234"),
    # okd-release: the source is the whole from.name, so other tags and digests of the repository stay
    ("okd-release: bare repository of a tagged placeholder is left alone", PLACEHOLDER,
     "image: quay.io/ph/a\n", "image: quay.io/ph/a\n"),
    ("okd-release: another tag of a tagged placeholder is left alone", PLACEHOLDER,
     "image: quay.io/ph/a:v2\n", "image: quay.io/ph/a:v2\n"),
    ("okd-release: a digest of a tagged placeholder is left alone", PLACEHOLDER,
     "image: quay.io/ph/a@sha256:abcdef0123\n", "image: quay.io/ph/a@sha256:abcdef0123\n"),
    ("okd-release: the placeholder followed by more tag characters is left alone", PLACEHOLDER,
     "image: quay.io/ph/a:latestx\n", "image: quay.io/ph/a:latestx\n"),
    ("okd-release: a placeholder's own tag followed by a digest locator", PLACEHOLDER,
     "image: quay.io/ph/a:latest@sha256:ab\n", "image: r.example/okd/c@sha256:aa\n"),
    ("okd-release: the delimiter is consumed, so of three placeholders one space apart the middle one stays",
     PLACEHOLDER, "x: quay.io/ph/a:latest quay.io/ph/a:latest quay.io/ph/a:latest\n",
     "x: r.example/okd/c@sha256:aa quay.io/ph/a:latest r.example/okd/c@sha256:aa\n"),
    ("okd-release: a vertical tab is not a delimiter (Go's \\s)", PLACEHOLDER,
     "x: quay.io/ph/a:latest\v", "x: quay.io/ph/a:latest\v"),
    ("okd-release: the end of the text is the end, not a final newline's start", PLACEHOLDER,
     "x=quay.io/ph/a:latest", "x=r.example/okd/c@sha256:aa"),
    ("okd-release: a non-ASCII character before counts as a boundary", PLACEHOLDER,
     "x:\u00e9quay.io/ph/a:latest'", "x:\u00e9r.example/okd/c@sha256:aa'"),
    ("okd-release: a word character before is not a boundary", PLACEHOLDER,
     "x: mquay.io/ph/a:latest", "x: mquay.io/ph/a:latest"),
    ("okd-release: of a source and a longer source it prefixes, the longer matches first",
     {"bare": ("quay.io/ph/a", "r/bare@sha256:00"), "tagged": ("quay.io/ph/a:latest", "r/tagged@sha256:11")},
     "- quay.io/ph/a:latest\n- quay.io/ph/a:v1\n- quay.io/ph/a\n",
     "- r/tagged@sha256:11\n- r/bare@sha256:00\n- r/bare@sha256:00\n"),
]


@pytest.mark.parametrize(("name", "images", "given", "expected"), IMAGE_MAPPER_CASES, ids=[c[0] for c in IMAGE_MAPPER_CASES])
def test_image_mapper_rewrites_as_oc(name: str, images: dict[str, tuple[str, str]], given: str,
                                     expected: str | None) -> None:
    references = {tag: ImageReference(source, target) for tag, (source, target) in images.items()}
    if expected is None:
        with pytest.raises(PayloadError, match="empty source repository|defined more than once"):
            image_mapper(references)
        return
    assert image_mapper(references)(given.encode()).decode() == expected


# TestNewExactMapper: (name, mappings, input, output)
EXACT_MAPPER_CASES = [
    ("replace at end of file", {"reg/repo@sha256:01234": "reg2/repo2@sha256:01234"},
     "image: reg/repo@sha256:01234", "image: reg2/repo2@sha256:01234"),
    ("replace at beginning of file", {"reg/repo@sha256:01234": "reg2/repo2@sha256:01234"},
     "reg/repo@sha256:01234", "reg2/repo2@sha256:01234"),
    ("okd-release: not inside a longer word", {"reg/repo@sha256:01234": "reg2/repo2@sha256:01234"},
     "image: reg/repo@sha256:012345", "image: reg/repo@sha256:012345"),
    ("okd-release: nothing to map", {}, "image: reg/repo@sha256:01234", "image: reg/repo@sha256:01234"),
]


@pytest.mark.parametrize(("name", "mappings", "given", "expected"), EXACT_MAPPER_CASES, ids=[c[0] for c in EXACT_MAPPER_CASES])
def test_exact_mapper_rewrites_as_oc(name: str, mappings: dict[str, str], given: str, expected: str) -> None:
    assert exact_mapper(mappings)(given.encode()).decode() == expected


A2 = {"a": ("2.0.0", "")}
# TestNewComponentVersionsMapper: (release name, versions, tags by key, input, output, error). oc's inputs are
# Go raw strings: `\n` there is a backslash and an n, hence r"...".
VERSION_MAPPER_CASES = [
    ("", None, None, r"version: 0.0.1-snapshot\n", r"version: 0.0.1-snapshot\n", None),
    ("", None, None, r"version: 0.0.1-snapshot-\n", None, "empty version references are not allowed"),
    ("", None, None, r"version: 0.0.1-snapshot-a\n", None, 'unknown version reference "a"'),
    ("2.0.0", None, None, r"version: 0.0.1-snapshot\n", r"version: 2.0.0\n", None),
    ("2.0", None, None, r"version: 0.0.1-snapshot\n", r"version: 0.0.1-snapshot\n", None),  # name not semver
    ("", A2, None, r"version: 0.0.1-snapshot-a\n", r"version: 2.0.0\n", None),
    ("", A2, {"a": ["tag1", "tag2"]}, r"version: 0.0.1-snapshot-a\n", None,
     'the version for "a" is inconsistent across the referenced images: tag1, tag2'),
    ("", {"a": ("2.0.0", ""), "b": ("3.0.0", "")}, {"a": ["tag1", "tag2"]}, r"version: 0.0.1-snapshot-b\n",
     r"version: 3.0.0\n", None),
    ("", A2, None, "version: 0.0.1-snapshot-a", "version: 2.0.0", None),
    ("", A2, None, "0.0.1-snapshot-a", "2.0.0", None),
    ("", A2, None, ":0.0.1-snapshot-a", ":2.0.0", None),
    ("", A2, None, "-0.0.1-snapshot-a_", "-2.0.0_", None),
    ("", A2, None, "0.0.1-snapshot-a 0.0.1-snapshot-b", None, 'unknown version reference "b"'),
    ("", {"a": ("2.0.0", ""), "b": ("1.0.0", "")}, None, "0.0.1-snapshot-a 0.0.1-snapshot-b", "2.0.0 1.0.0", None),
    ("", None, None, "0.0.1-snapshot-a0.0.1-snapshot-b", None, 'unknown version reference "a0"'),
    # okd-release: the boundaries of componentVersionRe, as /tmp/oc rewrote them
    ("4.15.0-0.okd-sample", None, None, "v: x-0.0.1-snapshot\n", "v: x-4.15.0-0.okd-sample\n", None),
    ("4.15.0-0.okd-sample", None, None, "v: 0.0.1-snapshot.1\n", "v: 4.15.0-0.okd-sample.1\n", None),
    ("4.15.0-0.okd-sample", None, None, "v: 0.0.1-snapshotabc\n", "v: 0.0.1-snapshotabc\n", None),
    ("4.15.0-0.okd-sample", None, None, "v: abc0.0.1-snapshot\n", "v: abc0.0.1-snapshot\n", None),
    ("4.15.0-0.okd-sample+build.7", None, None, "v: 0.0.1-snapshot\n", "v: 4.15.0-0.okd-sample\n", None),
    ("", None, None, "0.0.1-snapshot-a 0.0.1-snapshot-b", None, "unknown version references: a, b"),
    ("", A2, {"a": ["tag2", "tag1"]}, "0.0.1-snapshot-a 0.0.1-snapshot-z", None, 'unknown version reference "z"'),
]


@pytest.mark.parametrize(("release", "versions", "tags_by_key", "given", "expected", "error"), VERSION_MAPPER_CASES)
def test_version_mapper_rewrites_as_oc(release: str, versions: dict[str, tuple[str, str]] | None,
                                       tags_by_key: dict[str, list[str]] | None, given: str, expected: str | None,
                                       error: str | None) -> None:
    rewrite = version_mapper(release, versions, tags_by_key)
    if error is not None:
        with pytest.raises(PayloadError) as raised:
            rewrite(given.encode())
        assert error in str(raised.value)
        return
    assert rewrite(given.encode()).decode() == expected


def test_release_version_drops_build_metadata_and_is_empty_for_a_non_semver_name() -> None:
    assert release_version("4.15.0-0.okd-2024-03-10-010116+abc.1") == "4.15.0-0.okd-2024-03-10-010116"
    assert release_version("4.15") == ""
    assert release_version("v4.15.0") == ""


# Test_parseComponentVersionsLabel: (label, display names, expected); expected None = an error
PARSE_VERSIONS_CASES = [
    ("", "", {}),
    ("", "a=b", {}),
    ("a=1.0.0", "", None),
    ("a!=1.0.0", "", None),
    ("ab", "", None),
    ("a1=1.0.0", "a=b", None),
    ("a1=1.0.0", "", {"a1": ("1.0.0", "")}),
    ("a1=1.0.0", "a1=b 1 c d : -", {"a1": ("1.0.0", "b 1 c d : -")}),
    ("a1=1.0.0", "a1=Red Hat Enterprise Linux CoreOS 9.8", {"a1": ("1.0.0", "Red Hat Enterprise Linux CoreOS 9.8")}),
    ("a1=1.0.0", "a1=!", None),
    ("a1=1.0.0", "a1=!,a1=valid", None),
    ("a1=1.0.0", "a1=other,a1=valid", {"a1": ("1.0.0", "valid")}),
    ("a1=1.0.0,b1=2.0.0", "a1=other,a1=valid", {"a1": ("1.0.0", "valid"), "b1": ("2.0.0", "")}),
    # okd-release: what the same rules give elsewhere
    ("kubernetes=1.28.3+build.1", "", {"kubernetes": ("1.28.3", "")}),  # build metadata dropped
    (" kubernetes=1.28.3 , crio=1.28.0 ", "", {"kubernetes": ("1.28.3", ""), "crio": ("1.28.0", "")}),
    ("kubernetes=1.28.3,", "", None),  # every pair is checked, an empty one too
    ("kubernetes=1.28", "", None),
    ("machine-os=39.20240101.3-0", "machine-os=Fedora CoreOS", {"machine-os": ("39.20240101.3-0", "Fedora CoreOS")}),
    ("Kubernetes=1.28.3", "", None),
    ("kubernetes-=1.28.3", "", None),
    ("k8s\n=1.28.3", "", None),  # Go's $ is the end of the text, not before a final newline
    ("k8s=1.28.3\x1c", "", None),  # Go's TrimSpace leaves file separators, which str.strip() takes
]


@pytest.mark.parametrize(("label", "display_names", "expected"), PARSE_VERSIONS_CASES)
def test_parse_versions_follows_oc(label: str, display_names: str, expected: dict[str, tuple[str, str]] | None) -> None:
    if expected is None:
        with pytest.raises(PayloadError):
            parse_versions(label, display_names)
        return
    assert parse_versions(label, display_names) == expected


@pytest.mark.parametrize(("version", "expected"), [
    ("1.0.0", "1.0.0"), ("4.15.0-0.okd-2024-03-10-010116", "4.15.0-0.okd-2024-03-10-010116"),
    ("1.0.0-rc.1+build.5", "1.0.0-rc.1"), ("1.0.0+a-b", "1.0.0"), ("18446744073709551615.0.0", "18446744073709551615.0.0"),
    ("1.0", None), ("", None), ("01.0.0", None), ("1.0.0-01", None), ("1.0.0-", None), ("1.0.0-a..b", None),
    ("1.0.0+", None), ("1.0.0+a_b", None), ("v1.0.0", None), ("18446744073709551616.0.0", None), ("1.0.0-a b", None),
])
def test_parse_semver_follows_blang_semver(version: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(PayloadError, match="not a semantic version"):
            parse_semver(version)
        return
    assert parse_semver(version) == expected


def _local(*tags: tuple[str, str, str]) -> bytes:
    """An operator's image-references with (name, from.kind, from.name) tags."""
    return json.dumps({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "spec": {"tags": [
        {"name": name, "from": {"kind": kind, "name": source}} for name, kind, source in tags]}}).encode()


IGNORED = ("ignored", "SomethingElse", "a_name")
TEST = ("test", "DockerImage", "quay.io/test/other:value")
PULLSPEC_1 = "quay.io/test/other@sha256:0000000000000000000000000000000000000001"
PULLSPEC_2 = "quay.io/test/other@sha256:0000000000000000000000000000000000000002"
VERSIONS = "io.openshift.build.versions"
DISPLAY = "io.openshift.build.version-display-names"
RESOLVED = {"test": ImageReference("quay.io/test/other:value", PULLSPEC_1)}

# Test_loadImageStreamTransforms: (name, release tags, local, versions, tags by key, references); None = an error
TRANSFORMS_CASES = [
    ("error if no source input", [], _local(IGNORED, TEST), None, None, None),
    ("ignore tag for non matching kind", [ImageTag("test", PULLSPEC_1)], _local(IGNORED), {}, {}, {}),
    ("resolve tag", [ImageTag("test", PULLSPEC_1)], _local(IGNORED, TEST), {}, {}, RESOLVED),
    ("resolve referenced component", [ImageTag("test", PULLSPEC_1, {VERSIONS: "other=1.0.0"})],
     _local(IGNORED, TEST), {"other": ("1.0.0", "")}, {"other": ["test"]}, RESOLVED),
    ("resolve optional display name for component",
     [ImageTag("test", PULLSPEC_1, {VERSIONS: "other=1.0.0,test=1.3.6"}),
      ImageTag("test-2", PULLSPEC_1, {VERSIONS: "other=1.0.0,test=1.3.6", DISPLAY: "other=Some Cool Component"})],
     _local(IGNORED, TEST), {"test": ("1.3.6", ""), "other": ("1.0.0", "")}, {"other": ["test"], "test": ["test"]},
     RESOLVED),
    ("conflicting resolved tags triggers an error",
     [ImageTag("test", PULLSPEC_1, {VERSIONS: "other=1.0.0,test=1.3.7"}),
      ImageTag("test-2", PULLSPEC_2, {VERSIONS: "other=1.0.0,test=1.3.6", DISPLAY: "other=Some Cool Component"})],
     _local(TEST, ("test-2", "DockerImage", "quay.io/test/test:value")), None, None, None),
    # okd-release: the rest of loadImageStreamTransforms' rules
    ("machine-os may differ (dual streams): the first by tag name wins, both are recorded",
     [ImageTag("rhcos-9", PULLSPEC_2, {VERSIONS: "machine-os=9.0.0"}),
      ImageTag("rhcos-8", PULLSPEC_1, {VERSIONS: "machine-os=8.0.0"})],
     _local(("rhcos-8", "DockerImage", "q/8:1"), ("rhcos-9", "DockerImage", "q/9:1")),
     {"machine-os": ("8.0.0", "")}, {"machine-os": ["rhcos-8", "rhcos-9"]},
     {"rhcos-8": ImageReference("q/8:1", PULLSPEC_1), "rhcos-9": ImageReference("q/9:1", PULLSPEC_2)}),
    ("kubectl counts only from cli and cli-artifacts",
     [ImageTag("hyperkube", PULLSPEC_1, {VERSIONS: "kubernetes=1.28.3,kubectl=1.28.3"}),
      ImageTag("cli", PULLSPEC_2, {VERSIONS: "kubectl=1.28.4"})],
     _local(("hyperkube", "DockerImage", "q/h:1"), ("cli", "DockerImage", "q/cli:1")),
     {"kubernetes": ("1.28.3", ""), "kubectl": ("1.28.4", "")}, {"kubernetes": ["hyperkube"], "kubectl": ["cli"]},
     {"hyperkube": ImageReference("q/h:1", PULLSPEC_1), "cli": ImageReference("q/cli:1", PULLSPEC_2)}),
    ("versions only from the tags this operator names",
     [ImageTag("test", PULLSPEC_1), ImageTag("hyperkube", PULLSPEC_2, {VERSIONS: "kubernetes=1.28.3"})],
     _local(TEST), {}, {}, RESOLVED),
    ("a DockerImage tag without from.name is an error", [ImageTag("test", PULLSPEC_1)],
     _local(("test", "DockerImage", "")), None, None, None),
    ("an invalid version annotation on a named tag is an error", [ImageTag("test", PULLSPEC_1, {VERSIONS: "kubernetes=1.28"})],
     _local(TEST), None, None, None),
]


@pytest.mark.parametrize(("name", "release", "local", "versions", "tags_by_key", "references"), TRANSFORMS_CASES,
                         ids=[c[0] for c in TRANSFORMS_CASES])
def test_load_transforms_follows_oc(name: str, release: list[ImageTag], local: bytes,
                                    versions: dict[str, tuple[str, str]] | None, tags_by_key: dict[str, list[str]] | None,
                                    references: dict[str, ImageReference] | None) -> None:
    placeholders = parse_operator_references(local)
    if references is None:
        with pytest.raises(PayloadError):
            load_transforms(release, placeholders)
        return
    transforms = load_transforms(release, placeholders)
    assert (transforms.versions, transforms.tags_by_key, transforms.references) == (versions, tags_by_key, references)


def test_load_transforms_skips_a_missing_tag_only_when_allowed() -> None:
    placeholders = parse_operator_references(_local(TEST, ("gone", "DockerImage", "q/gone:1")))
    with pytest.raises(PayloadError, match='no input image tag named "gone"'):
        load_transforms([ImageTag("test", PULLSPEC_1)], placeholders)
    assert load_transforms([ImageTag("test", PULLSPEC_1)], placeholders, allow_missing=True).references == RESOLVED


def test_load_transforms_takes_defaults_only_for_keys_no_named_tag_declares() -> None:
    release = [ImageTag("test", PULLSPEC_1, {VERSIONS: "kubernetes=1.28.3"})]
    transforms = load_transforms(release, parse_operator_references(_local(TEST)),
                                 defaults={VERSIONS: "kubernetes=1.0.0,crio=1.28.1", DISPLAY: "crio=CRI-O"})
    assert transforms.versions == {"kubernetes": ("1.28.3", ""), "crio": ("1.28.1", "CRI-O")}
    assert transforms.tags_by_key == {"kubernetes": ["test"]}


def test_an_operator_image_references_must_be_an_image_stream_of_image_openshift_io_v1() -> None:
    with pytest.raises(PayloadError, match="image.openshift.io/v1 ImageStream"):
        parse_operator_references(b"kind: ImageStream\napiVersion: v1\n")
    assert parse_operator_references(b"kind: ImageStream\napiVersion: image.openshift.io/v1\n") == []


@pytest.mark.parametrize(("labels", "error"), [
    ({VERSIONS: "kubernetes=1.28"}, 'tag "x" has an invalid io.openshift.build.versions'),
    ({VERSIONS: "etcd=3.5.0"}, 'tag "x" references a component version "etcd" which is not in the allowed list'),
])
def test_component_version_labels_are_checked_like_oc(labels: dict[str, str], error: str) -> None:
    with pytest.raises(PayloadError) as raised:
        check_build_versions("x", labels)
    assert error in str(raised.value)


def test_component_version_labels_of_known_keys_pass() -> None:
    check_build_versions("x", {VERSIONS: "kubernetes=1.28.3,kubectl=1.28.3,machine-os=39.20240101.3-0"})
    check_build_versions("x", {})


# -- the rewrites give what the whole alternation of their sources gives, as one regular expression ----------
_SOURCES = ["quay.io/ph/a", "quay.io/ph/a:latest", "quay.io/ph/ab", "q/b:1", "q/b", "x", "-x", "b:1"]
_PIECES = [*_SOURCES, " ", "\t", "\n", '"', "'", ":", ":v2", ":latest", "@sha256:00ff", "@x:f", "/", "-", "_", ".",
           "a", "0.0.1", "é", "\v"]


def _whole_alternation(mappings: dict[str, str], around: tuple[bytes, bytes, bytes], group: int):
    """The rewrite as one pattern of every source, longest first (how it was matched before)."""
    ordered = sorted((s.encode() for s in mappings), key=lambda s: (-len(s), s))
    pattern = re.compile(around[0] + b"(" + b"|".join(re.escape(s) for s in ordered) + b")" + around[1])
    targets = {s.encode(): t.encode() for s, t in mappings.items()}
    if group == 4:
        return lambda data: pattern.sub(lambda m: m.group(1) + targets[m.group(2)] + m.group(4), data)
    return lambda data: pattern.sub(lambda m: targets[m.group(1)], data)


@given(st.lists(st.sampled_from(_PIECES), max_size=24), st.sets(st.sampled_from(_SOURCES), min_size=1))
@example(["-x", " ", "x"], {"-x", "x"})  # at the start: the non-word character is tried before ^
@settings(max_examples=300, deadline=None)
def test_rewrites_give_the_whole_alternations_result(pieces: list[str], chosen: set[str]) -> None:
    text = "".join(pieces).encode()
    mappings = {source: f"r.example/c@sha256:{n:02x}" for n, source in enumerate(sorted(chosen))}
    images = {f"t{n}": ImageReference(source, target) for n, (source, target) in enumerate(mappings.items())}
    image_whole = _whole_alternation(mappings, (rewrite._BEFORE, rewrite._LOCATOR + rewrite._AFTER), 4)(text)
    assert image_mapper(images)(text) == image_whole
    with mock.patch.object(rewrite, "SCAN_LIMIT", 1):  # the compiled alternation, for a text with many occurrences
        assert image_mapper(images)(text) == image_whole
    assert exact_mapper(mappings)(text) == _whole_alternation(mappings, (rb"\b", rb"\b"), 1)(text)


def test_a_source_repeated_all_over_a_large_manifest_is_rewritten_in_bounded_time_and_memory() -> None:
    """Half a million occurrences (an untrusted operator's source `a` in 1 MB of `a a a ...`): past SCAN_LIMIT
    the text goes to the compiled alternation rather than being tried occurrence by occurrence."""
    text = b"a " * (1 << 19)
    rewritten = image_mapper({"t": ImageReference("a", "r.example/c@sha256:00")})(text)
    assert rewritten == b"r.example/c@sha256:00 a " * (1 << 18)  # a match consumes the space after it
