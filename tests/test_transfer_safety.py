"""The copy engine under stress: Ctrl-C, retried streams, concurrent transfers, partial sources, full disks."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from okd_release import transfer as transfer_module
from okd_release.image.disk import DiskStore
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.registry.options import RetryPolicy
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.transfer import Endpoint, ImageCopy, TargetUnwritable, Transfer
from tests.conftest import invoke_main, run_cli, skopeo
from tests.faultproxy import FaultPlan, FaultProxyServer, ProxyHandler, start_proxy
from tests.occupancy import Occupancy
from tests.release_helpers import build_sample_release, read_release

LAYER_MB = 4  # more than twice the 1 MiB read chunk: a stream cut in half has already passed bytes on


# -- fixtures and helpers ------------------------------------------------------------------------------
class ProxiedRelease:
    def __init__(self, proxy: FaultProxyServer, registry: localregistry.LocalRegistry, pullspec: str) -> None:
        self.proxy, self.registry, self.pullspec = proxy, registry, pullspec
        payload = read_release(pullspec).payload  # read now: a test's faults must meet only what it sends itself
        self.version, self.tags = payload.version, payload.image_references.tags


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory, plain_registries_module: Registries) -> Iterator[ProxiedRelease]:
    """A release with 4 MiB component layers, pushed through a fault proxy, so every pullspec names the proxy."""
    registry = localregistry.start(tmp_path_factory.mktemp("safety-source"))
    proxy = start_proxy(registry.host, FaultPlan(rate=0.0))
    pullspec = build_sample_release(plain_registries_module, proxy.host, "safe", tmp_path_factory.mktemp("safety"),
                                    layer_mb=LAYER_MB)
    yield ProxiedRelease(proxy, registry, pullspec)
    proxy.shutdown()
    proxy.server_close()
    registry.remove()


@pytest.fixture
def clean_proxy(proxied: ProxiedRelease) -> Iterator[FaultProxyServer]:
    """The release's proxy, handed to a test and returned to passing everything through afterwards."""
    yield proxied.proxy
    proxied.proxy.plan = FaultPlan(rate=0.0)
    proxied.proxy.hooks.clear()


def _session() -> Registries:
    return Registries(RegistryOptions(insecure=True), CredentialStore())


def _is_blob_get(method: str, path: str) -> bool:
    return method == "GET" and "/blobs/sha256:" in path


def drop_each_blob_once(proxy: FaultProxyServer) -> set[str]:
    """Cut every blob download off halfway, the first time only; returns the set of blobs cut so far."""
    cut: set[str] = set()
    lock = threading.Lock()

    def hook(handler: ProxyHandler) -> bool:
        if not _is_blob_get(handler.command, handler.path):
            return False
        with lock:
            if handler.path in cut:
                return False
            cut.add(handler.path)
        handler.forward("drop")
        return True

    proxy.hooks.append(hook)
    return cut


def _component_copies(registries: Registries, release: ProxiedRelease, target: Endpoint, count: int) -> list[ImageCopy]:
    source = Endpoint(RegistryStore(registries.client(release.proxy.host)), "safe/content")
    return [ImageCopy(tag.name, source, tag.pullspec.split("@", 1)[1], target, (tag.name,))
            for tag in release.tags[:count]]


class RecordingProgress:
    """Sums the bytes reported, and remembers the highest running total."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total_bytes = 0
        self.reported = 0
        self.highest = 0

    def planned(self, images: int, blobs: int, total_bytes: int) -> None:
        self.total_bytes = total_bytes

    def transferred(self, count: int) -> None:
        with self._lock:
            self.reported += count
            self.highest = max(self.highest, self.reported)

    def blob_done(self, digest: str, size: int, outcome: str) -> None:
        pass

    def image_done(self, name: str, ok: bool) -> None:
        pass


def _registry_blobs(registry: localregistry.LocalRegistry) -> int:
    root = registry.storage / "docker/registry/v2/blobs/sha256"
    return sum(1 for _ in root.glob("*/*/data")) if root.exists() else 0


def _start_mirror(*args: str) -> subprocess.Popen[str]:
    # SIGINT as a terminal sends it: restored to the default in the child, whatever the test runner ignores.
    return subprocess.Popen(
        [sys.executable, "-m", "okd_release", "mirror", "--insecure", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "HOME": "/nonexistent"},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _interrupt_when(process: subprocess.Popen[str], ready, timeout: float = 60) -> tuple[float, str]:
    """Send SIGINT once `ready()`; the seconds the process took to exit after it, and its stderr."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, "the mirror finished before it could be interrupted"
        assert time.monotonic() < deadline, "the mirror never got going"
        time.sleep(0.01)
    assert process.poll() is None, "the mirror finished before it could be interrupted"
    process.send_signal(signal.SIGINT)
    sent = time.monotonic()
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("the mirror was still running 60s after Ctrl-C") from None
    return time.monotonic() - sent, stderr


def _throttle_blob_downloads(proxy: FaultProxyServer) -> None:
    # 2 MiB/s per download: a 4 MiB layer takes 2s, the whole release (6 at a time) well over 3s more
    proxy.plan = FaultPlan(rate=1.0, faults=("throttle",), throttle_bytes_per_second=2 * 1024 * 1024, only=_is_blob_get)


# -- 1. Ctrl-C ---------------------------------------------------------------------------------------------
def test_ctrl_c_mid_mirror_exits_130_within_seconds_and_a_rerun_completes(proxied, clean_proxy, second_registry) -> None:
    target = f"{second_registry.host}/interrupted/okd"
    _throttle_blob_downloads(clean_proxy)
    process = _start_mirror("--from", proxied.pullspec, "--to", target)
    # the small blobs (configs, base layer) land first; the 4 MiB layers are then mid-copy
    took, stderr = _interrupt_when(process, lambda: _registry_blobs(second_registry) >= 3)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["error: interrupted"]
    assert took < 3.0, f"exit took {took:.1f}s after Ctrl-C"
    release_tag = f"{target}:{proxied.version}-x86_64"
    assert skopeo("inspect", "--tls-verify=false", f"docker://{release_tag}", check=False).returncode != 0
    clean_proxy.plan = FaultPlan(rate=0.0)
    rerun = run_cli("mirror", "--insecure", "--from", proxied.pullspec, "--to", target, "-o", "json")
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["blobsSkipped"] >= 3 and summary["blobsCopied"] + summary["blobsSkipped"] == summary["blobsTotal"]
    assert read_release(release_tag).digest == proxied.pullspec.split("@", 1)[1]
    for image in proxied.tags:
        inspected = json.loads(skopeo("inspect", "--tls-verify=false",
                                      f"docker://{target}:{proxied.version}-x86_64-{image.name}").stdout)
        assert inspected["Digest"] == image.pullspec.split("@", 1)[1]


def test_ctrl_c_mid_disk_mirror_leaves_no_partial_file_and_no_index(proxied, clean_proxy, tmp_path) -> None:
    disk = tmp_path / "mirror"
    blobs = disk / "v2/openshift/release/blobs"
    _throttle_blob_downloads(clean_proxy)
    process = _start_mirror("--from", proxied.pullspec, "--to-dir", str(disk))
    took, stderr = _interrupt_when(
        process, lambda: blobs.exists() and sum(1 for p in blobs.iterdir() if not p.name.startswith(".")) >= 3)
    assert process.returncode == 130 and stderr.strip().splitlines() == ["error: interrupted"]
    assert took < 3.0, f"exit took {took:.1f}s after Ctrl-C"
    assert not (disk / "okd-release-mirror.json").exists()
    assert [p.name for p in disk.rglob(".partial-*")] == []  # interrupted writes were removed, not left behind
    for blob in blobs.iterdir():
        assert "sha256:" + hashlib.sha256(blob.read_bytes()).hexdigest() == blob.name
    clean_proxy.plan = FaultPlan(rate=0.0)
    rerun = run_cli("mirror", "--insecure", "--from", proxied.pullspec, "--to-dir", str(disk), "-o", "json")
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads((disk / "okd-release-mirror.json").read_text())["digest"] == proxied.pullspec.split("@", 1)[1]


# -- 2. per-store slots ----------------------------------------------------------------------------------
def test_a_store_never_has_more_than_max_per_registry_operations_even_when_the_first_arrive_together(
        monkeypatch, tmp_path) -> None:
    class SlowSemaphore(threading.Semaphore):
        """Slow to make, so that threads arriving together would each make one if nothing stopped them."""

        def __init__(self, value: int = 1) -> None:
            time.sleep(0.05)
            super().__init__(value)

    monkeypatch.setattr(threading, "Semaphore", SlowSemaphore)
    transfer = Transfer(max_per_registry=2)
    store = DiskStore(tmp_path)
    start = threading.Barrier(8)
    occupancy = Occupancy()

    def operate() -> None:
        start.wait()
        with transfer._limit(store):
            occupancy.stay(0.1)

    threads = [threading.Thread(target=operate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert occupancy.highest == 2


# -- 3. retries counted per session --------------------------------------------------------------------------
def test_a_transfer_counts_only_its_own_retries_while_another_runs_inside_it(proxied, clean_proxy, tmp_path) -> None:
    cut = drop_each_blob_once(clean_proxy)
    instant = RetryPolicy(sleep=lambda seconds: None)
    inner_summary = []

    class RunsAnotherTransfer(RecordingProgress):
        def planned(self, images: int, blobs: int, total_bytes: int) -> None:
            with _session() as faulty:  # a second session whose downloads all get cut once
                inner = Transfer(retry=instant, retries=faulty.retries)
                inner_summary.append(inner.run(_component_copies(faulty, proxied, Endpoint(DiskStore(tmp_path / "in"), "x"), 2)))

    with _session() as clean:
        source = Endpoint(RegistryStore(clean.client(proxied.registry.host)), "safe/content")  # no proxy: no faults
        tag = proxied.tags[2]
        outer = Transfer(progress=RunsAnotherTransfer(), retry=instant, retries=clean.retries)
        summary = outer.run([ImageCopy(tag.name, source, tag.pullspec.split("@", 1)[1],
                                       Endpoint(DiskStore(tmp_path / "out"), "x"))])
    assert inner_summary[0].retries == inner_summary[0].blobs_copied == len(cut) > 0
    assert summary.retries == 0


def test_each_command_reports_only_its_own_retries(proxied, clean_proxy) -> None:
    failed: list[str] = []

    def fail_first_two(handler: ProxyHandler) -> bool:
        if len(failed) >= 2 or "/manifests/" not in handler.path:
            return False
        failed.append(handler.path)
        handler.read_body()
        handler.answer(503, b'{"errors":[{"code":"UNAVAILABLE"}]}')
        return True

    clean_proxy.hooks.append(fail_first_two)
    env: dict[str, str | None] = {"HOME": "/nonexistent", "REGISTRY_AUTH_FILE": None, "XDG_RUNTIME_DIR": None}
    code, _, stderr = invoke_main(["info", "--insecure", "-o", "json", proxied.pullspec], env=env)
    assert code == 0, stderr
    assert "info: 2 transient failures were retried" in stderr
    direct = proxied.pullspec.replace(proxied.proxy.host, proxied.registry.host)
    code, _, stderr = invoke_main(["info", "--insecure", "-o", "json", direct], env=env)
    assert code == 0, stderr
    assert "retried" not in stderr


# -- 4. and 5. retried streams: progress and waits -----------------------------------------------------------
def test_bytes_of_a_cut_download_are_taken_back_so_progress_adds_up_to_the_blobs(proxied, clean_proxy, tmp_path) -> None:
    cut = drop_each_blob_once(clean_proxy)
    progress = RecordingProgress()
    with _session() as registries:
        copies = _component_copies(registries, proxied, Endpoint(DiskStore(tmp_path), "copied"), 3)
        summary = Transfer(progress=progress, retry=RetryPolicy(sleep=lambda seconds: None)).run(copies)
    assert summary.retries == summary.blobs_copied == len(cut) > 0  # every blob was cut once and redone
    assert summary.bytes_copied == summary.bytes_total == progress.total_bytes > 3 * LAYER_MB * 1024 * 1024
    assert progress.reported == summary.bytes_total
    assert progress.highest <= summary.bytes_total


def test_transfer_retries_wait_the_jittered_backoff_through_the_policy_sleep(proxied, clean_proxy, tmp_path) -> None:
    cut = drop_each_blob_once(clean_proxy)
    slept: list[float] = []
    # every retry's ceiling is 4s; a random draw of 0 gives the lowest jittered wait, half of it
    policy = RetryPolicy(base_delay=4.0, max_delay=4.0, random=lambda: 0.0, sleep=slept.append)
    started = time.monotonic()
    with _session() as registries:
        copies = _component_copies(registries, proxied, Endpoint(DiskStore(tmp_path), "copied"), 2)
        summary = Transfer(retry=policy).run(copies)
    assert summary.retries == len(cut) > 0
    assert sum(slept) == pytest.approx(2.0 * summary.retries)
    assert max(slept) <= transfer_module.PAUSE_STEP  # in steps, so that Ctrl-C does not wait a whole backoff out
    assert time.monotonic() - started < 2.0 * summary.retries  # nothing slept for real


# -- 6. the release tag last ---------------------------------------------------------------------------
def test_upload_from_dir_with_a_missing_blob_fails_and_pushes_no_release_tag(sample_release, second_registry,
                                                                                tmp_path) -> None:
    disk = tmp_path / "mirror"
    written = run_cli("mirror", "--insecure", "--from", sample_release.release, "--to-dir", str(disk))
    assert written.returncode == 0, written.stderr
    repository = disk / "v2/openshift/release"
    component = read_release(sample_release.release).payload.image_references.tags[0].name
    manifest = json.loads((repository / f"manifests/{sample_release.version}-x86_64-{component}").read_bytes())
    release_manifest = json.loads((repository / f"manifests/{sample_release.version}-x86_64").read_bytes())
    release_blobs = {layer["digest"] for layer in release_manifest["layers"]}
    missing = next(layer["digest"] for layer in reversed(manifest["layers"]) if layer["digest"] not in release_blobs)
    (repository / "blobs" / missing).unlink()
    target = f"{second_registry.host}/partial/okd"
    upload = run_cli("mirror", "--insecure", "--from-dir", str(disk), "--to", target)
    assert upload.returncode == 1
    errors = [line for line in upload.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and missing in errors[0] and "Traceback" not in upload.stderr, upload.stderr
    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{target}").stdout)["Tags"]
    assert f"{sample_release.version}-x86_64" not in tags
    assert f"{sample_release.version}-x86_64-{component}" not in tags
    assert len(tags) > 0  # the complete components were pushed: a rerun after a fix copies only the rest


# -- 7. a target that cannot be written ----------------------------------------------------------------------
@pytest.fixture
def small_filesystem(tmp_path) -> Iterator[Path]:
    """A real 6 MiB tmpfs: fills up partway through a release with 4 MiB layers."""
    mountpoint = tmp_path / "small"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=True)


def test_a_full_disk_ends_the_transfer_at_once_with_one_error(proxied, small_filesystem) -> None:
    # `mirror --to-dir` checks the free space before it starts (tests/test_network.py); a disk that fills up
    # anyway (another writer) is what the engine meets here: one error at once, no retry, nothing half-written.
    disk = small_filesystem / "mirror"
    slept: list[float] = []
    with _session() as registries:
        copies = _component_copies(registries, proxied, Endpoint(DiskStore(disk), "openshift/release"), 16)
        with pytest.raises(TargetUnwritable, match=r"^no space left on device writing blob sha256:") as raised:
            Transfer(retry=RetryPolicy(sleep=slept.append)).run(copies)
    assert f"to file://openshift/release in {disk}" in str(raised.value)
    assert len(str(raised.value).splitlines()) == 1
    assert slept == []
    assert [p.name for p in disk.rglob(".partial-*")] == []


def test_a_read_only_target_is_not_retried(proxied, tmp_path) -> None:
    mountpoint = tmp_path / "readonly"
    mountpoint.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(mountpoint)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    slept: list[float] = []
    try:
        with _session() as registries:
            copies = _component_copies(registries, proxied, Endpoint(DiskStore(mountpoint), "copied"), 3)
            with pytest.raises(TargetUnwritable, match=r"^read-only file system writing (blob|manifest) sha256:"):
                Transfer(retry=RetryPolicy(sleep=slept.append)).run(copies)
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=True)
    assert slept == []
