"""Shared parts of the benchmarks: registries, the sample release, and measuring child processes.

Every contender runs as a child process started by a tiny launcher (`python3 -S`, a few MB), so that its
peak RSS is its own (a forked child's ru_maxrss starts at its parent's size) and its CPU time is read
from wait4 whatever language it is written in.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.stores import RegistryStore
from okd_release.testing import localregistry
from okd_release.testing.sample import push_sample, write_image_stream

# No credentials of the user's: no home, no auth files (every registry here is anonymous). Bytecode is written
# and reused, as an installed package has it: with PYTHONDONTWRITEBYTECODE set, every run would compile the
# project's modules again (about 0.25 CPU s, which no user pays).
ENV = {**{k: v for k, v in os.environ.items()
          if k not in ("REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "DOCKER_CONFIG", "PYTHONDONTWRITEBYTECODE")},
       "HOME": "/nonexistent"}
OKD_RELEASE = [sys.executable, "-m", "okd_release"]
VERSION = "4.15.0-0.okd-sample"

# Runs argv[2:], writes {"seconds", "cpu", "rss_mb", "status"} to argv[1]; its stdout and stderr are the child's.
_LAUNCHER = """
import json, os, sys, time
started = time.monotonic()
pid = os.fork()
if pid == 0:
    try:
        os.execvpe(sys.argv[2], sys.argv[2:], os.environ)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": time.monotonic() - started, "cpu": usage.ru_utime + usage.ru_stime,
               "rss_mb": usage.ru_maxrss / 1024, "status": os.waitstatus_to_exitcode(status)}, report)
"""


@dataclass(frozen=True)
class Measured:
    seconds: float
    cpu: float
    rss_mb: float


def run_measured(argv: Sequence[str], cwd: Path | None = None, src: str | None = None,
                 env: dict[str, str] | None = None) -> tuple[Measured, str]:
    """Run a child process to completion: its wall time, CPU seconds, peak RSS, and its stdout.

    `src`: a copy of the project's src/ directory to run instead of the installed one (a "before" tree);
    `env`: variables added to the environment."""
    environment = {**ENV, **(env or {}), **({"PYTHONPATH": src} if src else {})}
    with tempfile.NamedTemporaryFile("r", suffix=".json") as report, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:
        subprocess.run(["/usr/bin/python3", "-S", "-c", _LAUNCHER, report.name, *argv], stdout=out, stderr=err,
                       env=environment, cwd=cwd, check=False)
        result = json.load(report)
        out.seek(0)
        err.seek(0)
        if result["status"] != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {err.read().decode(errors='replace')[-2000:]}")
        return Measured(result["seconds"], result["cpu"], result["rss_mb"]), out.read().decode()


def okd_release(*args: str, cwd: Path | None = None, src: str | None = None,
                env: dict[str, str] | None = None) -> tuple[Measured, str]:
    return run_measured([*OKD_RELEASE, *args], cwd, src, env)


def registries() -> Registries:
    return Registries(RegistryOptions(insecure=True), CredentialStore())


def start_registry(prefix: str) -> localregistry.LocalRegistry:
    return localregistry.start(Path(tempfile.mkdtemp(prefix=f"okd-bench-{prefix}-")))


@dataclass(frozen=True)
class Release:
    pullspec: str  # by digest
    stream: Path  # the ImageStream it was built from
    images: list[tuple[str, str, str]]  # (repository, digest, name) of the release and every component


def make_release(registry: localregistry.LocalRegistry, images: int, layer_mb: int, work: Path,
                 workers: int = 4) -> Release:
    """Push a sample with `images` images and build its release with `okd-release new`."""
    with registries() as regs:
        sample = push_sample(RegistryStore(regs.client(registry.host)), "bench/content", images, layer_mb,
                             workers=workers, version=VERSION)
    stream = work / f"stream-{images}.json"
    write_image_stream(sample.stream, stream)
    okd_release("new", "--insecure", "-f", str(stream), "--name", VERSION, "--to-image",
                f"{registry.host}/bench/release:{VERSION}")
    with registries() as regs:
        pushed = regs.client(registry.host).head_manifest("bench/release", VERSION)
    assert pushed is not None and pushed.digest
    pullspec = f"{registry.host}/bench/release@{pushed.digest}"
    found = [("bench/release", pushed.digest, "release")]
    for tag in json.loads(stream.read_text())["spec"]["tags"]:
        repository, digest = tag["from"]["name"].split("/", 1)[1].split("@")
        found.append((repository, digest, tag["name"]))
    return Release(pullspec, stream, found)


@dataclass
class Series:
    """One contender's measurements across rounds."""

    name: str
    runs: list[Measured]

    @property
    def seconds(self) -> float:
        return statistics.median(m.seconds for m in self.runs)

    @property
    def cpu(self) -> float:
        return statistics.median(m.cpu for m in self.runs)

    @property
    def rss_mb(self) -> float:
        return max(m.rss_mb for m in self.runs)

    def spread(self) -> str:
        """min-max of the wall times, and that range as a share of the median (how noisy the rounds were)."""
        times = [m.seconds for m in self.runs]
        return f"{min(times):.2f}-{max(times):.2f}s (±{(max(times) - min(times)) / 2 / self.seconds:.0%})"

    def __str__(self) -> str:
        return f"{self.seconds:.3f}s"


def balanced_orders(count: int) -> list[list[int]]:
    """Orders of `count` contenders in which each follows every other equally often (a Williams design: `count`
    orders when even, twice that when odd). A contender pays for what the one before it left behind (a
    1.3 GB fresh mirror leaves the disk busy), so no contender may always follow the same one, as it does
    when one order is rotated."""
    first, low, high = [0], 1, count - 1  # 0, 1, n-1, 2, n-2, ...: then each order is the first shifted
    while len(first) < count:
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    orders = [[(index + shift) % count for index in first] for shift in range(count)]
    return orders + [order[::-1] for order in orders] if count % 2 else orders


def interleaved(contenders: dict[str, Callable[[], Measured]], rounds: int) -> dict[str, Series]:
    """Each contender once per round, the rounds' orders balanced (`balanced_orders`), so that slow drift in
    the machine's load, and what one contender leaves for the next, fall on all of them alike; the medians are
    compared. Before each run the disk is synced (not timed): a run starts with no other run's writes pending."""
    series = {name: Series(name, []) for name in contenders}
    names = list(contenders)
    orders = balanced_orders(len(names))
    for round_ in range(rounds):
        for name in (names[index] for index in orders[round_ % len(orders)]):
            os.sync()
            measured = contenders[name]()
            series[name].runs.append(measured)
            print(f"  round {round_ + 1}/{rounds} {name:30} {measured.seconds:7.3f}s  cpu {measured.cpu:6.2f}s  "
                  f"rss {measured.rss_mb:6.1f} MB", file=sys.stderr, flush=True)
    return series


def timed(fn: Callable[[], object]) -> float:
    started = time.monotonic()
    fn()
    return time.monotonic() - started


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}x" if reference else "n/a"


def paired(series: Series, reference: Series) -> str:
    """The median over the rounds of each round's ratio (the two ran in the same round, a few seconds apart):
    load that drifts from round to round falls on both sides of each ratio, where the ratio of the medians
    takes each side's median from different rounds."""
    ratios = [mine.seconds / theirs.seconds for mine, theirs in zip(series.runs, reference.runs, strict=True)
              if theirs.seconds]
    return f"{statistics.median(ratios):.3f}x" if ratios else "n/a"
