"""Retry a registry operation on transient failures, with jittered backoff that honours a sane Retry-After."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from okd_release import logs
from okd_release.errors import TransientRegistryError
from okd_release.registry.failures import TransportError
from okd_release.registry.options import RetryPolicy

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,6})?")


class RetryCounter:
    """Counts retries across the threads of one session (`Registries.retries`), for the summaries commands print.

    A counter with a `parent` also counts there (a transfer's own counter feeds its session's).
    """

    def __init__(self, parent: RetryCounter | None = None) -> None:
        self._lock = threading.Lock()
        self._parent = parent
        self.count = 0

    def add(self) -> None:
        with self._lock:
            self.count += 1
        if self._parent is not None:
            self._parent.add()


"""Deprecated: every session's retries, process-wide. Read `Registries.retries.count` instead."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or unusable
    (not a number or date, negative, not finite); a date in the past is 0."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415 - only for a date, which is rare

        when = parsedate_to_datetime(value)
        seconds = when.timestamp() - time.time()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def as_transient(error: TransportError, what: str) -> TransientRegistryError:
    return TransientRegistryError(f"{what}: {type(error).__name__}: {error}".rstrip(": "))


def with_retries(policy: RetryPolicy, what: str, operation: Callable[[], T], counter: RetryCounter | None = None) -> T:
    """Run `operation`, retrying TransientRegistryError up to `policy.attempts` times; each retry is counted
    on `counter` (the session's) when one is given."""
    attempt = 0
    while True:
        try:
            return operation()
        except TransportError as error:
            failure = as_transient(error, what)
        except TransientRegistryError as error:
            if error.exhausted:
                raise
            failure = error
        attempt += 1
        if attempt >= policy.attempts:
            raise TransientRegistryError(f"{failure} (gave up after {attempt} attempts)", exhausted=True) from None
        delay = policy.backoff(attempt - 1, failure.retry_after)
        logs.debug(__name__, "retrying %s in %.2fs: %s", what, delay, failure)
        if counter is not None:
            counter.add()
        policy.sleep(delay)
