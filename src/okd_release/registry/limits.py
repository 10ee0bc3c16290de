"""Bounds on what a registry can make us do: how much of a body we read, and how slowly a streamed blob may
trickle before it counts as stalled (how long a request may take in all: registry.deadlines)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from okd_release.errors import OkdReleaseError, RegistryError, TransientRegistryError
from okd_release.registry.failures import TransportError
from okd_release.registry.http import Response


# -- sizes ---------------------------------------------------------------------------------------------
def read_capped(response: Response, limit: int, what: str,
                too_large: type[OkdReleaseError] = RegistryError) -> bytes:
    """The whole body of a streamed response, refusing more than `limit` bytes."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > limit:
            raise too_large(f"{what} exceeds {limit} bytes")
    return bytes(data)


# -- stalls --------------------------------------------------------------------------------------------
def guarded(response: Response, what: str, window: float, min_bytes: int, chunk: int,
            seen: Callable[[bytes], None] | None = None, skip: int = 0) -> Iterator[bytes]:
    """A streamed body in chunks of about `chunk` bytes, failing with TransientRegistryError (so the caller
    redoes the read) when the connection drops or the registry sends fewer than `min_bytes` in `window`
    seconds of waiting. Only time spent waiting for the registry counts, not time the consumer takes.

    `seen` is called with each chunk before it is passed on (a digest check hashing in this same loop).
    The first `skip` bytes of the body are read and dropped: the part of a blob a resumed read already has,
    sent again by a registry that answered its Range request with the whole blob."""
    pieces = response.iter_bytes()
    buffer = bytearray()
    waited, received = 0.0, 0
    try:
        while True:
            asked = time.monotonic()
            piece = next(pieces, None)
            waited += time.monotonic() - asked
            if piece is None:
                break
            received += len(piece)
            if waited >= window:
                if received < min_bytes:
                    raise TransientRegistryError(
                        f"{what}: stalled, {received} bytes in {waited:.0f}s (less than {min_bytes} in {window:g}s)")
                waited, received = 0.0, 0
            if skip:
                dropped = min(skip, len(piece))
                piece, skip = piece[dropped:], skip - dropped
                if not piece:
                    continue
            if not buffer and len(piece) >= chunk // 2:
                ready = piece  # a large read passes on as it is, not copied into the buffer and out again
            else:
                buffer += piece
                if len(buffer) < chunk:
                    continue
                ready = bytes(buffer)
                buffer.clear()
            if seen is not None:
                seen(ready)
            yield ready
    except TransportError as error:
        raise TransientRegistryError(f"{what}: connection lost mid-body ({type(error).__name__})") from None
    if buffer:
        last = bytes(buffer)
        if seen is not None:
            seen(last)
        yield last
