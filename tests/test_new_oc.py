"""`new` builds what `oc adm release new` builds: compared with oc's release recorded under tests/golden/
(the golden inputs at 127.0.0.77:5000; see tests/golden/README.md), and with what real oc did to ours."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from okd_release.content import Descriptor, RawManifest
from okd_release.image import gotar
from okd_release.image.layer import LayerEntry, build_go_layer
from okd_release.mediatypes import DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST
from okd_release.registry import Registries, RegistryOptions
from okd_release.release.new.plan import NewOptions, build_time
from okd_release.release.payload.model import ImageStream, Payload, ReleaseMetadata
from okd_release.stores import RegistryStore
from okd_release.testing import golden
from okd_release.testing.sample import write_image_stream
from tests.conftest import run_cli

GOLDEN = Path(__file__).resolve().parent / "golden"
OC_RELEASE = GOLDEN / "releases" / "golden"
OC_REBUILD = GOLDEN / "oc-rebuilds-okd"
OC_CREATED = json.loads((OC_RELEASE / "config.json").read_bytes())["created"]  # oc's build time
OC_EPOCH = "1795654580"  # OC_CREATED in seconds
OC_LAYER = gzip.decompress((OC_RELEASE / "payload-layer.tar.gz").read_bytes())


def _files(layer: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(layer)) as archive:
        return {m.name: archive.extractfile(m).read() for m in archive if m.isreg()}  # type: ignore[union-attr]


# -- the payload's encoding, without a registry --------------------------------------------------------
def test_oc_epoch_constant_is_ocs_build_time() -> None:
    assert OC_CREATED == "2026-11-26T00:56:20Z"
    assert build_time(NewOptions(created=int(OC_EPOCH))) == 1795654580


# Go's archive/tar output for these headers, recorded with go1.27 (the program in tests/golden/README.md writes them)
GO_TAR = [
    ("release-manifests", "", b"5", 0o777, 0, "",
     "6def0d39707dd05610f2900ce7bfc44c4f1ae1720fca3a2bee0076efa6ec11aa"),
    ("release-manifests/" + "a" * 95, "", b"0", 0o444, 1700000000, "x",
     "dff0bc616199ca69db04d4468938a82f426b0a0ce16ec447df061fa713952903"),  # USTAR prefix and name
    ("release-manifests/" + "b" * 120, "", b"0", 0o444, 1700000000.6, "yy",
     "4ed0658c19ab5dd9a68f46aa8269b31802b60f768baa86c62bd2019b684a9599"),  # PAX path; mtime rounded up
    ("release-manifests/café.yaml", "", b"0", 0o444, 5.499999999, "z",
     "75c832427daf67223ad37dde1ebada3f8c66f1decd88406a347de07bcbe55860"),  # PAX path for non-ASCII
    ("d" * 60 + "/" + "f" * 90, "", b"0", 0o644, 1, "",
     "ee8de8711ecbf720a0502413f9970e2385ef87ca0f84cc319f5966a1c4d7403b"),
    ("link", "t" * 101, b"2", 0o777, 2, "",
     "8ad79c78d0d06f02047290dd54bca7d12e474008bf2fc62c88a65dc63a10b920"),  # PAX linkpath
    ("rép/" + "n" * 100 + "/", "", b"5", 0o755, 3, "",
     "29208970bebbed6832fa0768d134d90120b7e410d9d316f7b1dbcd151b955918"),
    ("old", "", b"0", 0o644, -1, "q", "a5c7e34090f5fb59798c86bb61168250452b5d11fbed75ec506cf249b4b4952a"),
    ("future", "", b"0", 0o644, 1 << 34, "q", "8380290df2caedf2df9c9c07dc5b2d971fdb0a2794b42a011199c1a221142968"),
]


@pytest.mark.parametrize(("name", "link", "kind", "mode", "mtime", "data", "expected"), GO_TAR,
                         ids=[case[0][:24] for case in GO_TAR])
def test_tar_headers_are_gos(name: str, link: str, kind: bytes, mode: int, mtime: float, data: str,
                             expected: str) -> None:
    content = data.encode()
    archive = gotar.header(name, mode, len(content) if kind == b"0" else 0, mtime, kind, link)
    if kind == b"0":
        archive += content + gotar.padding(len(content))
    archive += gotar.TRAILER
    assert hashlib.sha256(archive).hexdigest() == expected


def test_ocs_payload_layer_is_rebuilt_byte_for_byte_from_its_files(tmp_path: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(OC_LAYER)) as archive:
        entries = [LayerEntry(m.name, archive.extractfile(m).read() if m.isreg() else None,  # type: ignore[union-attr]
                              mode=m.mode, kind=m.type, mtime=m.mtime) for m in archive]
    layer = build_go_layer(entries, tmp_path)
    assert gzip.decompress(layer.path.read_bytes()) == OC_LAYER  # no 10 KiB record padding, unlike tarfile
    assert layer.diff_id == "sha256:" + hashlib.sha256(OC_LAYER).hexdigest()


def test_image_references_and_release_metadata_are_encoded_as_oc_encodes_them() -> None:
    files = _files(OC_LAYER)
    references = files["release-manifests/image-references"]
    metadata = files["release-manifests/release-metadata"]
    assert ImageStream.parse(references).encode() == references
    assert ReleaseMetadata.parse(metadata).encode() == metadata
    assert not references.endswith(b"\n")


def test_release_metadata_always_has_previous() -> None:
    assert json.loads(ReleaseMetadata("4.15.0").encode()) == {
        "kind": "cincinnati-metadata-v0", "version": "4.15.0", "previous": []}
    assert json.loads(ReleaseMetadata("4.15.0", (), ("4.15.1",), {"b": 1.0, "a": "<x>"}).encode()) == {
        "kind": "cincinnati-metadata-v0", "version": "4.15.0", "previous": [], "next": ["4.15.1"],
        "metadata": {"a": "<x>", "b": 1}}
    assert b'"a": "\\u003cx\\u003e"' in ReleaseMetadata("1.0.0", metadata={"a": "<x>"}).encode()  # Go's escaping


def test_payload_layer_keeps_the_manifests_order_and_times(tmp_path: Path) -> None:
    payload = Payload(ImageStream("1.0.0", ()), ReleaseMetadata("1.0.0"),
                      {"0000_50_b_x.yaml": b"b", "0000_10_a_y.yaml": b"a"},
                      mtimes={"0000_50_b_x.yaml": 1000.6, "0000_10_a_y.yaml": 7.0}, newest=2000.9)
    entries = payload.layer_entries()
    assert [(e.name, e.mtime) for e in entries] == [
        ("release-manifests", 2000.0), ("release-manifests/image-references", 2000.0),
        ("release-manifests/release-metadata", 2000.0), ("release-manifests/0000_50_b_x.yaml", 1000.6),
        ("release-manifests/0000_10_a_y.yaml", 7.0)]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(build_go_layer(entries, tmp_path).path.read_bytes()))) as tar:
        assert [(m.name, m.mtime, oct(m.mode)) for m in tar][3:] == [
            ("release-manifests/0000_50_b_x.yaml", 1001, "0o444"), ("release-manifests/0000_10_a_y.yaml", 7, "0o444")]


def test_invalid_source_date_epoch_is_a_one_line_error(tmp_path: Path) -> None:
    result = run_cli("new", "cli=example.com/a/b:c", "--to-dir", str(tmp_path), env={"SOURCE_DATE_EPOCH": "yesterday"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01 (not 'yesterday')"]


# -- against oc's release on the golden inputs ---------------------------------------------------------
def _stream_file(tmp_path: Path) -> Path:
    """The ImageStream file oc was given (dev/record_golden.py): the sample's images by digest."""
    with Registries(RegistryOptions(insecure=True)) as registries:
        raw = registries.client(golden.SOURCE).get_manifest(golden.RELEASE_REPOSITORY, "golden")
        assert raw.digest == "sha256:" + hashlib.sha256((OC_RELEASE / "manifest.json").read_bytes()).hexdigest()
    references = ImageStream.parse(_files(OC_LAYER)["release-manifests/image-references"])
    stream = ImageStream(golden.VERSION, tuple(type(t)(t.name, t.pullspec) for t in references.tags))
    path = tmp_path / "image-stream.json"
    write_image_stream(stream, path)
    return path


def _build_like_oc(tmp_path: Path, target: str) -> tuple[str, dict[str, bytes]]:
    """Ours, from the inputs oc's golden release was built from, at oc's build time: stdout and the image."""
    result = run_cli("new", "--insecure", "-f", str(_stream_file(tmp_path)), "--name", golden.VERSION,
                     "--previous", golden.PREVIOUS, "--to-image", target, env={"SOURCE_DATE_EPOCH": OC_EPOCH})
    assert result.returncode == 0, result.stderr
    digest = result.stdout.split()[0]
    repository, tag = target.split("/", 1)[1].rsplit(":", 1)
    with Registries(RegistryOptions(insecure=True)) as registries:
        store = RegistryStore(registries.client(golden.SOURCE))
        raw = store.get_manifest(repository, tag)
        manifest = json.loads(raw.data)
        blobs = {}
        for name, entry in (("config", manifest["config"]), ("layer", manifest["layers"][-1])):
            with store.open_blob(repository, Descriptor(entry["mediaType"], entry["digest"], entry["size"])) as chunks:
                blobs[name] = b"".join(chunks)
    return result.stdout, {"manifest": raw.data, "digest": digest.encode(), **blobs}


def test_new_writes_ocs_payload_layer_config_and_output(golden_inputs: None, tmp_path: Path) -> None:
    stdout, image = _build_like_oc(tmp_path, f"{golden.SOURCE}/okd/ours:golden")
    assert gzip.decompress(image["layer"]) == OC_LAYER  # gzip itself differs: zlib is not Go's deflate
    ours, oc = json.loads(image["config"]), json.loads((OC_RELEASE / "config.json").read_bytes())
    assert ours["size"] != oc["size"]  # the sum of the layers' compressed sizes
    expected = (OC_RELEASE / "config.json").read_bytes().replace(b'"size":%d' % oc["size"], b'"size":%d' % ours["size"])
    assert image["config"] == expected
    manifest, oc_manifest = json.loads(image["manifest"]), json.loads((OC_RELEASE / "manifest.json").read_bytes())
    assert manifest["layers"][:-1] == oc_manifest["layers"][:-1]
    assert image["manifest"].startswith(b'{\n   "schemaVersion": 2,\n   "mediaType": "' + DOCKER_MANIFEST.encode())
    assert stdout == f"{image['digest'].decode()} {golden.VERSION} {OC_CREATED}\n"  # oc's DIGEST NAME CREATED


def test_rebuild_of_ocs_release_without_changes_reproduces_its_digest(golden_inputs: None) -> None:
    result = run_cli("new", "--insecure", "--from-release", golden.RELEASE, "--to-image", f"{golden.SOURCE}/okd/again:1")
    oc_digest = "sha256:" + hashlib.sha256((OC_RELEASE / "manifest.json").read_bytes()).hexdigest()
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{oc_digest} {golden.VERSION} {OC_CREATED}\n"
    assert f"info: Release {oc_digest} built from 15 images" in result.stderr


def test_release_that_its_inputs_do_not_give_is_not_reproduced(golden_inputs: None) -> None:
    files = dict(_files(OC_LAYER))
    name = "release-manifests/0000_50_console-operator_README.md"
    tampered_layer = OC_LAYER.replace(files[name], files[name].upper())
    assert tampered_layer != OC_LAYER
    compressed = gzip.compress(tampered_layer, mtime=0)
    config = (OC_RELEASE / "config.json").read_bytes().replace(
        hashlib.sha256(OC_LAYER).hexdigest().encode(), hashlib.sha256(tampered_layer).hexdigest().encode())
    oc_manifest = json.loads((OC_RELEASE / "manifest.json").read_bytes())
    layer = Descriptor(DOCKER_LAYER, "sha256:" + hashlib.sha256(compressed).hexdigest(), len(compressed))
    config_blob = Descriptor(DOCKER_CONFIG, "sha256:" + hashlib.sha256(config).hexdigest(), len(config))
    oc_manifest["config"] = {"mediaType": DOCKER_CONFIG, "digest": config_blob.digest, "size": config_blob.size}
    oc_manifest["layers"][-1] = {"mediaType": DOCKER_LAYER, "digest": layer.digest, "size": layer.size}
    data = json.dumps(oc_manifest, indent=3).encode()
    with Registries(RegistryOptions(insecure=True)) as registries:
        store = RegistryStore(registries.client(golden.SOURCE))
        for base in oc_manifest["layers"][:-1]:
            store.mount_blob(golden.RELEASE_REPOSITORY, base["digest"], golden.CONTENT)
        store.put_blob(golden.RELEASE_REPOSITORY, layer, [compressed])
        store.put_blob(golden.RELEASE_REPOSITORY, config_blob, [config])
        store.put_manifest(golden.RELEASE_REPOSITORY, "tampered",
                           RawManifest(data, DOCKER_MANIFEST, "sha256:" + hashlib.sha256(data).hexdigest()))
    tampered = f"{golden.SOURCE}/{golden.RELEASE_REPOSITORY}:tampered"
    result = run_cli("new", "--insecure", "--from-release", tampered, "--dry-run")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (OC_REBUILD / "no-changes-stderr.txt").read_text().strip()
    renamed = run_cli("new", "--insecure", "--from-release", tampered, "--name", "4.15.9", "--dry-run")
    assert renamed.returncode == 0, renamed.stderr  # a changed release is not checked against its input


def test_oc_rebuilds_our_release_to_the_same_image_references(golden_inputs: None, tmp_path: Path) -> None:
    _, image = _build_like_oc(tmp_path, f"{golden.SOURCE}/okd/ours:for-oc")
    ours = json.loads(_files(gzip.decompress(image["layer"]))["release-manifests/image-references"])
    # recorded by hand: `oc adm release new --from-release <ours> --name 4.15.2` (tests/golden/README.md)
    oc = json.loads((OC_REBUILD / "image-references").read_bytes())
    assert oc["spec"] == ours["spec"] and oc["status"] == ours["status"]
    assert oc["metadata"]["annotations"] == {"release.openshift.io/from-release": f"{golden.SOURCE}/okd/ours:golden"}
    # and rebuilt with no changes, oc's payload layer has our uncompressed bytes (its diff_id), though oc
    # reports that it could not reproduce the release: its gzip is not ours
    no_changes = json.loads((OC_REBUILD / "no-changes-config.json").read_bytes())
    assert no_changes["rootfs"]["diff_ids"][-1] == json.loads(image["config"])["rootfs"]["diff_ids"][-1]
    assert no_changes["created"] == OC_CREATED


def test_default_name_is_the_build_time(golden_inputs: None, tmp_path: Path) -> None:
    result = run_cli("new", "--insecure", "-f", str(_stream_file(tmp_path)), "--to-dir", str(tmp_path / "out"),
                     env={"SOURCE_DATE_EPOCH": OC_EPOCH})
    assert result.returncode == 0, result.stderr
    references = json.loads((tmp_path / "out" / "image-references").read_bytes())
    assert references["metadata"] == {"name": "0.0.1-2026-11-26-005620", "creationTimestamp": OC_CREATED}
    assert json.loads((tmp_path / "out" / "release-metadata").read_bytes())["previous"] == []


def test_public_reference_mode_names_images_through_the_public_repository(golden_inputs: None,
                                                                         tmp_path: Path) -> None:
    path = _stream_file(tmp_path)
    document = json.loads(path.read_bytes())
    for tag in document["spec"]["tags"]:  # imported from a repository the release must not name
        tag["from"]["name"] = tag["from"]["name"].replace("/okd/content@", "/okd/imported-from@")
    path.write_text(json.dumps(document))
    public = run_cli("new", "--insecure", "-f", str(path), "--to-dir", str(tmp_path / "public"))
    assert public.returncode == 0, public.stderr
    references = (tmp_path / "public" / "image-references").read_bytes()
    assert references == _files(OC_LAYER)["release-manifests/image-references"].replace(
        OC_CREATED.encode(), json.loads(references)["metadata"]["creationTimestamp"].encode()).replace(
        b'"name": "4.15.0-0.okd-sample"', b'"name": "%s"' % json.loads(references)["metadata"]["name"].encode())
    source = run_cli("new", "--insecure", "-f", str(path), "--reference-mode", "source", "--dry-run")
    assert source.returncode == 1 and "/okd/imported-from@" in source.stderr and "not found" in source.stderr
    del document["status"]["publicDockerImageRepository"]
    path.write_text(json.dumps(document))
    refused = run_cli("new", "--insecure", "-f", str(path), "--dry-run")
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: only image streams or releases with public image repositories can be the source for releases "
        "when using the default --reference-mode")


def test_from_dir_reads_one_subdirectory_per_operator(tmp_path: Path) -> None:
    source = tmp_path / "input"
    (source / "demo-operator").mkdir(parents=True)
    (source / "demo-operator" / "image-references").write_text(json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1",
        "spec": {"tags": [{"name": "demo", "from": {"kind": "DockerImage", "name": "quay.io/ph/demo:latest"}}]}}))
    deployment = source / "demo-operator" / "02_deployment.yaml"
    deployment.write_text("apiVersion: apps/v1\nkind: Deployment\nimage: quay.io/ph/demo:latest\n"
                          "version: 0.0.1-snapshot\n")
    os.utime(deployment, (1_700_000_000, 1_700_000_000))
    os.utime(source / "demo-operator" / "image-references", (1_600_000_000, 1_600_000_000))
    pullspec = "registry.example.com/okd/demo@sha256:" + "1" * 64
    (source / "image-references").write_text(json.dumps({
        "kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "spec": {"tags": [
            {"name": "demo", "from": {"kind": "DockerImage", "name": pullspec}},
            {"name": "unused", "from": {"kind": "DockerImage", "name": "registry.example.com/okd/unused@sha256:" + "2" * 64}}]}}))
    result = run_cli("new", "--from-dir", str(source), "--name", "4.15.3", "--to-file", str(tmp_path / "payload.tar.gz"))
    assert result.returncode == 0, result.stderr
    assert "info: Found 1 operator manifest directories on disk" in result.stderr
    with tarfile.open(tmp_path / "payload.tar.gz") as archive:
        members = {m.name: m for m in archive}
        manifest = archive.extractfile(members["release-manifests/0000_50_demo-operator_02_deployment.yaml"])
        assert manifest is not None and manifest.read() == (
            f"apiVersion: apps/v1\nkind: Deployment\nimage: {pullspec}\nversion: 4.15.3\n".encode())
        assert members["release-manifests/0000_50_demo-operator_02_deployment.yaml"].mtime == 1_700_000_000
        assert members["release-manifests"].mtime == 1_700_000_000  # the newest file of the operators (as oc)
        references = json.loads(archive.extractfile(members["release-manifests/image-references"]).read())  # type: ignore[union-attr]
    assert [t["name"] for t in references["spec"]["tags"]] == ["demo"]  # no operator names "unused"


@pytest.mark.parametrize(("flags", "message"), [
    (("--component-versions", "kubernetes=1.28"), "--component-versions is invalid: "),
    (("--component-versions", "k=1.0.0"), "--component-versions is invalid: "),
    (("--component-versions", "kubernetes=1.28.3", "--component-versions-display-names", "kubernetes=K8s!"),
     "--component-versions is invalid: "),
    (("--name", "4.15"), "--name must be a semantic version: "),
])
def test_component_versions_and_name_are_checked_as_oc_checks_them(tmp_path: Path, flags: tuple[str, ...],
                                                                    message: str) -> None:
    result = run_cli("new", "cli=example.com/a/b@sha256:" + "1" * 64, *flags, "--to-dir", str(tmp_path))
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), result.stderr
    assert list(tmp_path.iterdir()) == []
