"""Request deadlines: within `deadline(seconds)`, every network operation of this thread fails once the
seconds have passed, however the server paces its bytes (registry.http bounds each socket operation by it)."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator


class _Deadline(threading.local):
    until: float | None = None
    seconds: float = 0.0


_CURRENT = _Deadline()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, network reads and writes on this thread fail once `seconds` have passed.

    The earliest of nested deadlines holds; None adds none of its own (but still scopes `then_deadline`).
    A socket's own timeout is per operation, so a server sending one byte at a time would never trip it.
    """
    previous = _CURRENT.until, _CURRENT.seconds
    if seconds is not None:
        _arm(seconds)
    try:
        yield
    finally:
        _CURRENT.until, _CURRENT.seconds = previous


def then_deadline(chunks: Iterable[bytes], seconds: float) -> Iterator[bytes]:
    """An upload body that, once sent, starts a deadline for the answer (lasting to the enclosing `deadline` block)."""
    yield from chunks
    _arm(seconds)


def _arm(seconds: float) -> None:
    until = time.monotonic() + seconds
    if _CURRENT.until is None or until < _CURRENT.until:
        _CURRENT.until, _CURRENT.seconds = until, seconds


def bounded(timeout: float | None) -> tuple[float | None, bool]:
    """The timeout for one network operation: `timeout`, shortened to what is left of the deadline; and whether
    the deadline is what bounds it (so a timeout then is the deadline's). Raises Expired when none is left."""
    until = _CURRENT.until
    if until is None:
        return timeout, False
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise Expired(expired())
    return (remaining, True) if timeout is None or remaining <= timeout else (timeout, False)


class Expired(Exception):
    """The deadline passed before a network operation began (registry.http turns it into its own timeout)."""


def expired() -> str:
    return f"no complete answer within {_CURRENT.seconds:g}s (request deadline)"
