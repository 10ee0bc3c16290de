"""Every document we read (manifests, configs, image-references, release-metadata, the disk mirror's index, an
ImageStream file) is decoded through one typed layer: a malformed one is one error of the owner's class,
naming the document and the field, never a Python exception from deep inside."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import RawManifest
from okd_release.documents import decode_json, load_yaml, load_yaml_all
from okd_release.errors import ConfigError, ManifestError, PayloadError, UnsafeName
from okd_release.image import manifest as manifests
from okd_release.image.config import ImageConfig
from okd_release.release.mirror.plan import read_mirror_index
from okd_release.release.payload.model import ImageStream, ImageTag, Payload, ReleaseMetadata

DIGEST = "sha256:" + "a" * 64
PULLSPEC = f"quay.io/okd/content@{DIGEST}"


def _manifest(config: str, media_type: str = mediatypes.DOCKER_MANIFEST) -> RawManifest:
    data = f'{{"schemaVersion": 2, "mediaType": "{media_type}", "config": {config}, "layers": []}}'.encode()
    return RawManifest(data, media_type, digests.of(data))


def _stream(**parts: object) -> bytes:
    return json.dumps({"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", **parts}).encode()


def _metadata(**parts: object) -> bytes:
    return json.dumps({"kind": "cincinnati-metadata-v0", "version": "4.15.0", **parts}).encode()


def _tag(**parts: object) -> dict[str, object]:
    return {"name": "prometheus", "from": {"kind": "DockerImage", "name": PULLSPEC}, **parts}


# --- descriptors and manifests ---

@pytest.mark.parametrize(("size", "problem"), [
    ("1e999", "number out of range"), ("-1", "expected `int` >= 0"), (str(2**63), "expected `int` <= 9223372036854775807"),
    ("1.5", "expected `int`, got `float`"), ('"10"', "expected `int`, got `str`"),
])
def test_descriptor_size_that_is_no_int64_is_a_manifest_error_naming_the_field(size: str, problem: str) -> None:
    raw = _manifest(f'{{"mediaType": "x", "digest": "{DIGEST}", "size": {size}}}')
    with pytest.raises(ManifestError) as raised:
        manifests.parse(raw, "manifest of quay.io/okd/release:4.15")
    assert str(raised.value) == f"manifest of quay.io/okd/release:4.15 is invalid at $.config.size: {problem}"


@pytest.mark.parametrize("digest", ["sha256:" + "A" * 64, "sha256:" + "a" * 63, DIGEST + "\n", "md5:abc", "../../etc"])
def test_descriptor_digest_must_be_sha256_hex_and_nothing_else(digest: str) -> None:
    raw = _manifest(json.dumps({"mediaType": "x", "digest": digest, "size": 1}))
    with pytest.raises(ManifestError, match=r"is invalid at \$\.config\.digest: expected `str` matching regex"):
        manifests.parse(raw)


def test_index_entry_with_a_platform_of_the_wrong_shape_names_the_entry() -> None:
    entry = {"mediaType": mediatypes.DOCKER_MANIFEST, "digest": DIGEST, "size": 1}
    data = json.dumps({"schemaVersion": 2, "manifests": [
        {**entry, "platform": {"os": "linux", "architecture": "amd64"}}, {**entry, "platform": "linux/arm64"},
    ]}).encode()
    with pytest.raises(ManifestError, match=r"index is invalid at \$\.manifests\[1\]\.platform: expected `object \| null`"):
        manifests.parse(RawManifest(data, mediatypes.OCI_INDEX, digests.of(data)), "index")


def test_manifest_keeps_its_exact_bytes_and_reads_platforms_and_annotations() -> None:
    data = (b'{"manifests":[{"digest":"%s","size":7,"mediaType":"m","platform":{"os":"linux","architecture":"arm64",'
            b'"variant":"v8","os.features":["x"]},"annotations":{"a":"b"}}],  "schemaVersion":2}' % DIGEST.encode())
    index = manifests.parse(RawManifest(data, mediatypes.OCI_INDEX, digests.of(data)))
    assert isinstance(index, manifests.ImageIndex)
    assert index.raw.data == data and index.digest == digests.of(data)
    entry = index.manifests[0]
    assert (entry.media_type, entry.digest, entry.size, str(entry.platform), entry.annotations) == \
        ("m", DIGEST, 7, "linux/arm64/v8", {"a": "b"})


def test_image_manifest_without_schema_version_2_is_refused() -> None:
    data = json.dumps({"schemaVersion": 1, "config": {"digest": DIGEST, "size": 1}, "layers": []}).encode()
    with pytest.raises(ManifestError, match=r"^manifest is invalid at \$\.schemaVersion: invalid enum value 1$"):
        manifests.parse(RawManifest(data, mediatypes.DOCKER_MANIFEST, digests.of(data)))


# --- image configs ---

@pytest.mark.parametrize(("document", "path"), [
    ({"config": "x"}, "$.config"),
    ({"config": {"Labels": [1]}}, "$.config.Labels"),
    ({"config": {"Labels": {"a": 1}}}, "$.config.Labels[...]"),
    ({"rootfs": "layers"}, "$.rootfs"),
    ({"rootfs": {"diff_ids": ["not-a-digest"]}}, "$.rootfs.diff_ids[0]"),
    ({"history": 5}, "$.history"),
    ({"history": ["x"]}, "$.history[0]"),
    ({"architecture": 5}, "$.architecture"),
])
def test_config_with_a_field_of_the_wrong_type_is_a_manifest_error_naming_it(document: dict[str, object], path: str) -> None:
    with pytest.raises(ManifestError) as raised:
        ImageConfig.parse(json.dumps(document).encode(), "config of quay.io/okd/x")
    assert str(raised.value).startswith(f"config of quay.io/okd/x is invalid at {path}: expected ")


def test_config_with_null_labels_and_no_rootfs_reads_as_empty_and_keeps_its_bytes() -> None:
    data = b'{"architecture":"arm64","os":"linux","config":{"Labels":null,"Env":["A=1"]},"rootfs":null, "x": 1e999}'
    with pytest.raises(ManifestError, match="number out of range"):  # even a field we do not read must be JSON we can keep
        ImageConfig.parse(data)
    data = data.replace(b"1e999", b"1")
    config = ImageConfig.parse(data)
    assert (config.labels, config.diff_ids, str(config.platform), config.created) == ({}, [], "linux/arm64", "")
    assert config.data == data and config.digest == digests.of(data) and config.document["config"]["Env"] == ["A=1"]


# --- image-references ---

@pytest.mark.parametrize(("document", "path", "problem"), [
    (_stream(spec=[1]), "$.spec", "expected `object | null`, got `array`"),
    (_stream(spec={"tags": {"a": 1}}), "$.spec.tags", "expected `array | null`, got `object`"),
    (_stream(metadata=[1]), "$.metadata", "expected `object | null`, got `array`"),
    (_stream(metadata={"name": "4.15.0", "annotations": "ab"}), "$.metadata.annotations", "expected `object | null`, got `str`"),
    (_stream(spec={"tags": [_tag(annotations=[1])]}), "$.spec.tags[0].annotations", "expected `object | null`, got `array`"),
    (_stream(spec={"tags": [_tag(), _tag(name=7)]}), "$.spec.tags[1].name", "expected `str`, got `int`"),
    (_stream(spec={"tags": [_tag(**{"from": "x"})]}), "$.spec.tags[0].from", "expected `object | null`, got `str`"),
])
def test_malformed_image_references_is_a_payload_error_naming_the_field(document: bytes, path: str, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        ImageStream.parse(document, "image-references of quay.io/okd/release:4.15")
    assert str(raised.value) == f"image-references of quay.io/okd/release:4.15 is invalid at {path}: {problem}"


@pytest.mark.parametrize(("document", "path", "what"), [
    (_stream(spec={"tags": [_tag(name="../../etc")]}), "$.spec.tags[0].name", "component name"),
    (_stream(spec={"tags": [_tag(), _tag(name="a/b")]}), "$.spec.tags[1].name", "component name"),
    (_stream(spec={"tags": [_tag(name="x" * 129)]}), "$.spec.tags[0].name", "component name"),
    (_stream(spec={"tags": [_tag(name="prometheus\n")]}), "$.spec.tags[0].name", "component name"),
    (_stream(metadata={"name": "4.15.0/../x"}), "$.metadata.name", "release name"),
])
def test_names_a_payload_carries_must_be_valid_as_parts_of_a_tag(document: bytes, path: str, what: str) -> None:
    with pytest.raises(UnsafeName, match=rf"^image-references is invalid at {re.escape(path)}: invalid {what} "):
        ImageStream.parse(document)


def test_image_references_round_trip_to_the_same_bytes() -> None:
    stream = ImageStream("4.15.0", (ImageTag("prometheus", PULLSPEC, {"io.openshift.build.commit.id": "abc"}),),
                         {"release.openshift.io/from-image-stream": "x"})
    assert ImageStream.parse(stream.encode()).encode() == stream.encode()
    assert ImageStream.parse(stream.encode()) == stream


def test_image_stream_yaml_keeps_timestamps_as_text_and_refuses_alias_bombs() -> None:
    stream = ImageStream.parse(b"kind: ImageStream\nmetadata:\n  name: '4.15.0'\n  annotations: {built: 2024-01-01}\n")
    assert stream.annotations == {"built": "2024-01-01"}
    levels = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    levels += [f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    bomb = "kind: ImageStream\n" + "\n".join(levels) + "\nmetadata: {annotations: {x: *a8}}\n"
    started = time.monotonic()
    with pytest.raises(PayloadError, match=r"^image stream file s.yaml is not valid YAML \(aliases are not allowed"):
        ImageStream.parse(bomb, "image stream file s.yaml")
    assert time.monotonic() - started < 1


def test_yaml_refuses_python_objects_and_reports_the_line() -> None:
    with pytest.raises(ConfigError, match=r"^f is not valid YAML \(could not determine a constructor .* at line 2, column 4\)$"):
        load_yaml("a: 1\nb: !!python/object/apply:os.system [true]\n", "f", ConfigError)


def test_yaml_streams_read_every_document_and_refuse_aliases_in_any() -> None:
    assert load_yaml_all(b"kind: A\n---\nkind: B\n---\n", "m", PayloadError) == [{"kind": "A"}, {"kind": "B"}, None]
    expected = r"^m is not valid YAML \(aliases are not allowed \(found \*x\) at line 4, column 4\)$"
    with pytest.raises(PayloadError, match=expected):
        load_yaml_all(b"kind: A\n---\na: &x 1\nb: *x\n", "m", PayloadError)


# --- release-metadata ---

@pytest.mark.parametrize(("document", "path", "problem"), [
    (_metadata(previous=5), "$.previous", "expected `array | null`, got `int`"),
    (_metadata(previous=["4.14.0", 5]), "$.previous[1]", "expected `str`, got `int`"),
    (_metadata(metadata="abc"), "$.metadata", "expected `object | null`, got `str`"),
    (_metadata(metadata=[1, 2]), "$.metadata", "expected `object | null`, got `array`"),
    (_metadata(version=4.15), "$.version", "expected `str`, got `float`"),
])
def test_malformed_release_metadata_is_a_payload_error_naming_the_field(document: bytes, path: str, problem: str) -> None:
    with pytest.raises(PayloadError) as raised:
        ReleaseMetadata.parse(document, "release-metadata of r")
    assert str(raised.value) == f"release-metadata of r is invalid at {path}: {problem}"


def test_release_version_must_be_valid_as_part_of_a_tag() -> None:
    expected = r"^release-metadata is invalid at \$\.version: invalid release version '4\.15\.0/\.\./x'"
    with pytest.raises(UnsafeName, match=expected):
        ReleaseMetadata.parse(_metadata(version="4.15.0/../x"))


def test_release_metadata_round_trips_to_the_same_bytes() -> None:
    metadata = ReleaseMetadata("4.15.0", ("4.14.0",), (), {"url": "https://example.com", "n": [1, 2.5, None]})
    assert ReleaseMetadata.parse(metadata.encode()).encode() == metadata.encode()


# --- the payload's file names ---

@pytest.mark.parametrize("name", ["..", ".", "0000_a\nb.yaml", "0000_\u202ecod.yaml", "a\\b"])
def test_payload_manifest_file_names_must_be_safe_path_components(name: str) -> None:
    with pytest.raises(UnsafeName, match=r"^release-manifests of r: invalid manifest file name"):
        Payload.from_files({"image-references": _stream(), name: b"kind: X\n"}, "r")


# --- the disk mirror's index ---

@pytest.mark.parametrize(("index", "message"), [
    ("[1]", "is invalid: expected `object`, got `array`"),
    ("{}", "is invalid: object missing required field `release`"),
    ('{"release": 5}', "is invalid at $.release: expected `str`, got `int`"),
    ('{"release": "file://openshift/release:4.15", "source": []}', "is invalid at $.source: expected `str`, got `array`"),
    ('{"release": "quay.io/evil/release:1"}', "is invalid at $.release: 'quay.io/evil/release:1' is not a file:// reference"),
    ("{", "is not valid JSON (input data was truncated)"),
])
def test_disk_mirror_index_that_is_malformed_is_a_config_error(tmp_path: Path, index: str,
                                                                message: str) -> None:
    (tmp_path / "okd-release-mirror.json").write_text(index)
    with pytest.raises(ConfigError) as raised:
        read_mirror_index(tmp_path)
    assert str(raised.value) == f"{tmp_path / 'okd-release-mirror.json'} {message}"


# --- the layer itself ---

def test_json_that_is_not_utf8_or_nested_too_deeply_is_one_error() -> None:
    with pytest.raises(PayloadError, match=r"^d is not valid JSON \(not UTF-8\)$"):
        decode_json(b'{"a": "\xff"}', dict, "d", PayloadError)
    with pytest.raises(PayloadError, match=r"^d is not valid JSON \(nested too deeply\)$"):
        decode_json(b"[" * 100_000 + b"]" * 100_000, list, "d", PayloadError)
