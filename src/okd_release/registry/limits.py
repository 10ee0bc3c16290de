"""Bounds on what a registry can make us do: how much of a body we read, how long a request may take in all,
and how slowly a streamed blob may trickle before it counts as stalled."""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

from okd_release.errors import OkdReleaseError, RegistryError, TransientRegistryError

DRAIN_LIMIT = 64 * 1024
READ_BYTES = 1024 * 1024  # the most one socket read takes (what it holds, up to this)


# -- sizes ---------------------------------------------------------------------------------------------
def read_capped(response: httpx.Response, limit: int, what: str,
                too_large: type[OkdReleaseError] = RegistryError) -> bytes:
    """The whole (decoded) body of a streamed response, refusing more than `limit` bytes."""
    data = bytearray()
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) > limit:
            raise too_large(f"{what} exceeds {limit} bytes")
    return bytes(data)


def drain(response: httpx.Response, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop a body nobody needs, so the connection can be reused; past `limit` bytes, just close it."""
    total = 0
    try:
        for chunk in response.iter_raw():
            total += len(chunk)
            if total > limit:
                break
    finally:
        response.close()


# -- time ----------------------------------------------------------------------------------------------
class _Deadline(threading.local):
    until: float | None = None
    seconds: float = 0.0


_CURRENT = _Deadline()


@contextlib.contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, network reads and writes on this thread fail once `seconds` have passed.

    The earliest of nested deadlines holds; None adds none of its own (but still scopes `then_deadline`).
    httpx's own read timeout is per read, so a server sending one byte at a time would never trip it.
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


def _bounded(timeout: float | None, error: type[Exception]) -> tuple[float | None, bool]:
    """The timeout for one network operation: the configured one, shortened to what is left of the deadline;
    and whether the deadline is what bounds it (so a timeout then is the deadline's)."""
    until = _CURRENT.until
    if until is None:
        return timeout, False
    remaining = until - time.monotonic()
    if remaining <= 0:
        raise error(_expired())
    return (remaining, True) if timeout is None or remaining <= timeout else (timeout, False)


def _expired() -> str:
    return f"no complete answer within {_CURRENT.seconds:g}s (request deadline)"


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        bounded, by_deadline = _bounded(timeout, httpcore.ReadTimeout)
        try:
            # httpcore asks for 64 KiB; a blob then crosses its generator layers 16 times per MiB. Taking
            # whatever the socket holds, up to READ_BYTES, costs nothing more for small answers.
            return self._inner.read(max(max_bytes, READ_BYTES), bounded)
        except httpcore.ReadTimeout:
            if by_deadline:
                raise httpcore.ReadTimeout(_expired()) from None
            raise

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        bounded, by_deadline = _bounded(timeout, httpcore.WriteTimeout)
        try:
            self._inner.write(buffer, bounded)
        except httpcore.WriteTimeout:
            if by_deadline:
                raise httpcore.WriteTimeout(_expired()) from None
            raise

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout, httpcore.ConnectTimeout)[0])
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with every connect, read and write bounded by the thread's deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)[0]
        return _DeadlineStream(self._inner.connect_tcp(host, port, bounded, local_address, socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)[0]
        return _DeadlineStream(self._inner.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def with_deadlines(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """`transport`, its connections made through the deadline-aware backend.

    httpx has no public hook for the network backend of the pool it builds, so this sets httpcore's
    attribute; an httpx or httpcore that lays it out differently is refused rather than left without deadlines.
    """
    pool = getattr(transport, "_pool", None)
    inner = getattr(pool, "_network_backend", None)
    if not isinstance(pool, httpcore.ConnectionPool) or not isinstance(inner, httpcore.NetworkBackend):
        raise RegistryError(f"httpx {httpx.__version__} is not supported: request deadlines cannot be enforced")
    pool._network_backend = _DeadlineBackend(inner)
    return transport


# -- stalls --------------------------------------------------------------------------------------------
def guarded(response: httpx.Response, what: str, window: float, min_bytes: int, chunk: int,
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
    except httpx.TransportError as error:
        raise TransientRegistryError(f"{what}: connection lost mid-body ({type(error).__name__})") from None
    if buffer:
        last = bytes(buffer)
        if seen is not None:
            seen(last)
        yield last
