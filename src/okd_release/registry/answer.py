"""Reading an HTTP/1.1 answer off a connection: its status line, its header fields, and its body's framing.

RFC 9112: a body is framed by `Transfer-Encoding: chunked`, else by `Content-Length`, else (an answer to HEAD,
a 1xx, 204 or 304 having none) by the server closing the connection. Everything the server sends is bounded:
a line is at most MAX_LINE bytes and an answer carries at most MAX_FIELDS header fields. A server that breaks
the protocol gets RemoteProtocolError; one that closes before answering gets Disconnected, which a caller may
take as a kept-alive connection the server had closed meanwhile.
"""

from __future__ import annotations

import io
from typing import Any, overload

from okd_release.registry.failures import RemoteProtocolError

MAX_LINE = 64 * 1024
MAX_FIELDS = 100
_NO_BODY_STATUSES = frozenset({204, 304})


class Disconnected(RemoteProtocolError):
    """The server closed the connection without sending an answer."""


class Fields:
    """An answer's header fields by name, compared without case; a repeated field's first value is the one given."""

    __slots__ = ("_values",)

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def add(self, name: str, value: str) -> None:
        self._values.setdefault(name.lower(), value)

    @overload
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._values.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values

    def __repr__(self) -> str:
        return f"Fields({sorted(self._values)})"


def _line(reader: io.BufferedReader[Any], what: str) -> bytes:
    line = reader.readline(MAX_LINE + 1)
    if len(line) > MAX_LINE:
        raise RemoteProtocolError(f"{what} longer than {MAX_LINE} bytes")
    return line


class Answer:
    """One answer, its status and fields read; its body then read with `read1`, which returns b"" at its end.

    `length` is what a Content-Length body still holds (None for a chunked or close-delimited one), `chunked`
    whether chunks frame it, and `will_close` whether the connection cannot carry another exchange after it.
    """

    def __init__(self, reader: io.BufferedReader[Any], method: str) -> None:
        self._reader = reader
        self.status = 0
        self.headers = Fields()
        self.length: int | None = None
        self.chunked = False
        self.will_close = False
        self._chunk_left = 0  # of the current chunk; -1 once the last chunk and trailer are read
        self._read_head(method)

    def _read_head(self, method: str) -> None:
        while True:  # interim answers (100 Continue and the like) come before the real one and are skipped
            version, self.status = self._status_line()
            fields = self._fields()
            if self.status >= 200 or self.status == 101:
                break
        self.headers = fields
        connection = (fields.get("Connection") or "").lower()
        self.will_close = "close" in connection or (version == "HTTP/1.0" and "keep-alive" not in connection)
        if method == "HEAD" or self.status < 200 or self.status in _NO_BODY_STATUSES:
            self.length = 0
            return
        encoding = fields.get("Transfer-Encoding")
        if encoding is not None:
            if encoding.strip().lower() != "chunked":  # we ask for no other coding (Accept-Encoding: identity)
                raise RemoteProtocolError(f"unsupported Transfer-Encoding {encoding[:40]!r}")
            self.chunked = True
            return
        declared = fields.get("Content-Length")
        if declared is None:
            self.will_close = True  # the body ends when the server closes the connection
            return
        values = {value.strip() for value in declared.split(",")}
        value = values.pop() if len(values) == 1 else ""
        if not (value.isascii() and value.isdigit()) or len(value) > 19:
            raise RemoteProtocolError(f"invalid Content-Length {declared[:40]!r}")
        self.length = int(value)

    def _status_line(self) -> tuple[str, int]:
        line = _line(self._reader, "status line")
        if not line:
            raise Disconnected("Server disconnected without sending a response.")
        parts = line.decode("latin-1").rstrip("\r\n").split(None, 2)
        if len(parts) < 2 or parts[0] not in ("HTTP/1.1", "HTTP/1.0") or len(parts[1]) != 3 or not parts[1].isdigit():
            raise RemoteProtocolError(f"invalid status line {line[:60]!r}")
        return parts[0], int(parts[1])

    def _fields(self) -> Fields:
        fields = Fields()
        last: tuple[str, str] | None = None
        for _ in range(MAX_FIELDS + 1):
            line = _line(self._reader, "header line")
            if line in (b"\r\n", b"\n"):
                if last is not None:
                    fields.add(*last)
                return fields
            if not line:
                raise RemoteProtocolError("connection closed in the middle of the header fields")
            text = line.decode("latin-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and last is not None:  # an obsolete folded line continues the field above
                last = (last[0], f"{last[1]} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise RemoteProtocolError(f"invalid header line {line[:60]!r}")
            if last is not None:
                fields.add(*last)
            last = (name, value.strip())
        raise RemoteProtocolError(f"more than {MAX_FIELDS} header fields")

    def read1(self, size: int) -> bytes:
        """Up to `size` bytes of the body, what one read brings; b"" at its end (or when the peer closed early:
        `length` then says what is missing)."""
        if self.chunked:
            return self._read_chunked(size)
        if self.length is None:
            return self._reader.read1(size)
        if self.length == 0:
            return b""
        piece = self._reader.read1(min(size, self.length))
        self.length -= len(piece)
        return piece

    def _read_chunked(self, size: int) -> bytes:
        if self._chunk_left == 0:
            line = _line(self._reader, "chunk size line")
            if not line:
                raise RemoteProtocolError("peer closed connection without sending complete message body "
                                          "(incomplete chunked read)")
            text = line.split(b";", 1)[0].strip()
            try:
                self._chunk_left = int(text, 16) if text and len(text) <= 16 else -2
            except ValueError:
                self._chunk_left = -2
            if self._chunk_left < 0 or not text.isalnum():
                raise RemoteProtocolError(f"invalid chunk size line {line[:40]!r}")
            if self._chunk_left == 0:
                self._chunk_left = -1
                self._fields()  # the trailer, read and dropped
                return b""
        if self._chunk_left < 0:
            return b""
        piece = self._reader.read1(min(size, self._chunk_left))
        if not piece:
            raise RemoteProtocolError("peer closed connection without sending complete message body "
                                      "(incomplete chunked read)")
        self._chunk_left -= len(piece)
        if self._chunk_left == 0 and _line(self._reader, "chunk end") not in (b"\r\n", b"\n"):
            raise RemoteProtocolError("a chunk is longer than its size line says")
        return piece

    @property
    def finished(self) -> bool:
        """Whether the body has been read to its end (a close-delimited body never is until the peer closes)."""
        return self._chunk_left == -1 if self.chunked else self.length == 0
