"""The transfer's fast paths, asserted by what goes over the wire (requests counted at a proxy), never by time:
re-mirror skips unread the images whose every tag already names them, and the blobs of images the target has;
manifests go out as soon as their own blobs are in, large reads are still verified, threads keep their own
connections, and `info` starts without rich."""

from __future__ import annotations

import gc
import http.client
import json
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec.structs
import pytest

from okd_release import digest as digests
from okd_release.content import Descriptor
from okd_release.errors import DigestMismatch
from okd_release.image import manifest as manifests
from okd_release.image.disk import DiskStore
from okd_release.image.layout import OciLayout
from okd_release.image.manifest import ImageManifest
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.testing.sample import push_sample
from okd_release.transfer import Endpoint, ImageCopy, Transfer, TransferSummary
from tests.conftest import run_cli
from tests.faultproxy import FaultProxyServer, PauseAfter, ProxyHandler, start_proxy
from tests.release_helpers import build_sample_release, read_release


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


def _move_tag(registry: localregistry.LocalRegistry, tag: str, to: Component) -> None:
    """Point the mirror's `tag` at another component's image, as someone else's push would."""
    with _session() as registries:
        registries.client(registry.host).put_manifest("speed/mirror", tag, to.manifest.raw.data,
                                                       to.manifest.raw.media_type)


def _remirror_through_a_proxy(registry: localregistry.LocalRegistry, target: str,
                              components: list[Component]) -> tuple[TransferSummary, Recorder]:
    """Mirror `components` again into `target`, reading the source through a proxy: the summary, and what was
    asked of the source."""
    source_proxy = start_proxy(registry.host)
    read = Recorder()
    source_proxy.hooks.append(read)
    try:
        with _session() as registries:
            summary = Transfer(4).run(_copies(registries, source_proxy.host, target, components))
    finally:
        source_proxy.shutdown()
        source_proxy.server_close()
    return summary, read


# -- re-mirror ---------------------------------------------------------------------------------------
def test_remirror_into_a_complete_target_lists_its_tags_once_asks_one_head_per_tag_and_nothing_else(source, target) -> None:
    registry, components = source
    _, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    recorder.clear()
    summary, read = _remirror_through_a_proxy(registry, proxy.host, components)
    assert summary.images_present == summary.images == len(components) and summary.images_failed == []
    assert summary.blobs_copied == summary.blobs_skipped == summary.blobs_total == 0  # no manifest was read
    assert summary.digests == {c.name: c.digest for c in components}
    asked = [request for request in recorder.requests if request[1] != "/v2/"]  # but the session's probe
    assert sorted(asked) == sorted([("GET", "/v2/speed/mirror/tags/list"),  # its tags, listed once
                                    *(("HEAD", _tag_path(c)) for c in components)])
    assert [request for request in read.requests if request[1] != "/v2/"] == []  # nothing asked of the source


def test_a_fresh_mirror_lists_the_new_repository_once_and_asks_about_no_tag_or_manifest(source, target) -> None:
    registry, components = source
    target_registry, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    asked = [request for request in recorder.requests if request[1] != "/v2/"]
    assert [request for request in asked if request[1].endswith("/tags/list")] == [("GET", "/v2/speed/mirror/tags/list")]
    assert recorder.matching("HEAD", "/manifests/") == []  # the repository did not exist: it holds no manifest
    assert len(recorder.matching("HEAD", "/blobs/")) == len({b.digest for c in components for b in c.manifest.blobs()})
    assert all(_tagged(target_registry, c.name) == c.digest for c in components)


def test_a_repository_holding_manifests_only_by_digest_is_unlisted_yet_mirrored_into_correctly(source, target) -> None:
    """A registry lists no repository that has no tag: its manifests by digest are not asked about, and the
    one put again is the whole cost; the image ends tagged, and the mirror's count of blobs is exact."""
    registry, components = source
    target_registry, proxy, recorder = target
    first = components[0]
    with _session() as registries:  # the first image, there by digest only, as an interrupted run can leave it
        copies = _copies(registries, registry.host, proxy.host, components[:1])
        Transfer(2).run([msgspec.structs.replace(copies[0], tags=())])
    recorder.clear()
    with _session() as registries:
        summary = Transfer(4).run(_copies(registries, registry.host, proxy.host, components))
    assert summary.images_failed == [] and summary.images == len(components)
    assert recorder.matching("HEAD", "/manifests/") == []
    assert {path.rsplit("/", 1)[1] for path in recorder.matching("HEAD", "/blobs/")} >= {
        blob.digest for blob in first.manifest.blobs()}  # checked, found present, not sent again
    assert summary.blobs_skipped == len(first.manifest.blobs())
    assert all(_tagged(target_registry, c.name) == c.digest for c in components)


def test_remirror_reads_and_puts_only_the_image_whose_tag_moved(source, target) -> None:
    registry, components = source
    target_registry, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    moved, other = components[0], components[1]
    _move_tag(target_registry, moved.name, other)
    recorder.clear()
    summary, read = _remirror_through_a_proxy(registry, proxy.host, components)
    assert summary.images_present == len(components) - 1
    assert read.matching("GET", "/manifests/") == [f"/v2/speed/content/manifests/{moved.digest}"]
    assert recorder.matching("PUT", "/manifests/") == [_tag_path(moved)]
    assert recorder.matching("HEAD", "/blobs/") == []  # its manifest is there by digest: so are its blobs
    assert _tagged(target_registry, moved.name) == moved.digest


def test_remirror_copies_an_image_one_of_whose_tags_is_missing(source, target) -> None:
    registry, components = source
    target_registry, proxy, recorder = target
    _mirror(registry.host, proxy.host, components)
    extra = components[3]
    recorder.clear()
    with _session() as registries:
        copies = _copies(registries, registry.host, proxy.host, components)
        copies[3] = msgspec.structs.replace(copies[3], tags=(extra.name, f"{extra.name}-again"))
        summary = Transfer(4).run(copies)
    assert summary.images_present == len(components) - 1
    assert sorted(recorder.matching("PUT", "/manifests/")) == sorted([_tag_path(extra), f"{_tag_path(extra)}-again"])
    assert _tagged(target_registry, f"{extra.name}-again") == extra.digest


def _disk_state(root: Path) -> dict[str, tuple[int, int, str]]:
    """Each path under v2/ with its inode, modification time and (for a symlink) target: a write changes one."""
    return {str(path.relative_to(root)): (path.lstat().st_ino, path.lstat().st_mtime_ns,
                                          os.readlink(path) if path.is_symlink() else "")
            for path in (root / "v2").rglob("*")}


def test_remirror_into_a_complete_directory_reads_nothing_from_the_source_and_writes_nothing(source, tmp_path) -> None:
    registry, components = source
    store = DiskStore(tmp_path)
    with _session() as registries:
        origin = Endpoint(RegistryStore(registries.client(registry.host)), "speed/content")
        Transfer(4).run([ImageCopy(c.name, origin, c.digest, Endpoint(store, "speed/mirror"), (c.name,)) for c in components])
    before = _disk_state(tmp_path)
    source_proxy = start_proxy(registry.host)
    read = Recorder()
    source_proxy.hooks.append(read)
    try:
        with _session() as registries:
            origin = Endpoint(RegistryStore(registries.client(source_proxy.host)), "speed/content")
            summary = Transfer(4).run([ImageCopy(c.name, origin, c.digest, Endpoint(DiskStore(tmp_path), "speed/mirror"),
                                                 (c.name,)) for c in components])
    finally:
        source_proxy.shutdown()
        source_proxy.server_close()
    assert summary.images_present == len(components) and summary.images_failed == []
    assert [request for request in read.requests if request[1] != "/v2/"] == []
    assert _disk_state(tmp_path) == before


def test_remirror_into_a_directory_puts_back_a_moved_tag_and_a_missing_one(source, tmp_path) -> None:
    registry, components = source
    store = DiskStore(tmp_path)
    moved, other, missing = components[0], components[1], components[2]

    def mirror(host: str) -> object:
        with _session() as registries:
            origin = Endpoint(RegistryStore(registries.client(host)), "speed/content")
            return Transfer(4).run([ImageCopy(c.name, origin, c.digest, Endpoint(DiskStore(tmp_path), "speed/mirror"),
                                              (c.name,)) for c in components])

    mirror(registry.host)
    tags = tmp_path / "v2/speed/mirror/manifests"
    (tags / moved.name).unlink()
    (tags / moved.name).symlink_to(other.digest)
    (tags / missing.name).unlink()
    source_proxy = start_proxy(registry.host)
    read = Recorder()
    source_proxy.hooks.append(read)
    try:
        summary = mirror(source_proxy.host)
    finally:
        source_proxy.shutdown()
        source_proxy.server_close()
    assert summary.images_present == len(components) - 2
    assert sorted(read.matching("GET", "/manifests/")) == sorted(
        f"/v2/speed/content/manifests/{c.digest}" for c in (moved, missing))
    assert store.tag_digest("speed/mirror", moved.name) == moved.digest
    assert store.tag_digest("speed/mirror", missing.name) == missing.digest


def test_remirror_puts_back_a_tag_moved_away_at_the_target(source, target) -> None:
    registry, components = source
    target_registry, proxy, _ = target
    _mirror(registry.host, proxy.host, components)
    moved, other = components[0], components[1]
    _move_tag(target_registry, moved.name, other)
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
    assert recorder.matching("PUT", "/manifests/") == [_tag_path(missing)]  # put under its tag only: and so by digest
    assert _tagged(target_registry, missing.name) == missing.digest
    with _session() as registries:
        assert registries.client(target_registry.host).head_manifest("speed/mirror", missing.digest).digest == missing.digest


@pytest.fixture(scope="module")
def proxied_release(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FaultProxyServer, list[str]]]:
    """A release built through a proxy (so every pullspec names it): its pullspec, the proxy, its components' digests."""
    registry = localregistry.start(tmp_path_factory.mktemp("speed-release"))
    proxy = start_proxy(registry.host)
    with _session() as registries:
        pullspec = build_sample_release(registries, proxy.host, "remirror", tmp_path_factory.mktemp("speed-stream"))
    digests_ = [tag.pullspec.rsplit("@", 1)[1] for tag in read_release(pullspec).payload.image_references.tags]
    yield pullspec, proxy, digests_
    proxy.shutdown()
    proxy.server_close()
    registry.remove()


@pytest.mark.parametrize("into", ["registry", "directory"])
def test_a_release_mirrored_again_reads_no_component_manifest_and_puts_nothing(proxied_release, target, tmp_path, into) -> None:
    release, source_proxy, components = proxied_release
    _, proxy, recorder = target
    where = ("--to", f"{proxy.host}/speed/okd") if into == "registry" else ("--to-dir", str(tmp_path / "mirror"))
    first = run_cli("mirror", "--insecure", "--from", release, *where, "-o", "json")
    assert first.returncode == 0, first.stderr
    read = Recorder()
    source_proxy.hooks.append(read)
    recorder.clear()
    try:
        again = run_cli("mirror", "--insecure", "--from", release, *where, "-o", "json")
    finally:
        source_proxy.hooks.remove(read)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["imagesPresent"] == summary["images"] == len(components) + 1 and summary["blobsCopied"] == 0
    # of the source, only the release is read: its manifest once, then its config and payload
    assert read.matching("GET", "/manifests/") == [f"/v2/remirror/release/manifests/{release.rsplit('@', 1)[1]}"]
    assert read.matching("PUT", "/") == []
    if into == "registry":  # one HEAD per tag: each component's and the release's
        asked = [request for request in recorder.requests if request[1] != "/v2/"]
        listed = [request for request in asked if request[0] == "GET"]  # the target's tags, listed once
        assert [path for _, path in listed] == ["/v2/speed/okd/tags/list"]
        heads = [request for request in asked if request not in listed]
        assert len(heads) == len(components) + 1 and {method for method, _ in heads} == {"HEAD"}
        assert all("/manifests/" in path and "sha256:" not in path for _, path in heads)
    told = run_cli("mirror", "--insecure", "--from", release, *where)
    assert told.returncode == 0, told.stderr
    assert f"info: mirrored {len(components) + 1} images ({len(components) + 1} already complete) in " in told.stderr


@pytest.mark.parametrize("kind", ["disk", "oci"])
def test_a_directory_tells_the_digest_a_tag_names_only_when_that_manifest_is_there(source, tmp_path, kind) -> None:
    _, components = source
    first, second = components[0], components[1]
    store: DiskStore | OciLayout = DiskStore(tmp_path) if kind == "disk" else OciLayout(tmp_path)
    store.put_manifest("speed/mirror", "v1", first.manifest.raw)
    assert store.tag_digest("speed/mirror", "v1") == first.digest
    assert store.tag_digest("speed/mirror", "v2") is None
    store.put_manifest("speed/mirror", "v1", second.manifest.raw)  # moved: read again, not from what was read
    assert store.tag_digest("speed/mirror", "v1") == second.digest
    manifest = tmp_path / ("v2/speed/mirror/manifests" if kind == "disk" else "blobs/sha256") / (
        second.digest if kind == "disk" else second.digest.split(":", 1)[1])
    manifest.unlink()
    assert store.tag_digest("speed/mirror", "v1") is None  # a tag naming a manifest that is not there


def test_a_tag_written_as_a_copy_of_its_manifest_names_the_digest_of_that_copy(source, tmp_path) -> None:
    _, components = source
    store = DiskStore(tmp_path)
    store.put_manifest("speed/mirror", components[0].digest, components[0].manifest.raw)
    (tmp_path / "v2/speed/mirror/manifests/v1").write_bytes(components[0].manifest.raw.data)  # older okd-release
    assert store.tag_digest("speed/mirror", "v1") == components[0].digest


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


# -- a bounded window of images --------------------------------------------------------------------------
def test_no_more_images_than_the_window_are_read_while_their_blobs_are_held(source, target) -> None:
    registry, components = source
    _, proxy, _ = target
    source_proxy = start_proxy(registry.host)
    read = Recorder()
    held = PauseAfter(0, lambda handler: handler.command == "GET" and "/blobs/" in handler.path)
    source_proxy.hooks[:] = [read, held]  # every request noted; every blob download held until released
    outcome: list[object] = []

    def run() -> None:
        try:
            with _session() as registries:
                outcome.append(Transfer(4, window=2).run(_copies(registries, source_proxy.host, proxy.host, components)))
        except BaseException as error:  # noqa: BLE001 - reported by the test thread
            outcome.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert held.paused.wait(30)
        time.sleep(0.5)  # time enough for a third image to be read, were it started
        assert len(read.matching("GET", "/manifests/")) == 2
    finally:
        held.release()
        worker.join(60)
        source_proxy.shutdown()
        source_proxy.server_close()
    summary = outcome[0]
    assert isinstance(summary, TransferSummary) and summary.images_failed == []
    assert sorted(read.matching("GET", "/manifests/")) == sorted(f"/v2/speed/content/manifests/{c.digest}" for c in components)


def test_copies_made_as_they_are_asked_for_are_held_no_longer_than_the_window_holds_them(source, target) -> None:
    """A collection that makes its copies as it is iterated (a mirror plan's): the transfer takes each in
    when the window has room and keeps none it is done with, so no more than the window's are ever alive."""
    registry, components = source
    target_registry, proxy, _ = target
    alive: set[int] = set()
    seen: list[int] = []  # how many copies were alive as each new one was asked for

    class TrackedCopy(ImageCopy, frozen=True, weakref=True):  # a copy that can be watched for being freed
        pass

    class Made:
        def __init__(self, registries: Registries) -> None:
            self.origin = Endpoint(RegistryStore(registries.client(registry.host)), "speed/content")
            self.mirror = Endpoint(RegistryStore(registries.client(proxy.host)), "speed/lazy")

        def __len__(self) -> int:
            return len(components)

        def __iter__(self) -> Iterator[ImageCopy]:
            for number, component in enumerate(components):
                gc.collect()  # what is garbage is not held (a caught error's frames can form a cycle)
                seen.append(len(alive))
                copy = TrackedCopy(component.name, self.origin, component.digest, self.mirror, (component.name,))
                alive.add(number)
                weakref.finalize(copy, alive.discard, number)
                yield copy
                del copy

    with _session() as registries:
        summary = Transfer(4, window=2, keep_digests=False).run(Made(registries))
    assert summary.images == len(components) and summary.images_failed == []
    assert summary.digests == {}  # nothing kept per image, when asked not to
    assert len(seen) == 2 * len(components)  # counted once for its targets, then taken in one at a time
    assert max(seen) <= 3  # the window's two, and one whose worker is still returning from its last push
    with _session() as registries:
        client = registries.client(target_registry.host)
        assert all(client.head_manifest("speed/lazy", c.name).digest == c.digest for c in components)


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
    assert len(ports) == 4  # one HEAD per thread (--insecure's TLS attempt, answered with plain HTTP, is no request)
    assert len(set(ports)) == 1


# -- start-up ------------------------------------------------------------------------------------------
def test_info_loads_neither_rich_nor_the_mirror_engine() -> None:
    probe = ("import sys, okd_release.cli.info; "
             "print(sorted({m.split('.')[0] if m.startswith('rich') else m for m in sys.modules "
             "if m.startswith(('rich', 'okd_release.transfer', 'okd_release.testing', 'pygments'))}))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
