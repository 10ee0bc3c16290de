"""A blob download cut off midway continues with a Range request for the rest, instead of starting over:
to disk and between registries, with the digest still checked over the whole blob, and correctly (if less
cheaply) when the registry ignores the Range and sends the whole blob again.

A real registry (docker-registry serves Range on blob GETs) behind the fault proxy, which cuts the large
layer's first download halfway and counts the body bytes it serves for each request."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from okd_release import mediatypes
from okd_release.content import CHUNK, RawManifest
from okd_release.image.disk import DiskStore
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RetryPolicy
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.transfer import Endpoint, ImageCopy, IncompleteTransfer, Transfer
from tests.faultproxy import CutOnce, FaultProxyServer, ProxyHandler, Served, start_proxy

LAYER_BYTES = 8 * 1024 * 1024  # several read chunks: cut in half, a good part of it has been passed on


@dataclass(frozen=True)
class BigImage:
    proxy: FaultProxyServer
    digest: str  # the manifest's
    layer: bytes
    layer_digest: str


@pytest.fixture(scope="module")
def big_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BigImage]:
    """One image with an 8 MiB (incompressible) layer in a real registry, reached through a fault proxy."""
    registry = localregistry.start(tmp_path_factory.mktemp("range-source"))
    proxy = start_proxy(registry.host)
    layer = os.urandom(LAYER_BYTES)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        client = registries.client(registry.host)
        layer_digest, config_digest = client.upload_bytes("range/big", layer), client.upload_bytes("range/big", config)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST,
            "config": {"mediaType": mediatypes.DOCKER_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": mediatypes.DOCKER_LAYER, "digest": layer_digest, "size": len(layer)}],
        }).encode()
        digest = client.put_manifest("range/big", "latest", manifest, mediatypes.DOCKER_MANIFEST)
    yield BigImage(proxy, digest, layer, layer_digest)
    proxy.shutdown()
    proxy.server_close()
    registry.remove()


@pytest.fixture
def cut(big_image: BigImage) -> Iterator[CutOnce]:
    """The layer's first download cut off halfway; the hook is taken off the proxy afterwards."""
    hook = CutOnce(lambda handler: _layer_get(handler, big_image))
    big_image.proxy.hooks.append(hook)
    yield hook
    big_image.proxy.hooks.remove(hook)


@pytest.fixture
def cut_and_ranges_ignored(big_image: BigImage) -> Iterator[CutOnce]:
    hook = CutOnce(lambda handler: _layer_get(handler, big_image), strip_range=True)
    big_image.proxy.hooks.append(hook)
    yield hook
    big_image.proxy.hooks.remove(hook)


def _layer_get(handler: ProxyHandler, image: BigImage) -> bool:
    return handler.command == "GET" and handler.path.endswith(f"/blobs/{image.layer_digest}")


def _copy(image: BigImage, registries: Registries, target: Endpoint) -> int:
    """Copy the image to `target`; the transfer's retries."""
    source = Endpoint(RegistryStore(registries.client(image.proxy.host)), "range/big")
    summary = Transfer(retry=RetryPolicy(sleep=lambda seconds: None)).run(
        [ImageCopy("big", source, image.digest, target, ("latest",))])
    assert summary.blobs_copied == 2 and summary.digests == {"big": image.digest}
    return summary.retries


def _resumed_from(served: list[Served]) -> int:
    """Where the second request asked to continue: the first was cut, the second asked for all after it."""
    assert len(served) == 2, served
    first, second = served
    assert first.range is None and first.status == 200
    assert 0 < first.body_bytes < LAYER_BYTES  # cut off midway
    assert second.range is not None and second.range.startswith("bytes=") and second.range.endswith("-"), second
    offset = int(second.range.removeprefix("bytes=").removesuffix("-"))
    # what was passed on before the cut: all the cut answer sent, less at most the read chunk not yet full
    assert first.body_bytes - CHUNK < offset <= first.body_bytes
    return offset


def test_a_download_to_disk_cut_midway_continues_with_a_range_request_for_the_rest(
        big_image: BigImage, cut: CutOnce, tmp_path: Path) -> None:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        retries = _copy(big_image, registries, Endpoint(DiskStore(tmp_path), "copied"))
    offset = _resumed_from(cut.served)
    assert cut.served[1].status == 206 and cut.served[1].body_bytes == LAYER_BYTES - offset
    assert sum(served.body_bytes for served in cut.served) < LAYER_BYTES + CHUNK  # about one blob, not two
    assert retries == 1
    written = (tmp_path / "v2/copied/blobs" / big_image.layer_digest).read_bytes()
    assert written == big_image.layer
    assert not [path for path in (tmp_path / "v2/copied/blobs").iterdir() if path.name.startswith(".partial-")]


def test_a_download_between_registries_cut_midway_continues_with_a_range_request_for_the_rest(
        big_image: BigImage, cut: CutOnce, registry: localregistry.LocalRegistry) -> None:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        target = registries.client(registry.host)
        retries = _copy(big_image, registries, Endpoint(RegistryStore(target), "copied/big"))
        with target.open_blob("copied/big", big_image.layer_digest, LAYER_BYTES) as chunks:
            copied = b"".join(chunks)
        pushed: RawManifest = target.get_manifest("copied/big", "latest")
    offset = _resumed_from(cut.served)
    assert cut.served[1].status == 206 and cut.served[1].body_bytes == LAYER_BYTES - offset
    assert sum(served.body_bytes for served in cut.served) < LAYER_BYTES + CHUNK  # about one blob, not two
    assert retries == 1
    assert copied == big_image.layer and pushed.digest == big_image.digest


def test_a_registry_that_ignores_the_range_and_sends_the_whole_blob_still_gives_a_correct_copy(
        big_image: BigImage, cut_and_ranges_ignored: CutOnce, tmp_path: Path) -> None:
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        retries = _copy(big_image, registries, Endpoint(DiskStore(tmp_path), "copied"))
    served = cut_and_ranges_ignored.served
    _resumed_from(served)
    assert served[1].status == 200 and served[1].body_bytes == LAYER_BYTES  # the whole blob again
    assert retries == 1
    assert (tmp_path / "v2/copied/blobs" / big_image.layer_digest).read_bytes() == big_image.layer


def test_an_answer_to_a_range_request_that_starts_elsewhere_fails_the_image_and_leaves_no_blob(
        big_image: BigImage, tmp_path: Path) -> None:
    answered: list[str | None] = []

    def hostile(handler: ProxyHandler) -> bool:
        if not _layer_get(handler, big_image):
            return False
        answered.append(handler.headers.get("Range"))
        if len(answered) == 1:
            handler.forward("drop")
        else:  # "the rest" is the blob from its start: appended to what arrived, it would be a corrupt blob
            handler.answer(206, big_image.layer, {"Content-Range": f"bytes 0-{LAYER_BYTES - 1}/{LAYER_BYTES}"})
        return True

    big_image.proxy.hooks.append(hostile)
    try:
        with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries, \
                pytest.raises(IncompleteTransfer) as failed:
            _copy(big_image, registries, Endpoint(DiskStore(tmp_path), "copied"))
    finally:
        big_image.proxy.hooks.remove(hostile)
    assert len(answered) == 2 and answered[1] is not None and answered[1] != "bytes=0-"
    message = failed.value.summary.errors[0]
    assert f"from byte {answered[1].removeprefix('bytes=').removesuffix('-')} with the range 'bytes 0-" in message
    assert not (tmp_path / "v2/copied/blobs" / big_image.layer_digest).exists()
    assert not [path for path in (tmp_path / "v2/copied/blobs").iterdir() if path.name.startswith(".partial-")]
