"""Faults between us and a real registry: transient errors are retried, permanent ones end cleanly."""

from __future__ import annotations

import json
import time

import pytest

from okd_release.registry.options import RetryPolicy
from okd_release.testing import localregistry
from tests.conftest import run_cli
from tests.faultproxy import FaultPlan, start_proxy
from tests.release_helpers import build_sample_release, read_release


@pytest.fixture(scope="module")
def proxied_release(tmp_path_factory, plain_registries_module):
    """A sample and release pushed through a proxy, so every pullspec in it names the proxy."""
    registry = localregistry.start(tmp_path_factory.mktemp("faulty-source"))
    proxy = start_proxy(registry.host, FaultPlan(rate=0.0, seed=7))
    release = build_sample_release(plain_registries_module, proxy.host, "okd", tmp_path_factory.mktemp("faulty"),
                                   layer_mb=1)
    yield proxy, release, registry
    proxy.shutdown()
    proxy.server_close()
    registry.remove()


@pytest.fixture
def faulty(proxied_release):
    """The proxied release with no faults and no hooks at the start of each test, whatever the last one set."""
    proxy, release, registry = proxied_release
    proxy.use(FaultPlan(rate=0.0))
    proxy.hooks.clear()
    yield proxy, release, registry
    proxy.use(FaultPlan(rate=0.0))
    proxy.hooks.clear()


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_commands_complete_through_faults_with_the_same_results(faulty, second_registry, fault_proxy,
                                                                 tmp_path, rate: float) -> None:
    proxy, release, _ = faulty
    clean_info = run_cli("info", "--insecure", "-o", "json", release).stdout
    clean_install = tmp_path / "clean"
    assert run_cli("extract", "--insecure", release, "--command", "openshift-install", "--command-os", "linux",
                   "--to", str(clean_install)).returncode == 0
    proxy.use(FaultPlan(rate=rate, seed=42))
    target_proxy = fault_proxy(second_registry.host, FaultPlan(rate=rate, seed=99))
    started = time.monotonic()
    info = run_cli("info", "--insecure", "-o", "json", release)
    assert info.returncode == 0, info.stderr
    assert json.loads(info.stdout) == json.loads(clean_info)
    rebuilt = run_cli("new", "--insecure", "--from-release", release, "--dry-run")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.split()[0] == release.split("@")[1]
    extracted = run_cli("extract", "--insecure", release, "--command", "openshift-install", "--command-os", "linux",
                        "--to", str(tmp_path / "faulty"))
    assert extracted.returncode == 0, extracted.stderr
    assert (tmp_path / "faulty/openshift-install").read_bytes() == (clean_install / "openshift-install").read_bytes()
    mirrored = run_cli("mirror", "--insecure", "--from", release, "--to", f"{target_proxy.host}/mirror/okd", "-o", "json")
    assert mirrored.returncode == 0, mirrored.stderr
    summary = json.loads(mirrored.stdout)
    assert summary["imagesFailed"] == [] and summary["blobsCopied"] == summary["blobsTotal"]
    assert summary["retries"] > 0
    faults = sum(proxy.plan.counts.values()) + sum(target_proxy.plan.counts.values())
    assert faults > 0
    version = read_release(release).payload.version
    copy = read_release(f"{second_registry.host}/mirror/okd:{version}-x86_64")
    assert copy.digest == release.split("@")[1]
    print(f"fault rate {rate}: {faults} faults injected {dict(proxy.plan.counts + target_proxy.plan.counts)}, "
          f"mirror retried {summary['retries']} times, all commands {time.monotonic() - started:.1f}s")


def test_every_request_failing_gives_up_in_bounded_time(faulty) -> None:
    proxy, release, _ = faulty
    proxy.use(FaultPlan(rate=1.0, faults=("error", "drop")))
    result = run_cli("info", "--insecure", release)
    assert result.returncode != 0
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "gave up after 6 attempts" in error_lines[0]
    assert "Traceback" not in result.stderr
    # the waits it would have slept (recorded, not slept): each within the policy's cap, and bounded in all
    assert result.sleeps and max(result.sleeps) <= RetryPolicy().max_delay
    assert sum(result.sleeps) < 60
