"""Reading HTTP/1.1 answers (okd_release.registry.answer): framing, header fields, and what a server that breaks
the protocol gets. The table is bytes as a server sends them; the last tests send them from a real socket."""

from __future__ import annotations

import io
import socket
import threading

import pytest

from okd_release.registry.answer import MAX_FIELDS, MAX_LINE, Answer, Disconnected
from okd_release.registry.failures import RemoteProtocolError
from okd_release.registry.http import Client


def _answer(data: bytes, method: str = "GET") -> Answer:
    return Answer(io.BufferedReader(io.BytesIO(data), 16), method)  # a small buffer: lines span reads


def _body(answer: Answer) -> bytes:
    pieces = []
    while piece := answer.read1(5):
        pieces.append(piece)
    return b"".join(pieces)


FRAMED = [  # (what the server sends, method) -> (status, body, will_close, a header to look up and its value)
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET", (200, b"hello", False, ("content-length", "5"))),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\n",
     "GET", (200, b"abc0123456789", False, ("Transfer-Encoding", "chunked"))),
    (b"HTTP/1.1 200 OK\r\nContent-Type: a\r\n\r\nuntil the end", "GET", (200, b"until the end", True,
                                                                       ("content-type", "a"))),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", "HEAD", (200, b"", False, ("Content-Length", "99"))),
    (b"HTTP/1.1 204 No Content\r\n\r\n", "DELETE", (204, b"", False, ("Location", None))),
    (b"HTTP/1.1 304 Not Modified\r\n\r\n", "GET", (304, b"", False, ("Location", None))),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nLocation: /v2/x\r\nContent-Length: 0\r\n\r\n", "PUT",
     (201, b"", False, ("location", "/v2/x"))),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", "GET", (200, b"ok", True,
                                                                              ("connection", "close"))),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", (200, b"ok", True, ("x", None))),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", "GET", (200, b"ok", False,
                                                                                       ("x", None))),
    (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"a\",\r\n service=\"b\"\r\n"
     b"WWW-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n", "GET",
     (401, b"", False, ("www-authenticate", 'Bearer realm="a", service="b"'))),  # folded; the first of two
    (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok", "GET", (200, b"ok", False, ("content-length", "2"))),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok", "GET", (200, b"ok", False, ("x", None))),
]


@pytest.mark.parametrize(("data", "method", "expected"), FRAMED, ids=[str(i) for i in range(len(FRAMED))])
def test_an_answer_is_framed_as_http_1_1_says(data: bytes, method: str, expected: tuple) -> None:
    status, body, will_close, (name, value) = expected
    answer = _answer(data, method)
    assert (answer.status, _body(answer), answer.will_close) == (status, body, will_close)
    assert answer.headers.get(name) == value
    assert answer.finished is (not will_close or method == "HEAD" or status in (204, 304) or "Content-Length" in answer.headers)


BROKEN = [  # what the server sends -> what the client says
    (b"", "Server disconnected without sending a response."),
    (b"SSH-2.0-OpenSSH\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1 2000 OK\r\n\r\n", "invalid status line"),
    (b"HTTP/2 200\r\n\r\n", "invalid status line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5", "connection closed in the middle of the header fields"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "invalid header line"),
    (b"HTTP/1.1 200 OK\r\n : empty name\r\n\r\n", "invalid header line"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 1e9\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", "unsupported Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "unsupported Transfer-Encoding"),
    (b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * (MAX_FIELDS + 1) + b"\r\n", f"more than {MAX_FIELDS} header fields"),
    (b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * MAX_LINE + b"\r\n\r\n", f"header line longer than {MAX_LINE} bytes"),
    (b"HTTP/1.1 200 OK " + b"a" * MAX_LINE + b"\r\n\r\n", f"status line longer than {MAX_LINE} bytes"),
]


@pytest.mark.parametrize(("data", "error"), BROKEN, ids=[str(i) for i in range(len(BROKEN))])
def test_an_answer_that_breaks_the_protocol_is_one_named_error(data: bytes, error: str) -> None:
    with pytest.raises(RemoteProtocolError) as raised:
        _answer(data)
    assert error in str(raised.value) and "\n" not in str(raised.value)
    assert isinstance(raised.value, Disconnected) is (data == b"")  # only silence may be a dropped keep-alive


BROKEN_BODIES = [
    (b"3\r\nabc\r\nzz\r\n", "invalid chunk size line"),
    (b"-3\r\nabc\r\n0\r\n\r\n", "invalid chunk size line"),
    (b"\r\n", "invalid chunk size line"),
    (b"3\r\nabcdef\r\n0\r\n\r\n", "a chunk is longer than its size line says"),
    (b"3\r\nab", "incomplete chunked read"),
    (b"3\r\nabc\r\n", "incomplete chunked read"),
    (b"FFFFFFFFFFFFFFFFF\r\n", "invalid chunk size line"),
]


@pytest.mark.parametrize(("body", "error"), BROKEN_BODIES, ids=[str(i) for i in range(len(BROKEN_BODIES))])
def test_a_chunked_body_that_breaks_its_framing_is_one_named_error(body: bytes, error: str) -> None:
    answer = _answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
    with pytest.raises(RemoteProtocolError, match=error):
        _body(answer)


def test_a_body_cut_short_leaves_what_is_missing_counted() -> None:
    answer = _answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
    assert _body(answer) == b"half" and answer.length == 6 and not answer.finished


# -- from a real socket --------------------------------------------------------------------------------
def _serve_once(reply: bytes) -> tuple[str, threading.Thread]:
    """A server that reads one request's head, sends `reply` as it is, and closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            connection, _ = listener.accept()
            with connection:
                received = b""
                while b"\r\n\r\n" not in received:
                    received += connection.recv(65536)
                connection.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", thread


def test_a_chunked_answer_with_a_trailer_is_read_whole_over_a_socket() -> None:
    pieces = [bytes([n]) * (1000 + n) for n in range(40)]
    body = b"".join(b"%x\r\n%b\r\n" % (len(p), p) for p in pieces) + b"0\r\nDigest: x\r\n\r\n"
    url, thread = _serve_once(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Kind: test\r\n\r\n" + body)
    with Client() as client, client.send("GET", url + "/v2/") as response:
        assert response.status_code == 200 and response.headers.get("x-kind") == "test"
        assert b"".join(response.iter_bytes()) == b"".join(pieces)
        assert response.complete
    thread.join(5)


def test_a_server_speaking_something_else_is_a_protocol_error_over_a_socket() -> None:
    url, thread = _serve_once(b"220 smtp.example ESMTP ready\r\n")
    with Client() as client, pytest.raises(RemoteProtocolError, match="invalid status line"):
        client.send("GET", url + "/v2/")
    thread.join(5)
