"""Shared parts of the benchmarks: registries, samples, timing and peak memory of child processes."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.testing.sample import push_sample, write_image_stream

ENV = {**os.environ, "HOME": "/nonexistent"}


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_rss_mb: float


def registries() -> Registries:
    return Registries(RegistryOptions(insecure=True), CredentialStore())


def start_registry(prefix: str) -> localregistry.LocalRegistry:
    return localregistry.start(Path(tempfile.mkdtemp(prefix=f"okd-bench-{prefix}-")))


def run_measured(argv: list[str]) -> tuple[Measured, str]:
    """Run a child process to completion; its wall time, its own peak RSS, and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=ENV)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {err.read().decode(errors='replace')[-2000:]}")
        return Measured(seconds, usage.ru_maxrss / 1024), out.read().decode()


def okd_release(*args: str) -> tuple[Measured, str]:
    return run_measured([sys.executable, "-m", "okd_release", *args])


def timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def make_release(registry: localregistry.LocalRegistry, images: int, layer_mb: int, work: Path) -> str:
    """Push a sample with `images` images and build its release; the release pullspec by digest."""
    with registries() as regs:
        sample = push_sample(RegistryStore(regs.client(registry.host)), "bench/content", images, layer_mb, workers=4)
    stream = work / f"stream-{images}.json"
    write_image_stream(sample.stream, stream)
    _, out = okd_release("new", "--insecure", "-f", str(stream), "--to-image", f"{registry.host}/bench/release:{images}")
    return out.strip()


def parallel(items: list, fn: Callable, workers: int) -> list:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "n/a"
