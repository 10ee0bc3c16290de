"""The registry layer's own HTTP client (okd_release.registry.http), against scripted servers on 127.0.0.1:
connections kept per thread, connections the server closed opened again, redirects bounded, a body cut short,
and a proxy it does not speak to."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from okd_release.errors import ConfigError, RegistryError, TransientRegistryError
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import Credentials, CredentialStore
from okd_release.registry.http import MAX_REDIRECTS, Client
from okd_release.registry.options import RetryPolicy
from okd_release.registry.proxy import ProxySettings
from okd_release.registry.url import InvalidURL, on_base, parse_url
from tests.certs import make_ca_and_server
from tests.conftest import run_cli, serving
from tests.hostileserver import HostileHandler, start_hostile

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")


@pytest.fixture
def hostile():
    """Start scripted HTTP(S) servers: `hostile(route, tls=None)`."""
    yield from serving(start_hostile)


def _options(sleeps: list[float]) -> RegistryOptions:
    return RegistryOptions(insecure=True, retry=RetryPolicy(attempts=3, base_delay=0.01, sleep=sleeps.append))


def _recording(ports: dict[str, list[int]], close_after_each: bool = False):  # noqa: ANN202 - a route
    lock = threading.Lock()

    def route(handler: HostileHandler) -> None:
        with lock:
            ports.setdefault(handler.path, []).append(handler.client_address[1])
        handler.answer(200, b"{}" if handler.command != "HEAD" else b"")
        if close_after_each:
            handler.close_connection = True  # closed once answered, with no `Connection: close` said first

    return route


def test_each_thread_keeps_one_connection_alive_for_all_its_requests(hostile) -> None:
    ports: dict[str, list[int]] = {}
    server = hostile(_recording(ports))
    together = threading.Barrier(2)
    with Registries(_options([]), CredentialStore()) as registries:
        client = registries.client(server.host)
        client.ping()

        def requests(name: str) -> None:
            for round_ in range(3):
                client.head_manifest("okd/app", f"{name}{round_}")
                if round_ == 0:
                    together.wait(timeout=10)  # both threads are alive at once: neither can inherit the other's

        threads = [threading.Thread(target=requests, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    by_thread = {name: {ports[f"/v2/okd/app/manifests/{name}{i}"][0] for i in range(3)} for name in ("a", "b")}
    assert len(by_thread["a"]) == 1 and len(by_thread["b"]) == 1, by_thread
    assert by_thread["a"] != by_thread["b"]
    assert ports["/v2/"][0] not in by_thread["a"] | by_thread["b"]  # the main thread's connection is its own


def test_a_connection_the_server_closed_is_opened_again_without_a_retry(hostile) -> None:
    ports: dict[str, list[int]] = {}
    server = hostile(_recording(ports, close_after_each=True))
    sleeps: list[float] = []
    with Registries(_options(sleeps), CredentialStore()) as registries:
        client = registries.client(server.host)
        client.ping()
        for tag in ("v1", "v2", "v3"):
            assert client.head_manifest("okd/app", tag) is not None
        retried = registries.retries.count
    assert retried == 0 and sleeps == []
    used = [ports[f"/v2/okd/app/manifests/{tag}"][0] for tag in ("v1", "v2", "v3")]
    assert len(set(used)) == 3  # each on a new connection


def test_redirects_are_followed_only_a_bounded_number_of_times(hostile) -> None:
    def route(handler: HostileHandler) -> None:
        if handler.path == "/v2/":
            handler.answer(200, b"{}")
        else:
            handler.answer(302, b"", {"Location": handler.path.split("?")[0] + f"?hop={len(server.seen)}"})

    server = hostile(route)
    with Registries(_options([]), CredentialStore()) as registries:
        with pytest.raises(RegistryError, match=r"GET 127\.0\.0\.1:\d+/v2/okd/app/manifests/v1: registry answered 302"):
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert len([seen for seen in server.seen if seen.path != "/v2/"]) == MAX_REDIRECTS + 1


def test_a_body_shorter_than_its_content_length_is_a_transient_error(hostile) -> None:
    def route(handler: HostileHandler) -> None:
        if handler.path == "/v2/":
            handler.answer(200, b"{}")
            return
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        handler.wfile.write(b"{" * 50)
        handler.close_connection = True

    server = hostile(route)
    sleeps: list[float] = []
    with Registries(_options(sleeps), CredentialStore()) as registries:
        with pytest.raises(TransientRegistryError, match=r"RemoteProtocolError: peer closed connection without sending "
                                                         r"complete message body \(50 bytes missing\).*gave up after 3"):
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert len(sleeps) == 2


@pytest.mark.parametrize("base", ["http://127.0.0.1:5000", "https://Registry.Example", "https://[::1]:8443"])
@pytest.mark.parametrize("path", ["/v2/", "/v2/a/b/manifests/latest", "/v2/a/blobs/uploads/?mount=sha256%3Aab&from=c%2Fd",
                                  "/v2/a/tags/list?n=5&last=x?y", "/v2/a?", "/v2/a#frag", "/v2/a?q#frag"])
def test_a_path_on_a_registry_base_is_the_url_parse_url_makes(base: str, path: str) -> None:
    assert on_base(base, path) == parse_url(base + path)


@pytest.mark.parametrize("path", ["/v2/a b", "/v2/a?x=1\r\nInjected: yes", "/v2/a?\x7f"])
def test_a_path_on_a_registry_base_that_no_request_line_can_carry_is_refused(path: str) -> None:
    with pytest.raises(InvalidURL):
        on_base("https://registry.example", path)


def test_a_proxy_spoken_to_over_tls_is_refused_in_one_line() -> None:
    proxies = ProxySettings(https=parse_url("https://user:pr0xy-Secret@127.0.0.1:3128"))
    with Client(proxies=proxies) as client, pytest.raises(ConfigError) as raised:
        client.send("GET", "https://registry.example/v2/")
    assert str(raised.value) == ("proxy https://127.0.0.1:3128: TLS to the proxy itself is not supported; give an "
                                 "http:// proxy URL (https requests still go through it encrypted end to end)")

    environment: dict[str, str | None] = {name: None for name in PROXY_VARIABLES}
    environment["HTTPS_PROXY"] = "https://user:pr0xy-Secret@127.0.0.1:3128"
    result = run_cli("image", "info", "registry.example/a/b:c", env=environment)  # type: ignore[arg-type]
    assert result.returncode == 1 and result.sleeps == []
    assert result.stderr.strip().splitlines() == [f"error: {raised.value}"]
    assert "pr0xy-Secret" not in result.output


def test_a_body_over_tls_comes_in_pieces_larger_than_one_tls_record(secure_registry) -> None:
    """A TLS read gives one record (16 KiB) at most; the records already arrived are read with it, so a blob
    is passed up in large pieces, each of which costs its way through hashing and the stall guard."""
    data = bytes(range(256)) * (16 * 1024)  # 4 MiB
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    credentials = CredentialStore({secure_registry.host: Credentials(secure_registry.username, secure_registry.password)})
    with Registries(RegistryOptions(ca_file=str(secure_registry.ca_file)), credentials) as registries:
        registries.client(secure_registry.host).upload_blob("tls/pieces", digest, [data], len(data))
    login = base64.b64encode(f"{secure_registry.username}:{secure_registry.password}".encode()).decode()
    with Client(ca_file=str(secure_registry.ca_file)) as client:
        answer = client.send("GET", f"https://{secure_registry.host}/v2/tls/pieces/blobs/{digest}",
                             headers={"Authorization": f"Basic {login}"})
        pieces = list(answer.iter_bytes())
    assert b"".join(pieces) == data
    assert max(map(len, pieces)) > 16 * 1024 and len(pieces) < 4 * 1024 * 1024 // (16 * 1024)


def _tls_server_that_stalls_inside_a_record(directory: Path, first: bytes, rest: bytes, stall: float) -> tuple[str, Path]:
    """A one-request HTTPS server whose answer's second part is sent as a TLS record's first 100 bytes, then,
    `stall` seconds later, the remainder: a registry stalled halfway through a record."""
    ca, certificate, key = make_ca_and_server(directory)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        connection, _ = listener.accept()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)

        def until_done(step: Callable[[], Any]) -> Any:
            while True:
                try:
                    result = step()
                    connection.sendall(outgoing.read())
                    return result
                except ssl.SSLWantReadError:
                    connection.sendall(outgoing.read())
                    incoming.write(connection.recv(65536))

        with connection, listener:
            until_done(tls.do_handshake)
            request = b""
            while b"\r\n\r\n" not in request:
                request += until_done(lambda: tls.read(65536))
            tls.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(first) + len(rest)) + first)
            whole = outgoing.read()
            tls.write(rest)
            records = outgoing.read()
            connection.sendall(whole + records[:100])  # in one go: the partial record is there when the rest is
            time.sleep(stall)
            connection.sendall(records[100:])
            with contextlib.suppress(OSError):
                connection.recv(1)  # until the client hangs up

    threading.Thread(target=serve, daemon=True).start()
    return f"https://127.0.0.1:{listener.getsockname()[1]}/v2/", ca


def test_what_arrived_over_tls_is_passed_up_without_waiting_for_a_record_still_arriving(tmp_path) -> None:
    first, rest = b"a" * 40_000, b"b" * 40_000  # three TLS records, then one that stalls halfway
    url, ca = _tls_server_that_stalls_inside_a_record(tmp_path, first, rest, stall=2.0)
    with Client(ca_file=str(ca), read_timeout=30) as client:
        started = time.monotonic()
        answer = client.send("GET", url)
        pieces = answer.iter_bytes()
        received = b""
        while len(received) < len(first):
            received += next(pieces)
        waited = time.monotonic() - started
        received += b"".join(pieces)
    assert waited < 1.0  # the records here came up at once; the stalled one did not hold them back
    assert received == first + rest


def test_insecure_takes_a_plain_http_answer_to_tls_as_the_registry_speaking_http(hostile) -> None:
    # --insecure tries TLS first; a registry that answers the handshake with plain HTTP is there and speaks
    # HTTP, so the first request goes straight to it, with no ping of /v2/ before it
    server = hostile(_recording({}))
    with Registries(_options([]), CredentialStore()) as registries:
        assert registries.client(server.host).head_manifest("okd/app", "latest") is not None
    assert [(seen.method, seen.path) for seen in server.seen] == [("HEAD", "/v2/okd/app/manifests/latest")]


def test_insecure_pings_plain_http_when_the_tls_attempt_got_no_answer(hostile) -> None:
    # a TLS attempt the server drops unanswered says nothing of what it speaks: plain HTTP is pinged first
    def route(handler: HostileHandler) -> None:
        handler.answer(200, b"{}" if handler.command != "HEAD" else b"")

    server = hostile(route)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def forward() -> None:  # drops the first connection (the TLS attempt), then relays to the server
        first, _ = listener.accept()
        first.close()
        with listener:
            client, _ = listener.accept()
            upstream = socket.create_connection(("127.0.0.1", int(server.host.rsplit(":", 1)[1])))
            relay = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
            relay.start()
            _pipe(client, upstream)

    threading.Thread(target=forward, daemon=True).start()
    with Registries(_options([]), CredentialStore()) as registries:
        assert registries.client(f"127.0.0.1:{port}").head_manifest("okd/app", "latest") is not None
    assert [(seen.method, seen.path) for seen in server.seen] == [("GET", "/v2/"), ("HEAD", "/v2/okd/app/manifests/latest")]


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


_LOADS_IDNA = """
import sys
from okd_release.registry.http import Client, drain
with Client(ca_file=sys.argv[2] or None) as client:
    drain(client.send("GET", sys.argv[1]))
print("encodings.idna" in sys.modules)
"""


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_connecting_to_an_ascii_host_does_not_load_the_idna_codec(hostile, tmp_path, tls: bool) -> None:
    # a str host makes getaddrinfo and ssl load the IDNA codec (a millisecond of every command's start)
    ca, certificate, key = make_ca_and_server(tmp_path) if tls else (None, None, None)
    server = hostile(_recording({}), tls=(certificate, key) if tls else None)
    url = f"{'https' if tls else 'http'}://{server.host}/v2/"
    done = subprocess.run([sys.executable, "-c", _LOADS_IDNA, url, str(ca or "")], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False", done.stderr
    assert [seen.path for seen in server.seen] == ["/v2/"]
