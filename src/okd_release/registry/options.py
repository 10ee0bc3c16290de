"""How to reach registries: TLS, credentials file, retry policy, timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for transient failures; `Retry-After` from the registry wins when given."""

    attempts: int = 6
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return float(min(self.base_delay * (2 ** attempt), self.max_delay))


@dataclass(frozen=True)
class RegistryOptions:
    insecure: bool = False
    ca_file: str | None = None
    registry_config: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    connect_timeout: float = 15.0
    read_timeout: float = 60.0
    max_connections: int = 16
