"""Gathering operator manifests as oc does, from operator images in a real registry.

The expected names, order and bytes are what /tmp/oc (`oc adm release new`) wrote for the same images."""

from __future__ import annotations

import json
import random
import tarfile
from pathlib import Path

import pytest

from okd_release.errors import PayloadError
from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.registry import Registries
from okd_release.release.new.documents import first_document, is_text, text_fields
from okd_release.release.new.operators import ManifestNames, check_manifest, gather_manifests
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.model import ImageTag
from okd_release.stores import RegistryStore
from tests.conftest import run_cli

RELEASE = "4.15.0-0.okd-sample"
A = "r.example/okd/content@sha256:" + "a" * 64
B = "r.example/okd/content@sha256:" + "b" * 64
CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"


def _references(*tags: tuple[str, str]) -> bytes:
    return json.dumps({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "spec": {"tags": [
        {"name": name, "from": {"kind": "DockerImage", "name": source}} for name, source in tags]}}).encode()


FORMS = b"""apiVersion: v1
kind: ConfigMap
metadata:
  name: forms
data:
  bare: quay.io/ph/a
  tagged: quay.io/ph/a:v2
  digest: quay.io/ph/a@sha256:abcdef0123
  exact: quay.io/ph/a:latest
  quoted: "quay.io/ph/a:latest"
  twice: quay.io/ph/a:latest quay.io/ph/a:latest quay.io/ph/a:latest
  url: https://quay.io/ph/a:latest/x
  suffix: quay.io/ph/a:latestx
  other: quay.io/ph/b:latest
  b-digest: quay.io/ph/b@sha256:00ff
  dash-version: x-0.0.1-snapshot
  dot-version: 0.0.1-snapshot.1
  glued: 0.0.1-snapshotabc
  word: abc0.0.1-snapshot
  k8s: 0.0.1-snapshot-kubernetes
"""
FORMS_REWRITTEN = f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: forms
data:
  bare: quay.io/ph/a
  tagged: quay.io/ph/a:v2
  digest: quay.io/ph/a@sha256:abcdef0123
  exact: {A}
  quoted: "{A}"
  twice: {A} quay.io/ph/a:latest {A}
  url: https://quay.io/ph/a:latest/x
  suffix: quay.io/ph/a:latestx
  other: {B}
  b-digest: {B}
  dash-version: x-{RELEASE}
  dot-version: {RELEASE}.1
  glued: 0.0.1-snapshotabc
  word: abc0.0.1-snapshot
  k8s: 1.28.3
""".encode()
MULTI = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n---\n- not\n- an object\n---\nkind: [unclosed\n"

OPERATORS = {
    "zz-operator": {
        "manifests/0000_10_early.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: early\n",
        "manifests/0000_30_same.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz\n",
        "manifests/0000_30_same_2.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: zz2\n",
    },
    "aa-operator": {
        "manifests/0000_90_late.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n",
        "manifests/0000_30_same.yaml": b"apiVersion: v1\nkind: ConfigMap\n",
        "manifests/multi.yaml": MULTI,
        "manifests/notes.txt": b"kind: [this is not yaml\n",
        "manifests/README.md": b"# readme\n",
        "manifests/Upper.YAML": b"- not checked: the suffix is upper case\n",
        "manifests/forms.yaml": FORMS,
        "manifests/sub/nested.yaml": CM,
        "manifests/image-references": _references(("aa-operator", "quay.io/ph/a:latest"), ("hyperkube", "quay.io/ph/b")),
        "usr/bin/operator": b"not in /manifests\n",
    },
}
RELEASE_TAGS = [ImageTag("aa-operator", A), ImageTag("zz-operator", A.replace("a" * 64, "c" * 64)),
                ImageTag("hyperkube", B, {"io.openshift.build.versions": "kubernetes=1.28.3,kubectl=1.28.3"})]
# the order of oc's payload layer for these two operators
OC_ORDER = [
    "0000_30_same.yaml", "0000_90_late.yaml", "0000_50_aa-operator_README.md", "0000_50_aa-operator_Upper.YAML",
    "0000_50_aa-operator_forms.yaml", "0000_50_aa-operator_multi.yaml", "0000_50_aa-operator_notes.txt",
    "0000_10_early.yaml", "0000_30_same_2.yaml", "0000_30_same_2_2.yaml",
]


def _push_operator(registries: Registries, host: str, tag: str, files: dict[str, bytes], directory: Path,
                   extra: list[LayerEntry] | None = None, labels: dict[str, str] | None = None) -> str:
    entries = [LayerEntry.directory("manifests/"), LayerEntry.directory("manifests/sub/")]
    entries += [LayerEntry.file(path, data) for path, data in sorted(files.items())] + (extra or [])
    layer = build_layer(entries, directory)
    config = image_config([layer], {"io.openshift.release.operator": "true", **(labels or {})}, "2024-01-01T00:00:00Z")
    pushed = push_image(RegistryStore(registries.client(host)), "okd/operators", tag, [layer], config)
    return f"{host}/okd/operators@{pushed.digest}"


@pytest.fixture(scope="module")
def operators(source_registry, plain_registries_module, tmp_path_factory) -> list[ComponentImage]:
    directory = tmp_path_factory.mktemp("operators")
    link = [LayerEntry("manifests/link.yaml", kind=tarfile.SYMTYPE, linkname="0000_30_same.yaml")]
    return [resolve(plain_registries_module, name, _push_operator(plain_registries_module, source_registry.host, name,
                                                                  files, directory, link))
            for name, files in OPERATORS.items()]


def test_manifests_come_operator_by_operator_in_tag_order_then_file_name_order(operators) -> None:
    gathered = gather_manifests(operators, RELEASE_TAGS, RELEASE)
    assert list(gathered.manifests) == OC_ORDER


def test_every_regular_file_is_copied_but_not_links_subdirectories_or_image_references(operators) -> None:
    manifests = gather_manifests(operators, RELEASE_TAGS, RELEASE).manifests
    assert manifests["0000_50_aa-operator_README.md"] == b"# readme\n"
    assert manifests["0000_50_aa-operator_notes.txt"] == b"kind: [this is not yaml\n"
    assert not any("link" in name or "nested" in name or "image-references" in name for name in manifests)


def test_a_name_met_again_gets_oc_counter_suffix(operators) -> None:
    manifests = gather_manifests(operators, RELEASE_TAGS, RELEASE).manifests
    assert manifests["0000_30_same.yaml"] == OPERATORS["aa-operator"]["manifests/0000_30_same.yaml"]
    assert manifests["0000_30_same_2.yaml"] == OPERATORS["zz-operator"]["manifests/0000_30_same.yaml"]
    assert manifests["0000_30_same_2_2.yaml"] == OPERATORS["zz-operator"]["manifests/0000_30_same_2.yaml"]


def test_a_multi_document_manifest_is_copied_whole_and_only_its_first_document_checked(operators) -> None:
    assert gather_manifests(operators, RELEASE_TAGS, RELEASE).manifests["0000_50_aa-operator_multi.yaml"] == MULTI


def test_placeholders_and_versions_are_rewritten_exactly_as_oc(operators) -> None:
    manifests = gather_manifests(operators, RELEASE_TAGS, RELEASE).manifests
    assert manifests["0000_50_aa-operator_forms.yaml"] == FORMS_REWRITTEN


def test_tags_named_in_any_image_references_are_reported_as_referenced(operators) -> None:
    assert gather_manifests(operators, RELEASE_TAGS, RELEASE).referenced == {"aa-operator", "hyperkube"}


def test_oc_renaming_counts_on_where_oc_would_write_one_name_twice() -> None:
    names = ManifestNames()
    claimed = [names.claim("op", name) for name in ("a.yaml", "a_2.yaml", "a.yaml", "README", "README")]
    assert claimed == ["0000_50_op_a.yaml", "0000_50_op_a_2.yaml", "0000_50_op_a_3.yaml",
                       "0000_50_op_README", "0000_50_op_README_2"]


@pytest.mark.parametrize("name", ["bad\nname.yaml", "caf\u00e9.yaml", "x" * 250 + ".yaml"])
def test_a_manifest_name_that_cannot_be_a_file_name_is_refused(name: str) -> None:
    with pytest.raises(PayloadError, match="manifest name"):
        ManifestNames().claim("op", name)


@pytest.mark.parametrize(("data", "error"), [
    (b"- a\n- b\n", "is not a YAML/JSON object"),
    (b"", "is not a YAML/JSON object"),
    (b"# only a comment\n", "is not a YAML/JSON object"),
    (b"apiVersion: v1\nmetadata:\n  name: x\n", "'kind' and 'apiVersion'"),
    (b"kind: ConfigMap\n", "'kind' and 'apiVersion'"),
    (b"apiVersion: v1\nkind: 5\n", "'kind' and 'apiVersion'"),
    (b"apiVersion: v1\nkind: ''\n", "'kind' and 'apiVersion'"),
    (b'{"kind": "A", "apiVersion": }', "'kind' and 'apiVersion'"),  # YAML reads it: apiVersion is null
    (b"kind: [unclosed\n  : :\n", "is not valid YAML/JSON"),
    (b"apiVersion: v1\nkind: A\nreplicas: !!int many\n", "is not valid YAML/JSON (a value does not match its tag"),
    (b"apiVersion: v1\nkind: A\nready: !!bool maybe\n", "is not valid YAML/JSON (a value does not match its tag"),
    (b"apiVersion: v1\nkind: A\n? [a, b]\n: list as a key\n", "is not valid YAML/JSON (found unhashable key"),
    (b"apiVersion: v1\nkind: A\nx: *nowhere\n", "is not valid YAML/JSON (found undefined alias"),
])
def test_manifest_check_refuses_what_oc_refuses(data: bytes, error: str) -> None:
    with pytest.raises(PayloadError) as raised:
        check_manifest("op", "a.yaml", data)
    assert error in str(raised.value)
    assert "operator op: manifests/a.yaml" in str(raised.value)


@pytest.mark.parametrize(("filename", "data"), [
    ("a.yaml", b"apiVersion: v1\nkind: ConfigMap\n"),  # no metadata.name: oc does not ask for one
    ("a.yaml", b"apiVersion: v1\nkind: 2024-01-01\n"),  # oc's YAML keeps a timestamp-like scalar a string
    ("a.yaml", b"apiVersion: v1\nkind: A\nnot-a-date: 2024-13-45\n"),  # ... and one that is no time at all
    ("a.yaml", b"base: &b {kind: A, apiVersion: v1}\n<<: *b\n"),  # a merge key brings both
    ("a.yaml", b"apiVersion: v1\nkind: =\n"),  # YAML 1.1's `value`: yaml.v2 reads a string
    ("a.yml", MULTI), ("a.json", b'{"apiVersion": "v1", "kind": "List"}'),
    ("a.YAML", b"- not checked\n"), ("notes.txt", b"kind: [\n"), ("README", b""),
])
def test_manifest_check_passes_what_oc_passes(filename: str, data: bytes) -> None:
    check_manifest("op", filename, data)


# Documents at the edges of what the check decides from the parser's events alone, and of what only building
# the document decides; with the mutations of a manifest below, both ways must reach the same verdict.
EDGE_DOCUMENTS = [
    b"", b"\n", b"---\n", b"--- |\n  text\n", b"null\n", b"5\n", b"[]\n", b"{}\n", b"- a\n",
    b"kind: A\napiVersion: v1\n", b'{"kind": "A", "apiVersion": "v1"}', b"kind: 'A'\napiVersion: \"v1\"\n",
    b"kind: |\n  A\napiVersion: >\n  v1\n", b"kind: ''\napiVersion: v1\n", b"kind:\napiVersion: v1\n",
    b"kind: ~\napiVersion: v1\n", b"kind: true\napiVersion: v1\n", b"kind: 0x1F\napiVersion: v1\n",
    b"kind: 1.5e3\napiVersion: v1\n", b"kind: [A]\napiVersion: v1\n", b"kind: {a: b}\napiVersion: v1\n",
    b"kind: A\napiVersion: v1\nkind: ''\n", b"kind: ''\napiVersion: v1\nkind: A\n",
    b"kind: 2001-12-14t21:59:43.10-05:00\napiVersion: v1\n", b"kind: 2024-99-99\napiVersion: v1\n",
    b"kind: !!str 5\napiVersion: v1\n", b"kind: ! x\napiVersion: v1\n", b"kind: !custom x\napiVersion: v1\n",
    b"kind: &a A\napiVersion: *a\n", b"kind: A\napiVersion: v1\nspec: &s {x: 1}\nother: *s\n",
    b"x: {kind: A, apiVersion: v1}\n", b"kind: A\napiVersion: v1\nnested: {kind: '', list: [1, {a: [b]}]}\n",
    b"? kind\n: A\n? apiVersion\n: v1\n", b"? {a: 1}\n: b\nkind: A\napiVersion: v1\n",
    b"kind: A\napiVersion: v1\nlist:\n- ? [x]\n  : y\n", b"kind: A\napiVersion: v1\n<<: {z: 1}\n",
    b"kind: A\napiVersion: v1\nv: =\n",
    b"kind: =\napiVersion: v1\n", b"= : x\nkind: A\napiVersion: v1\n", b"kind: A\napiVersion: v1\n---\n- [unclosed\n",
    b"kind: A\napiVersion: v1\n...\n--- {\n", b"kind: A\n\tapiVersion: v1\n", b"kind: A\napiVersion: v1\nx: \x7f\n",
    b"\xef\xbb\xbfkind: A\napiVersion: v1\n", b"kind: A\napiVersion: v1\nx: \xff\n", b"%YAML 1.1\n---\nkind: A\napiVersion: v1\n",
    b"%TAG !e! tag:example.com,2000:\n---\nkind: !e!x A\napiVersion: v1\n", b"[" * 1100 + b"]" * 1100,
    b"kind: A\napiVersion: v1\nx: " + b"[" * 1100 + b"]" * 1100 + b"\n",
]
MUTATED = b"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: "op"
  annotations: {a: 'b', c: 2024-01-01}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: op
        image: quay.io/x/op:latest
        args: [--v=2, "--x"]
        env:
        - {name: A, value: "1"}
"""


def _verdict_building(data: bytes) -> tuple[str, object]:
    try:
        document = first_document(data)
    except PayloadError as error:
        return "error", str(error)
    if not isinstance(document, dict):
        return "not an object", None
    return "fields", {name: is_text(document.get(name)) for name in ("kind", "apiVersion")}


def _mutations(count: int) -> list[bytes]:
    rng = random.Random("manifest-check-mutations")
    pieces = [b":", b"-", b" ", b"\n", b"'", b'"', b"{", b"}", b"[", b"]", b"&a ", b"*a", b"!!str ", b"? ", b"#", b"<<",
              b"=", b"\t", b"kind: ", b"apiVersion: v1\n", b"2024-13-01", b"|", b">", b"---\n", b"~", b"true"]
    out = []
    for _ in range(count):
        data = bytearray(MUTATED)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(data) + 1)
            if rng.random() < 0.3:
                del data[at:at + rng.randint(1, 4)]
            else:
                data[at:at] = rng.choice(pieces)
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", EDGE_DOCUMENTS + _mutations(400))
def test_the_check_from_events_reaches_the_verdict_of_building_the_document(data: bytes) -> None:
    expected = _verdict_building(data)
    try:
        fields = text_fields(data, ("kind", "apiVersion"))
    except PayloadError as error:
        assert expected == ("error", str(error))
        return
    if fields is not None:
        assert expected == ("fields", fields)


def test_the_check_decides_a_plain_manifest_from_its_events() -> None:
    assert text_fields(MUTATED, ("kind", "apiVersion")) == {"kind": True, "apiVersion": True}
    assert text_fields(b"kind: ''\napiVersion: v1\n", ("kind", "apiVersion")) == {"kind": False, "apiVersion": True}
    assert text_fields(b"- a\n", ("kind",)) is None  # not an object: building it names what it is


def _gather_one(registries: Registries, host: str, tmp_path: Path, files: dict[str, bytes],
                tags: list[ImageTag], **options: bool) -> dict[str, bytes]:
    operator = resolve(registries, "op", _push_operator(registries, host, "op", files, tmp_path))
    return gather_manifests([operator], tags, RELEASE, **options).manifests


def test_an_operator_without_image_references_may_use_only_the_release_version(
        source_registry, plain_registries, tmp_path) -> None:
    files = {"manifests/a.yaml": CM + b"data:\n  r: 0.0.1-snapshot\n  k: 0.0.1-snapshot-kubernetes\n"}
    with pytest.raises(PayloadError, match='operator op: manifests/a.yaml: unknown version reference "kubernetes"'):
        _gather_one(plain_registries, source_registry.host, tmp_path, files, RELEASE_TAGS)


def test_a_version_two_referenced_images_declare_is_ambiguous_even_when_equal(
        source_registry, plain_registries, tmp_path) -> None:
    files = {"manifests/a.yaml": CM + b"data:\n  k: 0.0.1-snapshot-kubernetes\n",
             "manifests/image-references": _references(("hyperkube", "q/h:1"), ("kubelet", "q/k:1"))}
    tags = [*RELEASE_TAGS, ImageTag("kubelet", A, {"io.openshift.build.versions": "kubernetes=1.28.3"})]
    with pytest.raises(PayloadError, match='the version for "kubernetes" is inconsistent across the referenced '
                                           "images: hyperkube, kubelet"):
        _gather_one(plain_registries, source_registry.host, tmp_path, files, tags)


def test_a_placeholder_source_named_twice_is_an_error(source_registry, plain_registries, tmp_path) -> None:
    files = {"manifests/a.yaml": CM, "manifests/image-references": _references(("aa-operator", "q/x:1"), ("hyperkube", "q/x:1"))}
    with pytest.raises(PayloadError, match='operator op contained an invalid image-references file: the source '
                                           'repository "q/x:1" was defined more than once'):
        _gather_one(plain_registries, source_registry.host, tmp_path, files, RELEASE_TAGS)


def test_skipping_the_check_copies_what_the_check_refuses(source_registry, plain_registries, tmp_path) -> None:
    files = {"manifests/a.yaml": b"- a list\n"}
    with pytest.raises(PayloadError, match="is not a YAML/JSON object"):
        _gather_one(plain_registries, source_registry.host, tmp_path, files, RELEASE_TAGS)
    assert _gather_one(plain_registries, source_registry.host, tmp_path, files, RELEASE_TAGS,
                       check=False) == {"0000_50_op_a.yaml": b"- a list\n"}


def test_new_skip_manifest_check_flag(sample_release, plain_registries, tmp_path) -> None:
    pullspec = _push_operator(plain_registries, sample_release.host, "list-operator", {"manifests/a.yaml": b"- a\n"},
                              tmp_path)
    stream = json.loads(sample_release.stream_file.read_text())
    stream["spec"]["tags"].append({"name": "list-operator", "from": {"kind": "DockerImage", "name": pullspec}})
    path = tmp_path / "stream.json"
    path.write_text(json.dumps(stream))
    source = ("new", "--insecure", "--reference-mode", "source", "-f", str(path))  # the operator is in another repository
    refused = run_cli(*source, "--to-dir", str(tmp_path / "refused"))
    assert refused.returncode != 0
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: operator list-operator: manifests/a.yaml is not a YAML/JSON object (its first document is list)")
    built = run_cli(*source, "--skip-manifest-check", "--to-dir", str(tmp_path / "out"))
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out" / "0000_50_list-operator_a.yaml").read_bytes() == b"- a\n"


def test_what_the_checks_find_is_reported_where_oc_meets_it(source_registry, plain_registries, tmp_path) -> None:
    """The files are checked as they are read, on the reading threads; the first error is still oc's: every
    operator's image-references before any manifest, and one operator's files in name order."""
    bad_list = b"- a list\n"
    unknown_version = CM + b"data:\n  k: 0.0.1-snapshot-nothing\n"
    host = source_registry.host

    def operator(name: str, files: dict[str, bytes]) -> ComponentImage:
        return resolve(plain_registries, name, _push_operator(plain_registries, host, name, files, tmp_path / name))

    for name in ("aa", "zz", "op"):
        (tmp_path / name).mkdir()
    refused_manifest = operator("aa", {"manifests/a.yaml": bad_list})
    refused_references = operator("zz", {"manifests/a.yaml": CM, "manifests/image-references": b"kind: List\n"})
    with pytest.raises(PayloadError, match="^operator zz: manifests/image-references is invalid"):
        gather_manifests([refused_manifest, refused_references], RELEASE_TAGS, RELEASE)
    with pytest.raises(PayloadError, match="^operator aa: manifests/a.yaml is not a YAML/JSON object"):
        gather_manifests([refused_manifest], RELEASE_TAGS, RELEASE)
    # in one operator: a.yaml's rewrite fails before b.yaml is checked
    both = operator("op", {"manifests/a.yaml": unknown_version, "manifests/b.yaml": bad_list})
    with pytest.raises(PayloadError, match='^operator op: manifests/a.yaml: unknown version reference "nothing"'):
        gather_manifests([both], RELEASE_TAGS, RELEASE)
