"""HTTP/1.1 for registry traffic, on the standard library's sockets and ssl (answers read by registry.answer).

One keep-alive connection per thread and origin (more when a thread holds a streamed answer open while it sends
another request there): no pool shared between threads, so no lock per request. Every socket operation is
bounded by the configured timeout and by the thread's request deadline (registry.deadlines). A body is read
with reads of up to READ_BYTES, each taking what the socket holds. Proxies follow registry.proxy: http targets
as absolute-form requests to the proxy, https targets through a CONNECT tunnel. Errors are TransportError
subclasses, named as the failure they are (ConnectError, ReadTimeout, RemoteProtocolError, ...).
"""

from __future__ import annotations

import base64
import contextlib
import io
import re
import select
import socket
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote, urljoin

from okd_release.errors import ConfigError
from okd_release.registry.answer import Answer, Disconnected
from okd_release.registry.deadlines import Expired, bounded, expired
from okd_release.registry.failures import (
    ConnectError,
    ConnectTimeout,
    ProxyError,
    ReadError,
    ReadTimeout,
    RemoteProtocolError,
    TransportError,
    WriteError,
    WriteTimeout,
)
from okd_release.registry.proxy import ProxySettings, shown
from okd_release.registry.trust import Trust
from okd_release.registry.url import URL, InvalidURL, parse_url

if TYPE_CHECKING:
    import ssl  # loaded when a connection first needs TLS (Client.tls)

READ_BYTES = 1024 * 1024  # the most one socket read takes (what it holds, up to this)
DRAIN_LIMIT = 64 * 1024  # a body nobody needs is read to free its connection only up to this
MAX_REDIRECTS = 10
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_REPLAYABLE = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})  # idempotent: sent again on a fresh connection
_SMALL_BODY = 64 * 1024  # sent in one write with the headers
_HEADER_BUFFER = 64 * 1024
_BAD_HEADER = re.compile(r"[\r\n\0]")


def _timed_out(by_deadline: bool, error: type[TransportError]) -> TransportError:
    return error(expired() if by_deadline else "timed out")


# -- sockets -------------------------------------------------------------------------------------------
class _Socket:
    """A connected (TLS) socket whose every read and write is bounded by the timeout and the thread's deadline."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self._set: float | None = sock.gettimeout()
        self._tls = hasattr(sock, "pending")  # an ssl.SSLSocket
        self._poller: select.poll | None = None
        self.reader = io.BufferedReader(_Reader(self), _HEADER_BUFFER)  # answers are read through it, one by one

    def _bound(self, error: type[TransportError]) -> bool:
        try:
            timeout, by_deadline = bounded(self.timeout)
        except Expired as expiry:
            raise error(str(expiry)) from None
        if timeout != self._set:  # each change costs a system call: the common case (no deadline) makes none
            self.sock.settimeout(timeout)
            self._set = timeout
        return by_deadline

    def recv_into(self, buffer: Any) -> int:
        by_deadline = self._bound(ReadTimeout)
        try:
            count = self.sock.recv_into(buffer)
        except TimeoutError:
            raise _timed_out(by_deadline, ReadTimeout) from None
        except OSError as error:
            raise ReadError(str(error) or type(error).__name__) from error
        if count and self._tls:
            count = self._records_here(buffer, count)
        return count

    def _records_here(self, buffer: Any, count: int) -> int:
        """A TLS read gives one record at most (16 KiB): the records already here are read too, so that a
        body comes in large pieces, as from a plain socket, not in 16 KiB ones that each cost their way up
        through the blob's reading. Only what is here is taken, without waiting (the socket is non-blocking
        meanwhile: a record only partly arrived ends it); an error is left for the next read to meet."""
        sock = cast("ssl.SSLSocket", self.sock)
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(sock, select.POLLIN)
        if not sock.pending() and not self._poller.poll(0):
            return count  # the usual end of a small answer: nothing more, and no system call spent on blocking
        view = memoryview(buffer).cast("B")
        sock.settimeout(0.0)
        try:
            while count < len(view):
                try:
                    more = sock.recv_into(view[count:])
                except OSError:  # ssl.SSLWantReadError included: the next record is not all here yet
                    break
                if not more:
                    break
                count += more
        finally:
            sock.settimeout(self._set)
        return count

    def sendall(self, data: bytes | memoryview) -> None:
        by_deadline = self._bound(WriteTimeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise _timed_out(by_deadline, WriteTimeout) from None
        except OSError as error:
            raise WriteError(str(error) or type(error).__name__) from error

    def closed_by_peer(self) -> bool:
        """Whether an idle connection has something to read: the server closed it (or broke the protocol)."""
        pending = getattr(self.sock, "pending", None)  # a TLS socket may hold decrypted bytes unread
        if pending is not None and pending():
            return True
        try:
            poller = select.poll()
            poller.register(self.sock, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class _Reader(io.RawIOBase):
    def __init__(self, sock: _Socket) -> None:
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._sock.recv_into(buffer)


def _host_bytes(host: str) -> str | bytes:
    """A host name as the socket and ssl modules take it without the IDNA codec: an ASCII name as bytes (a
    str name of any kind would be encoded by that codec, which costs a millisecond to load)."""
    return host.encode("ascii") if host.isascii() else host


def _open_socket(address: URL, timeout: float) -> socket.socket:
    try:
        limit, by_deadline = bounded(timeout)
    except Expired as expiry:
        raise ConnectTimeout(str(expiry)) from None
    try:
        # getaddrinfo takes the host as bytes too, which typeshed's create_connection does not say
        sock = socket.create_connection((_host_bytes(address.host), address.effective_port),  # type: ignore[arg-type]
                                        timeout=limit)
    except TimeoutError:
        raise ConnectTimeout(f"timed out connecting to {address.authority}"
                             + (f" ({expired()})" if by_deadline else "")) from None
    except OSError as error:
        raise ConnectError(str(error) or type(error).__name__) from error
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _start_tls(sock: socket.socket, context: ssl.SSLContext, host: str, timeout: float) -> ssl.SSLSocket:
    try:
        limit, by_deadline = bounded(timeout)
        sock.settimeout(limit)
        return context.wrap_socket(sock, server_hostname=_host_bytes(host))
    except Expired as expiry:
        sock.close()
        raise ConnectTimeout(str(expiry)) from None
    except TimeoutError:
        sock.close()
        raise ConnectTimeout("TLS handshake timed out" + (f" ({expired()})" if by_deadline else "")) from None
    except OSError as error:  # ssl.SSLError included: an unverified certificate, or a peer that speaks no TLS
        sock.close()
        raise ConnectError(str(error) or type(error).__name__) from error


def _unverified(error: ConnectError) -> bool:
    """Whether a TLS handshake failed because the server's certificate did not verify."""
    ssl = sys.modules.get("ssl")  # not loaded: no handshake was tried
    return ssl is not None and isinstance(error.__cause__, ssl.SSLCertVerificationError)


def _proxy_authorization(proxy: URL) -> dict[str, str]:
    if not proxy.username and not proxy.password:
        return {}
    raw = f"{proxy.username}:{proxy.password}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(raw).decode()}


# -- connections ---------------------------------------------------------------------------------------
class Connection:
    """One keep-alive connection to one origin, directly or through a proxy; opened on first use and again
    after the server closed it. Used by one thread at a time, for one exchange at a time."""

    def __init__(self, origin: URL, proxy: URL | None, client: Client) -> None:
        self.origin = origin
        self.proxy = proxy
        self.owner = threading.current_thread()
        self.busy = False
        self._client = client
        self._sock: _Socket | None = None
        self._used = False  # it has carried an exchange: the server may have closed it since

    @property
    def key(self) -> tuple[str, str, int, str]:
        return (*self.origin.origin, str(self.proxy) if self.proxy else "")

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()

    def _open(self) -> _Socket:
        client = self._client
        tunnel = self.proxy is not None and self.origin.scheme == "https"
        if self.proxy is not None and self.proxy.scheme != "http":
            raise ConfigError(f"proxy {shown(self.proxy)}: TLS to the proxy itself is not supported; "
                              "give an http:// proxy URL (https requests still go through it encrypted end to end)")
        raw = _open_socket(self.proxy or self.origin, client.connect_timeout)
        context: ssl.SSLContext | None = None
        try:
            if tunnel:
                assert self.proxy is not None
                self._connect_tunnel(_Socket(raw, client.connect_timeout), self.proxy)
            if self.origin.scheme == "https":
                context = client.tls()
                raw = _start_tls(raw, context, self.origin.host, client.connect_timeout)
        except ConnectError as error:
            raw.close()
            if context is not None and _unverified(error) and client.trust_more(context):  # a CA not yet looked at
                return self._open()
            raise
        except BaseException:
            raw.close()
            raise
        raw.settimeout(client.read_timeout)
        self._used = False
        return _Socket(raw, client.read_timeout)

    def _connect_tunnel(self, sock: _Socket, proxy: URL) -> None:
        authority = self.origin.host_port
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}",
                 *(f"{k}: {v}" for k, v in _proxy_authorization(proxy).items())]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            answer = Answer(sock.reader, "CONNECT")
        except RemoteProtocolError as error:
            raise ProxyError(f"proxy {shown(proxy)} broke HTTP answering CONNECT: {error}") from None
        if not 200 <= answer.status < 300:
            raise ProxyError(f"proxy {shown(proxy)} answered {answer.status} to CONNECT {authority}")

    def exchange(self, method: str, url: URL, headers: Mapping[str, str], body: bytes | Iterable[bytes] | None,
                 ) -> Answer:
        """Send one request and read the answer's status and headers (the body is left to Response)."""
        replayable = method in _REPLAYABLE and not (body is not None and not isinstance(body, bytes))
        for _ in range(2):
            if self._sock is not None and self._used and self._sock.closed_by_peer():
                self.close()
            fresh = self._sock is None
            if fresh:
                self._sock = self._open()
            sock = self._sock
            assert sock is not None
            self._used = True
            try:
                _send_request(sock, method, self._request_target(url), self._headers(url, headers), body)
                return Answer(sock.reader, method)
            except TransportError as error:
                self.close()
                if fresh or not replayable or not _dropped(error):
                    raise error from None
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def _request_target(self, url: URL) -> str:
        target = url.target
        if self.proxy is not None and url.scheme == "http":
            target = f"http://{url.authority}{target}"  # absolute-form: the proxy forwards it
        return target if target.isascii() else quote(target, safe="!#$%&'()*+,/:;=?@[]~")

    def _headers(self, url: URL, headers: Mapping[str, str]) -> dict[str, str]:
        sent = {"Host": url.authority, "User-Agent": self._client.user_agent, "Accept-Encoding": "identity"}
        if self.proxy is not None and url.scheme == "http":
            sent.update(_proxy_authorization(self.proxy))
        sent.update(headers)
        return sent


def _dropped(error: BaseException) -> bool:
    """Whether a reused connection failed the way one the server closed meanwhile does."""
    return isinstance(error, Disconnected) or isinstance(error.__cause__, ConnectionError)


def _send_request(sock: _Socket, method: str, target: str, headers: dict[str, str],
                  body: bytes | Iterable[bytes] | None) -> None:
    names = {name.lower() for name in headers}
    chunked = False
    if isinstance(body, bytes):
        if "content-length" not in names:
            headers["Content-Length"] = str(len(body))
    elif body is None:
        if method in ("POST", "PUT", "PATCH") and "content-length" not in names:
            headers["Content-Length"] = "0"
    elif "content-length" not in names:
        chunked = True  # a stream of unknown length
        headers["Transfer-Encoding"] = "chunked"
    lines = [f"{method} {target} HTTP/1.1"]
    for name, value in headers.items():
        if _BAD_HEADER.search(name) or _BAD_HEADER.search(value):
            raise ValueError(f"header {name} holds a line break")
        lines.append(f"{name}: {value}")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    if isinstance(body, bytes):
        if len(body) <= _SMALL_BODY:
            sock.sendall(head + body)
        else:
            sock.sendall(head)
            sock.sendall(body)
        return
    sock.sendall(head)
    if body is None:
        return
    for piece in body:
        if not piece:
            continue
        sock.sendall(b"%X\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
    if chunked:
        sock.sendall(b"0\r\n\r\n")


# -- answers -------------------------------------------------------------------------------------------
class Response:
    """An answer whose body is read as it arrives: `iter_bytes` (reads of up to READ_BYTES), then `close`.

    A body read to its end leaves the connection for the next request; one closed early closes the connection.
    """

    def __init__(self, answer: Answer, url: URL, connection: Connection) -> None:
        self.status_code = answer.status
        self.headers = answer.headers
        self.url = url
        self._answer = answer
        self._connection: Connection | None = connection
        if answer.finished:
            self._finish()  # no body follows

    def iter_bytes(self) -> Iterator[bytes]:
        answer = self._answer
        read1 = answer.read1
        while self._connection is not None:
            try:
                piece = read1(READ_BYTES)
            except BaseException:
                self.close()
                raise
            if not piece:
                if answer.length:
                    self.close()
                    raise RemoteProtocolError("peer closed connection without sending complete message body "
                                              f"({answer.length} bytes missing)")
                self._finish()
                return
            if answer.length == 0:
                self._finish()
            yield piece

    @property
    def complete(self) -> bool:
        return self._connection is None

    def _finish(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            if self._answer.will_close:
                connection.close()
            connection.busy = False

    def close(self) -> None:
        """Done with the answer: a body not read to its end closes the connection (it cannot carry another)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
            connection.busy = False

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the client ----------------------------------------------------------------------------------------
class _Connections(threading.local):
    def __init__(self) -> None:
        self.by_route: dict[tuple[str, str, int, str], list[Connection]] = {}


class Client:
    """Requests to any origin, each thread over its own keep-alive connections; redirects of GET and HEAD
    followed (at most MAX_REDIRECTS), Authorization dropped when one leads to another origin."""

    def __init__(self, *, verify: bool | ssl.SSLContext = True, ca_file: str | None = None,
                 proxies: ProxySettings | None = None, connect_timeout: float = 15.0, read_timeout: float = 60.0,
                 user_agent: str = "okd-release") -> None:
        self.proxies = proxies if proxies is not None else ProxySettings.from_environment()
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.user_agent = user_agent
        self._trust = Trust(verify, ca_file)
        self._mine = _Connections()
        self._all: list[Connection] = []
        self._lock = threading.Lock()  # taken when a connection is made or all are closed, not per request

    def tls(self) -> ssl.SSLContext:
        """The TLS settings, made on first use (registry.trust)."""
        return self._trust.context()

    def trust_more(self, failed: ssl.SSLContext) -> bool:
        """A certificate failed to verify with `failed`: whether a wider trust makes another try worth it."""
        return self._trust.widen(failed)

    def close(self) -> None:
        with self._lock:
            connections, self._all = self._all, []
        for connection in connections:
            connection.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, url: str | URL, *, headers: Mapping[str, str] | None = None,
             body: bytes | Iterable[bytes] | None = None, params: Mapping[str, str] | None = None) -> Response:
        """Send a request and return its answer with the body unread (read it, or close it)."""
        target = (url if isinstance(url, URL) else parse_url(url)).with_params(params)
        sent = dict(headers or {})
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send_once(method, target, sent, body)
            location = response.headers.get("Location")
            if method not in ("GET", "HEAD") or response.status_code not in REDIRECT_STATUSES or not location:
                return response
            drain(response)
            try:
                following = parse_url(urljoin(str(target), location))
            except (InvalidURL, ValueError):
                raise RemoteProtocolError(f"redirect to an invalid URL from {target.authority}") from None
            if following.scheme not in ("http", "https"):
                raise RemoteProtocolError(f"redirect to a {following.scheme} URL from {target.authority}")
            if following.origin != target.origin:
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            target = following
        return response  # still redirected after MAX_REDIRECTS: the caller sees a 3xx

    def _send_once(self, method: str, url: URL, headers: Mapping[str, str],
                   body: bytes | Iterable[bytes] | None) -> Response:
        if url.scheme not in ("http", "https"):
            raise InvalidURL(f"cannot send a request to a {url.scheme} URL")
        connection = self._connection(url)
        connection.busy = True
        try:
            answer = connection.exchange(method, url, headers, body)
        except BaseException:
            connection.busy = False
            raise
        return Response(answer, url, connection)

    def _connection(self, url: URL) -> Connection:
        proxy = self.proxies.proxy_for(url)
        key = (*url.origin, str(proxy) if proxy else "")
        mine = self._mine.by_route.setdefault(key, [])
        for connection in mine:
            if not connection.busy:
                return connection
        origin = URL(url.scheme, url.host, url.port)
        with self._lock:
            # a connection a thread that has ended left behind, else a new one
            me = threading.current_thread()
            left = next((c for c in self._all if c.key == key and not c.busy and not c.owner.is_alive()), None)
            if left is None:
                connection = Connection(origin, proxy, self)
                self._all.append(connection)
            else:
                connection = left
            connection.owner = me
        mine.append(connection)
        return connection


def drain(response: Response, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop a body nobody needs, so the connection can be reused; past `limit` bytes, just close it."""
    total = 0
    try:
        for piece in response.iter_bytes():
            total += len(piece)
            if total > limit:
                break
    finally:
        response.close()
