"""The in-process CLI runner the tests use: backoff recorded not slept, and no state left for the next run."""

from __future__ import annotations

import logging
import time

from tests.conftest import run_cli
from tests.faultproxy import FaultPlan


def test_backoff_is_recorded_not_slept_and_the_retry_count_does_not_carry_over(registry, fault_proxy) -> None:
    proxy = fault_proxy(registry.host, FaultPlan(rate=1.0, faults=("error",)))
    started = time.monotonic()
    failing = run_cli("image", "info", "--insecure", f"{proxy.host}/okd/none:v1")
    elapsed = time.monotonic() - started
    assert failing.returncode != 0 and "gave up after 6 attempts" in failing.stderr
    assert len(failing.sleeps) >= 5 and elapsed < sum(failing.sleeps)
    assert "transient failures were retried" in failing.stderr
    proxy.use(FaultPlan(rate=0.0))
    clean = run_cli("image", "info", "--insecure", f"{proxy.host}/okd/none:v1")
    assert clean.stderr == f"error: image {proxy.host}/okd/none:v1 not found\n" and clean.sleeps == []


def test_loglevel_of_one_run_does_not_leak_into_the_next(registry) -> None:
    transport = logging.getLogger("okd_release.registry.transport")
    assert not transport.isEnabledFor(logging.DEBUG)
    verbose = run_cli("image", "info", "--insecure", "--loglevel", "8", f"{registry.host}/okd/none:v1")
    assert "DEBUG okd_release" in verbose.stderr
    assert not transport.isEnabledFor(logging.DEBUG)
    quiet = run_cli("image", "info", "--insecure", f"{registry.host}/okd/none:v1")
    assert quiet.stderr == f"error: image {registry.host}/okd/none:v1 not found\n"
