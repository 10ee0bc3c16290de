"""Retry a registry operation on transient failures, with backoff that honours Retry-After."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime
from typing import TypeVar

import httpx

from okd_release.errors import TransientRegistryError
from okd_release.registry.options import RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class RetryCounter:
    """Counts retries across threads, for the summaries commands print."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1


RETRIES = RetryCounter()


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())


def as_transient(error: httpx.TransportError, what: str) -> TransientRegistryError:
    return TransientRegistryError(f"{what}: {type(error).__name__}: {error}".rstrip(": "))


def with_retries(policy: RetryPolicy, what: str, operation: Callable[[], T]) -> T:
    """Run `operation`, retrying TransientRegistryError up to `policy.attempts` times."""
    attempt = 0
    while True:
        try:
            return operation()
        except httpx.TransportError as error:
            failure = as_transient(error, what)
        except TransientRegistryError as error:
            if error.exhausted:
                raise
            failure = error
        attempt += 1
        if attempt >= policy.attempts:
            raise TransientRegistryError(f"{failure} (gave up after {attempt} attempts)", exhausted=True) from None
        delay = policy.delay(attempt - 1, failure.retry_after)
        log.debug("retrying %s in %.2fs: %s", what, delay, failure)
        RETRIES.add()
        time.sleep(delay)
