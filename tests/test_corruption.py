"""Bytes flipped inside the registry's storage: every reader refuses them, nothing corrupt lands anywhere."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from okd_release.testing import localregistry
from tests.conftest import run_cli, skopeo
from tests.release_helpers import build_sample_release, read_release


def _blob_path(storage: Path, digest: str) -> Path:
    hexdigest = digest.split(":", 1)[1]
    return storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def _flip(path: Path, offset: int = 100, mask: int = 0xFF) -> None:
    """Flip bits of one byte; flipping the same byte again restores it."""
    data = bytearray(path.read_bytes())
    data[min(offset, len(data) - 1)] ^= mask
    path.write_bytes(bytes(data))


@pytest.fixture(scope="module")
def corrupted(tmp_path_factory, plain_registries_module):
    """A release whose prometheus and installer layers have a flipped byte in the registry's storage.

    Shared by the module: tests read it; a test that corrupts more does so through `flip`, which undoes it."""
    directory = tmp_path_factory.mktemp("corrupted")
    registry = localregistry.start(directory / "registry")
    release = build_sample_release(plain_registries_module, registry.host, "okd", directory)
    payload = read_release(release).payload
    client = plain_registries_module.client(registry.host)
    layers = {}
    for name in ("prometheus", "installer", "cluster-monitoring-operator"):
        digest = payload.image_references.tag(name).pullspec.split("@")[1]
        manifest = json.loads(client.get_manifest("okd/content", digest).data)
        layers[name] = manifest["layers"][-1]["digest"]
    for name in ("prometheus", "installer"):
        _flip(_blob_path(registry.storage, layers[name]))
    yield registry, release, layers, payload
    registry.remove()


@pytest.fixture
def flip():
    """`flip(path, offset, mask)` for one test: the bytes are flipped back after it."""
    flipped: list[tuple[Path, int, int]] = []

    def flip_one(path: Path, offset: int = 100, mask: int = 0xFF) -> None:
        _flip(path, offset, mask)
        flipped.append((path, offset, mask))

    yield flip_one
    for path, offset, mask in reversed(flipped):
        _flip(path, offset, mask)


def _error_line(result) -> str:
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def test_mirror_refuses_the_corrupt_blob_and_pushes_no_manifest_needing_it(corrupted, second_registry) -> None:
    registry, release, layers, payload = corrupted
    result = run_cli("mirror", "--insecure", "--from", release, "--to", f"{second_registry.host}/m/okd")
    line = _error_line(result)
    # the line names the first image that failed, which of the two corrupt ones the threads decide
    first = line.split(" images failed: ", 1)[1].split(":", 1)[0]
    assert first in ("prometheus", "installer"), line
    assert f"{first}: copy blob {layers[first]} from " in line
    assert f"digest mismatch for blob {layers[first]} of {registry.host}/okd/content" in line
    client_check = skopeo("inspect", "--tls-verify=false", "--raw",
                          f"docker://{second_registry.host}/m/okd@{payload.image_references.tag('prometheus').pullspec.split('@')[1]}",
                          check=False)
    assert client_check.returncode != 0, "the manifest of an image with a corrupt blob must not be pushed"
    for name in ("prometheus", "installer"):
        assert not _blob_path(second_registry.storage, layers[name]).exists()
    healthy = payload.image_references.tag("cluster-monitoring-operator").pullspec.split("@")[1]
    skopeo("inspect", "--tls-verify=false", f"docker://{second_registry.host}/m/okd@{healthy}")


def test_json_summary_names_what_failed_and_what_was_copied(corrupted, second_registry) -> None:
    _, release, layers, _ = corrupted
    result = run_cli("mirror", "--insecure", "--from", release, "--to", f"{second_registry.host}/j/okd", "-o", "json")
    assert result.returncode != 0 and "digest mismatch" in _error_line(result)
    summary = json.loads(result.stdout)
    assert set(summary["imagesFailed"]) >= {"prometheus", "installer"}
    assert summary["blobsCopied"] > 0 and len(summary["errors"]) == len(summary["imagesFailed"])


def test_disk_mirror_keeps_nothing_corrupt(corrupted, tmp_path) -> None:
    registry, release, layers, _ = corrupted
    disk = tmp_path / "disk"
    result = run_cli("mirror", "--insecure", "--from", release, "--to-dir", str(disk))
    assert "digest mismatch" in _error_line(result)
    blobs = disk / "v2/openshift/release/blobs"
    assert not (blobs / layers["prometheus"]).exists() and not (blobs / layers["installer"]).exists()
    assert not [p for p in blobs.iterdir() if p.name.startswith(".partial-")]
    assert not (disk / "okd-release-mirror.json").exists()


def test_extract_refuses_a_corrupt_installer_layer(corrupted, tmp_path) -> None:
    _, release, layers, _ = corrupted
    result = run_cli("extract", "--insecure", release, "--command", "openshift-install", "--command-os", "linux",
                     "--to", str(tmp_path / "bin"))
    line = _error_line(result)
    assert layers["installer"] in line and "installer" in line
    assert not (tmp_path / "bin" / "openshift-install").exists()
    assert [p.name for p in (tmp_path / "bin").iterdir()] == []


def test_new_refuses_a_corrupt_operator_layer(corrupted, flip, tmp_path) -> None:
    registry, release, layers, _ = corrupted
    flip(_blob_path(registry.storage, layers["cluster-monitoring-operator"]))
    result = run_cli("new", "--insecure", "--from-release", release, "--to-image", f"{registry.host}/okd/again:1")
    line = _error_line(result)
    assert layers["cluster-monitoring-operator"] in line
    assert skopeo("inspect", "--tls-verify=false", f"docker://{registry.host}/okd/again:1", check=False).returncode != 0


def test_extract_manifests_from_a_corrupt_payload_layer_writes_nothing(corrupted, flip, tmp_path, plain_registries) -> None:
    registry, release, _, _ = corrupted
    manifest = json.loads(plain_registries.client(registry.host).get_manifest("okd/release", release.split("@")[1]).data)
    payload_layer = manifest["layers"][-1]["digest"]
    # inside the gzip trailer region: tar entries still parse, the digest does not match
    flip(_blob_path(registry.storage, payload_layer), -30, 0x01)
    result = run_cli("extract", "--insecure", release, "--to", str(tmp_path / "out"))
    line = _error_line(result)
    assert f"digest mismatch for blob {payload_layer} of {registry.host}/okd/release" in line
    assert not (tmp_path / "out").exists()
