"""The retry policy: exponential backoff, and Retry-After (seconds or an HTTP date) when the registry gives it."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest

from okd_release.errors import TransientRegistryError
from okd_release.registry.options import RetryPolicy
from okd_release.registry.retry import parse_retry_after, with_retries


def test_backoff_doubles_up_to_a_cap_and_retry_after_wins() -> None:
    policy = RetryPolicy(base_delay=0.25, max_delay=2.0, max_retry_after=30)
    assert [policy.delay(n) for n in range(5)] == [0.25, 0.5, 1.0, 2.0, 2.0]
    assert policy.delay(0, retry_after=7) == 7
    assert policy.delay(0, retry_after=3600) == 30


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("3") == 3.0
    assert 8 <= parse_retry_after(formatdate(time.time() + 10, usegmt=True)) <= 10
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_with_retries_gives_up_after_the_attempts_and_marks_the_error_exhausted() -> None:
    calls = []

    def failing() -> None:
        calls.append(1)
        raise TransientRegistryError("503", retry_after=0)

    sleeps: list[float] = []
    with pytest.raises(TransientRegistryError, match="gave up after 3 attempts") as raised:
        with_retries(RetryPolicy(attempts=3, sleep=sleeps.append), "op", failing)
    assert len(calls) == 3 and raised.value.exhausted
    assert sleeps == [0, 0]  # the registry's Retry-After of 0, before each of the two retries
