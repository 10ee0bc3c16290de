"""The transfer's fast paths, asserted by what goes over the wire (requests counted at a proxy), never by time:
re-mirror skips the blobs of images the target already has, manifests go out as soon as their own blobs are
in, large reads are still verified, threads keep their own connections, and `info` starts without rich."""

from __future__ import annotations

import http.client
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from okd_release import digest as digests
from okd_release.content import Descriptor
from okd_release.errors import DigestMismatch
from okd_release.image import manifest as manifests
from okd_release.image.manifest import ImageManifest
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.testing.sample import push_sample
from okd_release.transfer import Endpoint, ImageCopy, Transfer
from tests.faultproxy import FaultProxyServer, PauseAfter, ProxyHandler, start_proxy


# -- fixtures and helpers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Component:
    name: str
    digest: str
    manifest: ImageManifest


class Recorder:
    """A proxy hook that lets everything through and notes (method, path without query) of each request."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __call__(self, handler: ProxyHandler) -> bool:
        with self._lock:
            self.requests.append((handler.command, handler.path.split("?", 1)[0]))
        return False

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def matching(self, method: str, fragment: str) -> list[str]:
        """Paths of `method` requests containing `fragment` (or, when it starts with /v2/, equal to it)."""
        with self._lock:
            return [path for m, path in self.requests
                    if m == method and (path == fragment if fragment.startswith("/v2/") else fragment in path)]


def _session() -> Registries:
    return Registries(RegistryOptions(insecure=True), CredentialStore())


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[localregistry.LocalRegistry, list[Component]]]:
    """A registry holding the sample's component images as `speed/content:<name>`."""
    registry = localregistry.start(tmp_path_factory.mktemp("speed-source"))
    with _session() as registries:
        store = RegistryStore(registries.client(registry.host))
        sample = push_sample(store, "speed/content")
        components = []
        for tag in sample.stream.tags:
            digest = tag.pullspec.rsplit("@", 1)[1]
            parsed = manifests.parse(store.get_manifest("speed/content", digest))
            assert isinstance(parsed, ImageManifest)
            components.append(Component(tag.name, digest, parsed))
    yield registry, components
    registry.remove()


@pytest.fixture
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[localregistry.LocalRegistry, FaultProxyServer, Recorder]]:
    """An empty registry behind a proxy that records every request sent to it."""
    registry = localregistry.start(tmp_path_factory.mktemp("speed-target"))
    proxy = start_proxy(registry.host)
    recorder = Recorder()
    proxy.hooks.append(recorder)
    yield registry, proxy, recorder
    proxy.shutdown()
    proxy.server_close()
    registry.remove()


def _copies(registries: Registries, source_host: str, target_host: str, components: list[Component]) -> list[ImageCopy]:
    origin = Endpoint(RegistryStore(registries.client(source_host)), "speed/content")
    mirror = Endpoint(RegistryStore(registries.client(target_host)), "speed/mirror")
    return [ImageCopy(c.name, origin, c.digest, mirror, (c.name,)) for c in components]


def _mirror(source_host: str, target_host: str, components: list[Component], workers: int = 4) -> None:
    with _session() as registries:
        summary = Transfer(workers).run(_copies(registries, source_host, target_host, components))
    assert summary.images_failed == []


def _tag_path(component: Component) -> str:
    return f"/v2/speed/mirror/manifests/{component.name}"


def _tagged(registry: localregistry.LocalRegistry, tag: str) -> str | None:
    with _session() as registries:
        found = registries.client(registry.host).head_manifest("speed/mirror", tag)
    return found.digest if found else None


# -- re-mirror ---------------------------------------------------------------------------------------
def test_remirror_into_a_complete_target_checks_no_blob_and_puts_only_the_tags(source, target) -> None:
    registry, components = source
    _, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    recorder.clear()
    with _session() as registries:
        summary = Transfer(4).run(_copies(registries, registry.host, proxy.host, components))
    blobs = {blob.digest for c in components for blob in c.manifest.blobs()}
    assert summary.blobs_copied == 0 and summary.blobs_skipped == summary.blobs_total == len(blobs)
    assert [path for _, path in recorder.requests if "/blobs/" in path] == []
    assert sorted(recorder.matching("HEAD", "/manifests/")) == sorted(
        f"/v2/speed/mirror/manifests/{c.digest}" for c in components)
    assert sorted(recorder.matching("PUT", "/manifests/")) == sorted(
        f"/v2/speed/mirror/manifests/{c.name}" for c in components)


def test_remirror_puts_back_a_tag_moved_away_at_the_target(source, target) -> None:
    registry, components = source
    target_registry, proxy, _ = target
    _mirror(registry.host, proxy.host, components)
    moved, other = components[0], components[1]
    with _session() as registries:
        client = registries.client(target_registry.host)
        client.put_manifest("speed/mirror", moved.name, other.manifest.raw.data, other.manifest.raw.media_type)
    assert _tagged(target_registry, moved.name) == other.digest
    _mirror(registry.host, proxy.host, components)
    assert _tagged(target_registry, moved.name) == moved.digest


def test_an_image_missing_at_the_target_has_its_blobs_checked_and_only_it(source, target) -> None:
    registry, components = source
    target_registry, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    missing = components[2]
    with _session() as registries:
        registries.client(target_registry.host).transport.request(
            "DELETE", f"/v2/speed/mirror/manifests/{missing.digest}", "repository:speed/mirror:pull,push", ok=(202,))
    recorder.clear()
    _mirror(registry.host, proxy.host, components)
    checked = {path.rsplit("/", 1)[1] for path in recorder.matching("HEAD", "/blobs/")}
    assert checked == {blob.digest for blob in missing.manifest.blobs()}
    assert recorder.matching("PUT", f"/manifests/{missing.digest}") == [f"/v2/speed/mirror/manifests/{missing.digest}"]
    assert _tagged(target_registry, missing.name) == missing.digest


# -- manifests as soon as their blobs are in -----------------------------------------------------------
def test_an_image_is_pushed_while_another_images_blob_is_still_streaming(source, target) -> None:
    registry, components = source
    target_registry, proxy, recorder = target
    slow, quick = components[0], components[1]
    own_layer = slow.manifest.layers[-1].digest  # not shared with any other image
    source_proxy = start_proxy(registry.host)
    pause = PauseAfter(0, lambda handler: handler.command == "GET" and handler.path.endswith(own_layer))
    source_proxy.hooks.append(pause)
    outcome: list[object] = []

    def run() -> None:
        try:
            _mirror(source_proxy.host, proxy.host, [slow, quick], workers=2)
            outcome.append("done")
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        pause.wait()
        waited_until = time.monotonic() + 30
        while not recorder.matching("PUT", _tag_path(quick)) and time.monotonic() < waited_until:
            time.sleep(0.05)
        assert recorder.matching("PUT", _tag_path(quick)), "the quick image waited for the slow one"
        assert recorder.matching("PUT", _tag_path(slow)) == []
    finally:
        pause.release()
        worker.join(60)
        source_proxy.shutdown()
        source_proxy.server_close()
    assert outcome == ["done"]
    assert _tagged(target_registry, slow.name) == slow.digest


# -- the blob path -------------------------------------------------------------------------------------
def test_a_blob_read_in_large_pieces_is_still_checked_against_its_digest(source) -> None:
    registry, _ = source
    data = bytes(range(256)) * (3 * 4096 + 17)  # about 3 MiB: read in pieces of up to a MiB
    with _session() as registries:
        digest = registries.client(registry.host).upload_bytes("speed/big", data)
    proxy = start_proxy(registry.host)

    def corrupt(handler: ProxyHandler) -> bool:
        if handler.command != "GET" or not handler.path.endswith(digest):
            return False
        upstream = http.client.HTTPConnection(registry.host)
        upstream.request("GET", handler.path)
        body = bytearray(upstream.getresponse().read())
        body[len(body) // 2] ^= 0xFF
        handler.answer(200, bytes(body), {"Content-Type": "application/octet-stream"})
        return True

    proxy.hooks.append(corrupt)
    try:
        with _session() as registries:
            client = registries.client(proxy.host)
            with pytest.raises(DigestMismatch, match="digest mismatch"), \
                    client.open_blob("speed/big", digest, len(data)) as chunks:
                for _ in chunks:
                    pass
            proxy.hooks.clear()
            with client.open_blob("speed/big", digest, len(data)) as chunks:
                assert digests.of(b"".join(chunks)) == digest
    finally:
        proxy.shutdown()
        proxy.server_close()


def test_threads_that_end_leave_their_connection_to_the_next_thread(source) -> None:
    registry, components = source
    proxy = start_proxy(registry.host)
    ports: list[int] = []
    proxy.hooks.append(lambda handler: ports.append(handler.client_address[1]) and False)
    blob: Descriptor = components[0].manifest.layers[0]
    try:
        with _session() as registries:
            client = registries.client(proxy.host)
            for _ in range(4):  # one after another, each thread gone before the next starts
                thread = threading.Thread(target=client.head_blob, args=("speed/content", blob.digest))
                thread.start()
                thread.join()
    finally:
        proxy.shutdown()
        proxy.server_close()
    assert len(ports) == 5  # the /v2/ probe, then one HEAD per thread
    assert len(set(ports)) == 1


# -- start-up ------------------------------------------------------------------------------------------
def test_info_loads_neither_rich_nor_the_mirror_engine() -> None:
    probe = ("import sys, okd_release.cli.info; "
             "print(sorted({m.split('.')[0] if m.startswith('rich') else m for m in sys.modules "
             "if m.startswith(('rich', 'okd_release.transfer', 'okd_release.testing', 'pygments'))}))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
