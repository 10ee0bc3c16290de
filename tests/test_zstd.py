"""zstd-compressed layers (application/vnd.oci.image.layer.v1.tar+zstd, and zstd:chunked, which is zstd frames
plus skippable frames to a reader): read by info, extract and new; copied untouched by mirror."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

import pytest
import zstandard

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import Descriptor
from okd_release.errors import ManifestError
from okd_release.image import manifest as manifests
from okd_release.image.layer import ZSTD_LAYER, read_files
from okd_release.image.manifest import ImageManifest, build_image_manifest
from okd_release.stores import RegistryStore
from tests.conftest import pushed_release, run_cli
from tests.release_helpers import read_release

FRAME = 16 * 1024


def zstd(data: bytes, chunked: bool) -> bytes:
    """One zstd frame; or, as zstd:chunked lays a layer out, many frames and a skippable frame (its TOC) last."""
    compressor = zstandard.ZstdCompressor(level=3)
    if not chunked:
        return compressor.compress(data)
    frames = [compressor.compress(data[offset:offset + FRAME]) for offset in range(0, len(data), FRAME)]
    toc = json.dumps({"version": 1, "entries": []}).encode()
    skippable = struct.pack("<II", 0x184D2A50, len(toc)) + toc
    return b"".join(frames) + skippable


def push_zstd_release(store: RegistryStore, source_digest: str, repository: str, chunked: bool) -> str:
    """The sample release with its payload layer recompressed with zstd, as an OCI image; its pullspec by digest."""
    raw = store.get_manifest("okd/release", source_digest)
    manifest = manifests.parse(raw, "sample release")
    assert isinstance(manifest, ImageManifest)
    payload = manifest.layers[-1]
    with store.open_blob("okd/release", payload) as chunks:
        tar = gzip.decompress(b"".join(chunks))  # the same tar, so the config's diff_ids hold
    data = zstd(tar, chunked)
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    layer = Descriptor(ZSTD_LAYER, digests.of(data), len(data))
    store.put_blob(repository, layer, [data])
    for blob in (*manifest.layers[:-1], manifest.config):
        with store.open_blob("okd/release", blob) as chunks:
            store.put_blob(repository, blob, chunks)
    config = Descriptor(mediatypes.OCI_CONFIG, manifest.config.digest, manifest.config.size)
    built = build_image_manifest(config, [*manifest.layers[:-1], layer], mediatypes.OCI_MANIFEST)
    store.put_manifest(repository, "zstd", built.raw)
    return f"{store.reference_name(repository)}@{built.digest}"


@pytest.fixture(scope="module", params=["zstd", "zstd:chunked"])
def zstd_release(request, sample_release, plain_registries_module) -> str:
    store = RegistryStore(plain_registries_module.client(sample_release.host))
    chunked = request.param == "zstd:chunked"
    return push_zstd_release(store, sample_release.digest, f"okd/{'chunked' if chunked else 'zstd'}-release", chunked)


def test_info_reads_a_release_whose_payload_layer_is_zstd(zstd_release, sample_release) -> None:
    result = run_cli("info", "--insecure", "-o", "json", zstd_release)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    original = json.loads(run_cli("info", "--insecure", "-o", "json", sample_release.release).stdout)
    assert document["references"] == original["references"]
    assert document["metadata"] == original["metadata"]
    assert document["digest"] == zstd_release.split("@")[1]


def test_extract_writes_the_manifests_of_a_zstd_payload(zstd_release, sample_release, tmp_path: Path) -> None:
    for name, release in (("zstd", zstd_release), ("gzip", sample_release.release)):
        result = run_cli("extract", "--insecure", "--to", str(tmp_path / name), release)
        assert result.returncode == 0, result.stderr
    written = {path.relative_to(tmp_path / "zstd"): path.read_bytes() for path in (tmp_path / "zstd").rglob("*")
               if path.is_file()}
    expected = {path.relative_to(tmp_path / "gzip"): path.read_bytes() for path in (tmp_path / "gzip").rglob("*")
                if path.is_file()}
    assert written == expected and len(written) > 3


def test_new_builds_from_a_zstd_release(zstd_release, sample_release) -> None:
    target = f"{sample_release.host}/okd/from-zstd:1"
    result = run_cli("new", "--insecure", "--from-release", zstd_release, "--name", "4.15.9-zstd", "--to-image", target)
    built = pushed_release(result, target)
    assert read_release(built).payload.version == "4.15.9-zstd"
    assert read_release(built).payload.image_references.tags == read_release(zstd_release).payload.image_references.tags


def test_mirror_copies_zstd_layers_untouched(zstd_release, second_registry, plain_registries) -> None:
    result = run_cli("mirror", "--insecure", "--from", zstd_release, "--to", f"{second_registry.host}/m/okd", "-o", "json")
    assert result.returncode == 0, result.stderr
    mirrored = read_release(json.loads(result.stdout)["releaseTarget"])
    assert mirrored.digest == zstd_release.split("@")[1]  # the manifest byte for byte, so every layer by digest
    source = read_release(zstd_release)
    assert source.image is not None and source.image.layers[-1].media_type == ZSTD_LAYER
    layer = source.image.layers[-1]
    assert plain_registries.client(second_registry.host).head_blob("m/okd", layer.digest) == layer.size


def test_a_layer_declared_zstd_that_is_not_is_one_error() -> None:
    data = gzip.compress(b"\0" * 1024)
    with pytest.raises(ManifestError, match=r"layer x is not a valid tar layer: its media type is .*\+zstd but it is "
                                            "not zstd-compressed"):
        read_files(iter([data]), lambda name: True, "layer x", media_type=ZSTD_LAYER)


def test_corrupt_zstd_is_an_invalid_layer_not_a_library_error() -> None:
    data = zstd(b"x" * 100_000, chunked=False)
    broken = data[:20] + bytes(b ^ 0xFF for b in data[20:40]) + data[40:]
    with pytest.raises(ManifestError, match="layer y is not a valid tar layer"):
        read_files(iter([broken[:3], broken[3:]]), lambda name: True, "layer y")
