"""How to reach registries: TLS, credentials file, retry policy, timeouts and deadlines."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from msgspec import Struct, field


def _jitter() -> float:
    """random.random, with `random` loaded at the first retry: most runs never wait."""
    import random  # noqa: PLC0415

    return random.random()


class RetryPolicy(Struct, frozen=True):
    """Exponential backoff with jitter for transient failures; `Retry-After` from the registry wins when usable.

    `random` (values in [0, 1)) and `sleep` are injectable so tests can make waits deterministic and instant.
    """

    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0
    random: Callable[[], float] = field(default=_jitter)
    sleep: Callable[[float], None] = field(default=time.sleep)

    # The injected random and sleep are not part of the policy: not compared, hashed or shown.
    def _compared(self) -> tuple[float, ...]:
        return (self.attempts, self.base_delay, self.max_delay, self.max_retry_after)

    def __eq__(self, other: object) -> bool:
        return self._compared() == other._compared() if isinstance(other, RetryPolicy) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._compared())

    def __repr__(self) -> str:
        return (f"RetryPolicy(attempts={self.attempts}, base_delay={self.base_delay}, max_delay={self.max_delay}, "
                f"max_retry_after={self.max_retry_after})")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The longest wait before retry number `attempt` (from 0): the capped exponential backoff, or the
        registry's Retry-After when it is a finite, non-negative number (capped at `max_retry_after`)."""
        if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
            return float(min(retry_after, self.max_retry_after))
        return float(min(self.base_delay * (2 ** min(attempt, 64)), self.max_delay))

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """The wait actually used: Retry-After as given, else "equal jitter" between half and all of `delay`,
        so that clients failing together do not retry together, yet each still backs off."""
        ceiling = self.delay(attempt, retry_after)
        if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
            return ceiling
        fraction = min(max(self.random(), 0.0), 1.0)
        return ceiling / 2 + fraction * ceiling / 2


class RegistryOptions(Struct, frozen=True):
    insecure: bool = False
    ca_file: str | None = None
    registry_config: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 15.0
    read_timeout: float = 60.0  # per network read; also the window in which a blob stream must send stall_bytes
    max_connections: int = 16
    request_deadline: float = 120.0  # the whole of a request that is not a streamed blob, body included
    stall_bytes: int = 64 * 1024  # a blob stream sending less in read_timeout seconds of waiting has stalled
