"""A small scripted HTTP(S) server on 127.0.0.1 that plays a hostile registry, token service or storage host.

A test gives it one function, `route(handler)`, which answers each request with the handler's helpers:
`answer` (a whole body), `endless` (a body that never ends), `drip` (bytes trickled out, headers included
if asked). Every request is recorded (method, path, headers) before it is routed, and `sent` counts the
body bytes the server managed to write, so a test can tell how much a client read before giving up.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.seen.append(Seen(self.command, self.path, dict(self.headers.items())))
        length = int(self.headers.get("Content-Length", "0") or 0)
        self.body = self.rfile.read(length) if length else b""
        try:
            self.server.route(self)
        except OSError:
            self.close_connection = True  # the client hung up: what these tests expect of it

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self._write(body)

    def endless(self, status: int, headers: dict[str, str] | None = None, seconds: float = 30.0,
                limit: int = 256 * 1024 * 1024) -> None:
        """A chunked body of 64 KiB chunks, as fast as the client reads, for up to `seconds` or `limit` bytes
        (the limit only keeps a client that does read it all, as before the fix, from exhausting the machine)."""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b" " * 65536
        until = time.monotonic() + seconds
        for _ in range(limit // len(chunk)):
            if time.monotonic() > until:
                break
            self.wfile.write(b"%x\r\n" % len(chunk))
            self._write(chunk)
            self.wfile.write(b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def drip(self, status: int, body: bytes, headers: dict[str, str] | None = None, interval: float = 0.2,
             drip_headers: bool = False) -> None:
        """`body` one byte every `interval` seconds; with `drip_headers`, the status line and headers too."""
        head = f"HTTP/1.1 {status} Hostile\r\n" + "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        head += f"Content-Length: {len(body)}\r\n\r\n"
        if not drip_headers:
            self.wfile.write(head.encode())
            self.wfile.flush()
        for byte in (head.encode() if drip_headers else b"") + body:
            time.sleep(interval)
            self._write(bytes([byte]))
            self.wfile.flush()

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        with self.server.lock:
            self.server.sent += len(data)


class HostileServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, route: Callable[[HostileHandler], None], tls: tuple[Path, Path] | None = None) -> None:
        super().__init__(("127.0.0.1", 0), HostileHandler)
        self.route = route
        self.seen: list[Seen] = []
        self.sent = 0
        self.lock = threading.Lock()
        self.tls = tls is not None
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - clients hanging up are expected
        pass

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"


def start_hostile(route: Callable[[HostileHandler], None], tls: tuple[Path, Path] | None = None) -> HostileServer:
    server = HostileServer(route, tls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
