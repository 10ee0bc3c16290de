"""A fault-injecting HTTP proxy on 127.0.0.1 in front of a real registry.

At a configured rate, with a fixed seed, a request gets one of: `error` (500/502/503), `429` (with
Retry-After), `drop` (the response is cut off mid-body), `stall` (a delay before answering) or
`throttle` (the body trickles out). Hooks can also rewrite answers, to play a hostile registry, or hold a
request half-answered (`PauseAfter`), so that a test can act at a known point of a transfer without polling.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}
FAULTS = ("error", "429", "drop", "stall", "throttle")


@dataclass
class FaultPlan:
    rate: float = 0.0
    faults: tuple[str, ...] = FAULTS
    seed: int = 1234
    retry_after: str = "1"
    stall_seconds: float = 0.3
    throttle_bytes_per_second: int = 4 * 1024 * 1024
    only: Callable[[str, str], bool] | None = None  # (method, path) -> eligible for faults
    counts: Counter = field(default_factory=Counter)


Hook = Callable[["ProxyHandler"], bool]  # returns True when it answered the request itself


class ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultProxyServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- body helpers --------------------------------------------------------------------------------
    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = bytearray()
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    # -- proxying ------------------------------------------------------------------------------------
    def _handle(self) -> None:
        plan = self.server.plan
        for hook in self.server.hooks:
            if hook(self):
                return
        fault = self.server.choose_fault(self.command, self.path)
        if fault in ("error", "429"):
            self.read_body()
            if fault == "429":
                self.answer(429, b'{"errors":[{"code":"TOOMANYREQUESTS"}]}', {"Retry-After": plan.retry_after})
            else:
                self.answer(self.server.pick([500, 502, 503]), b'{"errors":[{"code":"UNAVAILABLE"}]}')
            return
        if fault == "stall":
            time.sleep(plan.stall_seconds)
        self.forward(fault)

    def forward(self, fault: str | None = None, path: str | None = None, extra_headers: dict[str, str] | None = None,
                midway: Callable[[], None] | None = None) -> None:
        """Pass the request upstream and its answer back; `midway` runs once half the body has been sent."""
        body = self.read_body()
        upstream = http.client.HTTPConnection(self.server.upstream, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers.update(extra_headers or {})
        headers["Content-Length"] = str(len(body))
        upstream.request(self.command, path or self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        length = response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length)
        self.end_headers()
        upstream.close()
        if self.command == "HEAD":
            return
        if fault == "drop" and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault == "throttle":
            step = 64 * 1024
            for offset in range(0, len(data), step):
                self.wfile.write(data[offset:offset + step])
                time.sleep(step / self.server.plan.throttle_bytes_per_second)
            return
        if midway is not None and len(data) > 1:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            midway()
            data = data[len(data) // 2:]
        self.wfile.write(data)


class PauseAfter:
    """A hook: the first `count` requests that `matches` pass, then the next one gets half its answer's body and
    is held there until `release()` (any later match waits before it is forwarded).

    `paused` is set, and `on_pause` called in the proxy's thread, once that request is held; `held` is its path.
    A hold never outlasts `limit` seconds, so a test that fails cannot leave the proxy hanging.
    """

    def __init__(self, count: int, matches: Callable[[ProxyHandler], bool],
                 on_pause: Callable[[], None] | None = None, limit: float = 120.0) -> None:
        self.count, self.matches, self.on_pause, self.limit = count, matches, on_pause, limit
        self.paused, self._released = threading.Event(), threading.Event()
        self.held: str | None = None
        self._seen = 0
        self._lock = threading.Lock()

    def __call__(self, handler: ProxyHandler) -> bool:
        if not self.matches(handler):
            return False
        with self._lock:
            index, self._seen = self._seen, self._seen + 1
        if index < self.count:
            return False
        if index > self.count:
            self._released.wait(self.limit)
            return False
        self.held = handler.path
        handler.forward(midway=self._hold)
        return True

    def _hold(self) -> None:
        self.paused.set()
        if self.on_pause is not None:
            self.on_pause()
        self._released.wait(self.limit)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until a request is held; fail if none is within `timeout`."""
        if not self.paused.wait(timeout):
            raise AssertionError(f"no request was held after {self.count} passed within {timeout:.0f}s")

    def release(self) -> None:
        self._released.set()


def blob_get(handler: ProxyHandler) -> bool:
    return handler.command == "GET" and "/blobs/sha256:" in handler.path


@dataclass(frozen=True)
class Served:
    range: str | None  # the request's Range header, as the client sent it
    status: int
    body_bytes: int  # of the answer's body, what the proxy wrote to the client


class CutOnce:
    """A hook: of the requests that `matches`, the first is cut off halfway through its body (as `drop`), the
    others pass; each is recorded in `served`. With `strip_range` the registry never sees a Range header, so
    it answers 200 with the whole body, as a registry that does not do ranges would."""

    def __init__(self, matches: Callable[[ProxyHandler], bool], strip_range: bool = False) -> None:
        self.matches, self.strip_range = matches, strip_range
        self.served: list[Served] = []
        self._lock = threading.Lock()

    def __call__(self, handler: ProxyHandler) -> bool:
        if not self.matches(handler):
            return False
        asked = handler.headers.get("Range")
        if self.strip_range:
            del handler.headers["Range"]
        with self._lock:
            first = not self.served
            self.served.append(Served(asked, 0, 0))
            index = len(self.served) - 1
        writer = _CountingWriter(handler.wfile)
        handler.wfile = writer  # type: ignore[assignment]
        try:
            handler.forward("drop" if first else None)
        finally:
            handler.wfile = writer.inner
            status = int(writer.head.split(b" ", 2)[1]) if writer.head else 0
            with self._lock:
                self.served[index] = Served(asked, status, writer.body)
        return True


class _CountingWriter:
    """The handler's writer, counting apart the first write (status line and headers) and the body after it."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.head, self.body = inner, b"", 0

    def write(self, data: bytes) -> int:
        if self.head:
            self.body += len(data)
        else:
            self.head = bytes(data)
        return int(self.inner.write(data))

    def flush(self) -> None:
        self.inner.flush()


class FaultProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, plan: FaultPlan) -> None:
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        self.upstream = upstream
        self.plan = plan
        self.hooks: list[Hook] = []
        self._random = random.Random(plan.seed)
        self._lock = threading.Lock()

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 - clients hanging up are expected
        pass

    def use(self, plan: FaultPlan) -> None:
        """Inject faults by `plan` from now on, its seed starting the sequence afresh."""
        with self._lock:
            self.plan = plan
            self._random = random.Random(plan.seed)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def pick(self, options: list):  # noqa: ANN201
        with self._lock:
            return self._random.choice(options)

    def choose_fault(self, method: str, path: str) -> str | None:
        plan = self.plan
        if plan.only and not plan.only(method, path):
            return None
        with self._lock:
            if self._random.random() >= plan.rate:
                return None
            fault = self._random.choice(plan.faults)
            if fault in ("drop", "throttle") and method == "HEAD":
                fault = "error"
            plan.counts[fault] += 1
            return fault


def start_proxy(upstream: str, plan: FaultPlan | None = None) -> FaultProxyServer:
    server = FaultProxyServer(upstream, plan or FaultPlan())
    # a short poll interval: shutdown() waits for the serving loop to look, 0.5 s by default
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server
