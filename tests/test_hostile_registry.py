"""A registry (or a token service, or a host it points us to) that tries to hurt us: names that walk out of
their repository, Retry-After values that are not numbers, bodies that never end, answers that trickle in
a byte at a time, token services and upload hosts that would collect credentials. Each is refused with one
clear line, in bounded time and memory, and secrets stay where they belong."""

from __future__ import annotations

import json
import math
import os
import random
import re
import threading
import time

import pytest

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.errors import AuthenticationError, InvalidReference, NotFound, RegistryError, TransientRegistryError
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import Credentials, CredentialStore
from okd_release.registry.options import RetryPolicy
from okd_release.registry.retry import parse_retry_after, with_retries
from tests.certs import make_ca_and_server
from tests.conftest import PASSWORD, USERNAME, serving
from tests.hostileserver import HostileHandler, start_hostile

FAST = RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def hostile():
    """Start scripted HTTP(S) servers: `hostile(route, tls=None)`."""
    yield from serving(start_hostile)


def _push(client, repository: str, tag: str, note: str) -> str:
    """A small image, pushed with the client itself; its manifest digest."""
    layer = os.urandom(64)
    config = json.dumps({"architecture": "amd64", "os": "linux", "note": note,
                         "rootfs": {"type": "layers", "diff_ids": [digests.of(layer)]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
        "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": client.upload_bytes(repository, config), "size": len(config)},
        "layers": [{"mediaType": mediatypes.OCI_LAYER_UNCOMPRESSED, "digest": client.upload_bytes(repository, layer),
                    "size": len(layer)}],
    }).encode()
    return client.put_manifest(repository, tag, manifest, mediatypes.OCI_MANIFEST)


def _v2_ok(handler: HostileHandler) -> bool:
    if handler.path == "/v2/":
        handler.answer(200, b"{}")
        return True
    return False


# -- 2. names walking out of their repository ---------------------------------------------------------------
def test_tag_with_dot_dot_cannot_overwrite_another_repository(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    old = _push(client, "victim/app", "old", "last year's image, with a known hole")
    prod = _push(client, "victim/app", "prod", "the real production image")
    rollback = client.get_manifest("victim/app", old)
    # Pushing to okd/app with this "tag" would, once a URL parser resolved the dots, move victim/app:prod back to `old`.
    with pytest.raises(InvalidReference, match=r"invalid tag or digest 'x/\.\./\.\./\.\./\.\./victim/app/manifests/prod'"):
        client.put_manifest("okd/app", "x/../../../../victim/app/manifests/prod", rollback.data, rollback.media_type)
    assert client.get_manifest("victim/app", "prod").digest == prod != old
    assert client.head_manifest("victim/app", "prod").digest == prod


BAD_NAMES = [
    ("get_manifest", ("okd/app", "x/../../victim/app/manifests/prod")),
    ("get_manifest", ("okd/../victim/app", "prod")),
    ("get_manifest", ("okd/app", "v1\n")),
    ("get_manifest", ("okd/app", "sha256:" + "a" * 64 + "\n")),
    ("head_manifest", ("okd/app", "t\u00e9st")),
    ("put_manifest", ("okd/app", "..", b"{}", mediatypes.OCI_MANIFEST)),
    ("head_blob", ("okd/app", "sha256:../../x")),
    ("mount_blob", ("okd/app", digests.of(b"x"), "okd/../victim")),
    ("upload_blob", ("okd/app/..", digests.of(b"x"), [b"x"], 1)),
    ("upload_bytes", ("OKD/app", b"x")),
    ("list_tags", ("okd/app/%2e%2e",)),
]


@pytest.mark.parametrize(("method", "args"), BAD_NAMES, ids=[f"{m}-{i}" for i, (m, _) in enumerate(BAD_NAMES)])
def test_unsafe_names_are_refused_before_any_request(hostile, method: str, args: tuple) -> None:
    server = hostile(lambda handler: handler.answer(500, b"should never be asked"))
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        client = registries.client(server.host)
        call = getattr(client, method if hasattr(client, method) else "blob_exists")  # head_blob was blob_exists
        with pytest.raises(InvalidReference, match=r"^invalid [a-z ]+ '") as raised:
            call(*args)
    assert "\n" not in str(raised.value)
    assert server.seen == []


@pytest.mark.parametrize("host", ["evil.example/v2/x?", "127.0.0.1:1@evil.example", "quay.io\n"])
def test_a_registry_host_that_would_change_the_url_is_refused(host: str) -> None:
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries, \
            pytest.raises(InvalidReference, match=f"^invalid registry host {re.escape(repr(host))}: "):
        registries.client(host)


def test_unsafe_blob_digest_for_a_stream_is_refused_before_any_request(hostile) -> None:
    server = hostile(lambda handler: handler.answer(500))
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        with pytest.raises(InvalidReference, match="invalid digest"), \
                registries.client(server.host).open_blob("okd/app", "sha256:" + "0" * 63 + "/"):
            pass
    assert server.seen == []


@pytest.mark.parametrize(("location", "error"), [
    ("http://[::1/upload", r"RegistryError: registry 127\.0\.0\.1:\d+ sent an invalid upload Location 'http://\[::1/upload'"),
    ("http://127.0.0.1:1/%0d%0a\x01", r"RegistryError: registry 127\.0\.0\.1:\d+ sent an invalid upload Location"),
    ("ftp://127.0.0.1/upload", r"UnsafeName: refusing to request 'ftp://127\.0\.0\.1/upload': not a plain registry API path"),
])
def test_an_upload_location_that_is_not_a_usable_url_is_one_clear_error(hostile, location: str, error: str) -> None:
    def route(handler: HostileHandler) -> None:
        if not _v2_ok(handler):
            handler.answer(202, b"", {"Location": location})

    server = hostile(route)
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        with pytest.raises(InvalidReference if "UnsafeName" in error else RegistryError) as raised:
            registries.client(server.host).upload_blob("okd/app", digests.of(b"layer"), [b"layer"], 5)
    assert re.fullmatch(error + ".*", f"{type(raised.value).__name__}: {raised.value}"), raised.value
    assert [seen.method for seen in server.seen if seen.path != "/v2/"] == ["POST"]


def test_a_tag_list_naming_unsafe_tags_is_refused(hostile) -> None:
    def tags(handler: HostileHandler) -> None:
        if not _v2_ok(handler):
            handler.answer(200, json.dumps({"name": "okd/app", "tags": ["v1", "../../etc"]}).encode(),
                           {"Content-Type": "application/json"})

    server = hostile(tags)
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        with pytest.raises(InvalidReference, match=rf"invalid tag listed by {server.host}/okd/app '\.\./\.\./etc'"):
            registries.client(server.host).list_tags("okd/app")


# -- 3. Retry-After that is not a sane number -----------------------------------------------------------------
@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "-5", "1e400", "99999999999", "\u0663", "1_0"])
def test_odd_retry_after_neither_crashes_nor_waits_long(registry, plain_registries, fault_proxy, value: str) -> None:
    _push(plain_registries.client(registry.host), "okd/app", "v1", "retry-after")
    proxy = fault_proxy(registry.host)
    failed = []

    def once_unavailable(handler) -> bool:
        if "/manifests/" in handler.path and not failed:
            failed.append(handler.path)
            handler.answer(503, b'{"errors":[{"code":"UNAVAILABLE"}]}', {"Retry-After": value})
            return True
        return False

    proxy.hooks.append(once_unavailable)
    options = RegistryOptions(insecure=True, retry=RetryPolicy(max_retry_after=0.5))
    started = time.monotonic()
    with Registries(options, CredentialStore()) as registries:
        manifest = registries.client(proxy.host).get_manifest("okd/app", "v1")
    assert failed and manifest.digest == digests.of(manifest.data)
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "1e400", "+3", " ", "\u0663", "1_000", "0x10",
                                   "Mon, 99 Foo 99999 99:99:99 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_retry_after_parses_to_none_or_a_finite_non_negative_number(value: str) -> None:
    seconds = parse_retry_after(value)
    assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
    if value not in ("Fri, 31 Dec 9999 23:59:59 GMT",):
        assert seconds is None


@pytest.mark.parametrize("retry_after", [math.nan, math.inf, -math.inf, -3.0])
def test_unusable_retry_after_falls_back_to_backoff(retry_after: float) -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, random=lambda: 0.5)
    assert policy.backoff(2, retry_after) == policy.backoff(2) == 3.0  # equal jitter: half of 4, plus half of half
    assert policy.backoff(0, 1e12) == policy.max_retry_after


def test_backoff_is_jittered_between_half_and_the_whole_delay_and_reproducible_with_a_seed() -> None:
    low, high = RetryPolicy(random=lambda: 0.0), RetryPolicy(random=lambda: 0.999999)
    for attempt in range(8):
        assert low.backoff(attempt) == low.delay(attempt) / 2
        assert low.delay(attempt) / 2 < high.backoff(attempt) <= high.delay(attempt)
    seeded_a, seeded_b = RetryPolicy(random=random.Random(7).random), RetryPolicy(random=random.Random(7).random)
    series_a = [seeded_a.backoff(3) for _ in range(20)]
    assert series_a == [seeded_b.backoff(3) for _ in range(20)]
    assert len(set(series_a)) == 20  # spread out: clients failing together do not retry together


def test_with_retries_sleeps_through_the_policy_without_real_sleeping() -> None:
    slept: list[float] = []
    policy = RetryPolicy(attempts=4, base_delay=10.0, max_delay=60.0, random=lambda: 0.0, sleep=slept.append)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 4:
            raise TransientRegistryError("503", retry_after=math.nan if len(calls) == 2 else None)
        return "done"

    started = time.monotonic()
    assert with_retries(policy, "op", flaky) == "done"
    assert slept == [5.0, 10.0, 20.0] and time.monotonic() - started < 1


# -- 4. bodies that never end -------------------------------------------------------------------------------
def test_endless_body_on_the_version_check_is_not_read_whole(hostile) -> None:
    server = hostile(lambda handler: handler.endless(200, {"Content-Type": "application/json"}))
    started = time.monotonic()
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        registries.client(server.host).ping()
    assert time.monotonic() - started < 5
    assert server.sent < 16 * 1024 * 1024, f"the client read {server.sent} bytes of an endless body"


@pytest.mark.parametrize("status", [404, 400, 500])
def test_endless_error_body_ends_in_one_clear_error(hostile, status: int) -> None:
    def route(handler: HostileHandler) -> None:
        if not _v2_ok(handler):
            handler.endless(status, {"Content-Type": "application/json"})

    server = hostile(route)
    started = time.monotonic()
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        expected = {404: f"^image {server.host}/okd/app:v1 not found$",
                    400: f"^GET {server.host}/v2/okd/app/manifests/v1: registry answered 400$",
                    500: rf"^GET {server.host}/v2/okd/app/manifests/v1: registry answered 500 \(gave up after 2 attempts\)$"}
        with pytest.raises(RegistryError, match=expected[status]) as raised:
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert isinstance(raised.value, NotFound) == (status == 404)
    assert time.monotonic() - started < 5
    assert server.sent < 16 * 1024 * 1024, f"the client read {server.sent} bytes of an endless error body"


def test_endless_tag_list_is_cut_off(hostile) -> None:
    def route(handler: HostileHandler) -> None:
        if not _v2_ok(handler):
            handler.endless(200, {"Content-Type": "application/json"})

    server = hostile(route)
    started = time.monotonic()
    with Registries(RegistryOptions(insecure=True, retry=FAST), CredentialStore()) as registries:
        with pytest.raises(RegistryError, match=rf"tag list of {server.host}/okd/app exceeds 16777216 bytes"):
            registries.client(server.host).list_tags("okd/app")
    assert time.monotonic() - started < 10
    assert server.sent < 64 * 1024 * 1024


# -- 5. answers that trickle in -----------------------------------------------------------------------------
MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.OCI_MANIFEST,
                       "config": {"mediaType": mediatypes.OCI_CONFIG, "digest": digests.of(b"{}"), "size": 2},
                       "layers": []}).encode()


@pytest.mark.parametrize("drip_headers", [False, True], ids=["body", "headers"])
def test_manifest_sent_a_byte_at_a_time_hits_the_request_deadline(hostile, drip_headers: bool) -> None:
    def route(handler: HostileHandler) -> None:
        if not _v2_ok(handler):
            handler.drip(200, MANIFEST, {"Content-Type": mediatypes.OCI_MANIFEST}, interval=0.1, drip_headers=drip_headers)

    server = hostile(route)
    options = RegistryOptions(insecure=True, retry=FAST, read_timeout=5, request_deadline=1.0)
    started = time.monotonic()
    with Registries(options, CredentialStore()) as registries:
        with pytest.raises(TransientRegistryError, match=r"no complete answer within 1s \(request deadline\)"):
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert time.monotonic() - started < 6  # two attempts of one second, not len(MANIFEST) / 10 seconds


def test_token_sent_a_byte_at_a_time_hits_the_request_deadline(hostile) -> None:
    def route(handler: HostileHandler) -> None:
        if handler.path.startswith("/token"):
            handler.drip(200, b'{"token": "' + b"t" * 200 + b'"}', {"Content-Type": "application/json"}, interval=0.1)
        elif handler.headers.get("Authorization"):
            handler.answer(200, b"{}")
        else:
            handler.answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="http://{handler.headers["Host"]}/token"'})

    server = hostile(route)
    options = RegistryOptions(insecure=True, retry=FAST, read_timeout=5, request_deadline=1.0)
    started = time.monotonic()
    with Registries(options, CredentialStore()) as registries:
        with pytest.raises(TransientRegistryError, match=r"token service for .* unreachable: ReadTimeout"):
            registries.client(server.host).ping()
    assert time.monotonic() - started < 6


def test_the_answer_to_a_streamed_upload_has_a_deadline_once_the_body_is_sent(hostile) -> None:
    def route(handler: HostileHandler) -> None:
        if handler.command == "POST":
            handler.answer(202, b"", {"Location": "/v2/okd/app/blobs/uploads/1?_state=s"})
        elif handler.command == "PUT":
            handler.drip(201, b"", {"Docker-Content-Digest": digests.of(b"layer")}, interval=0.1, drip_headers=True)
        else:
            _v2_ok(handler) or handler.answer(404)

    server = hostile(route)
    options = RegistryOptions(insecure=True, retry=FAST, read_timeout=5, request_deadline=1.0)
    started = time.monotonic()
    with Registries(options, CredentialStore()) as registries:
        expected = r"^PUT .*: ReadTimeout: no complete answer within 1s \(request deadline\)$"
        with pytest.raises(TransientRegistryError, match=expected):
            registries.client(server.host).upload_blob("okd/app", digests.of(b"layer"), iter([b"lay", b"er"]), 5)
    assert time.monotonic() - started < 4
    assert [seen.method for seen in server.seen if seen.path != "/v2/"] == ["POST", "PUT"]


def test_a_large_upload_gives_the_registry_time_to_verify_it(hostile) -> None:
    blob = os.urandom(16 * 1024 * 1024)  # at VERIFY_RATE (4 MiB/s): four seconds on top of the deadline

    def route(handler: HostileHandler) -> None:
        if handler.command == "POST":
            handler.answer(202, b"", {"Location": "/v2/okd/app/blobs/uploads/1"})
        elif handler.command == "PUT":
            assert handler.body == blob
            time.sleep(2.5)  # reading the blob back from slow storage: longer than the deadline alone allows
            handler.answer(201, b"", {"Docker-Content-Digest": digests.of(blob)})
        else:
            _v2_ok(handler) or handler.answer(404)

    server = hostile(route)
    options = RegistryOptions(insecure=True, retry=FAST, request_deadline=1.0)
    with Registries(options, CredentialStore()) as registries:
        registries.client(server.host).upload_blob("okd/app", digests.of(blob), [blob], len(blob))
    assert [seen.method for seen in server.seen if seen.path != "/v2/"] == ["POST", "PUT"]


def test_blob_that_stalls_is_failed_as_transient_so_it_is_retried(hostile) -> None:
    blob = os.urandom(64 * 1024)
    digest = digests.of(blob)

    def route(handler: HostileHandler) -> None:
        if not _v2_ok(handler):  # a whole first KiB, then a byte every 0.1s for 20s
            handler.wfile.write(f"HTTP/1.1 200 OK\r\nContent-Length: {len(blob)}\r\n\r\n".encode() + blob[:1024])
            handler.wfile.flush()
            for byte in blob[1024:1224]:
                time.sleep(0.1)
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()

    server = hostile(route)
    options = RegistryOptions(insecure=True, retry=FAST, read_timeout=1.0, stall_bytes=4096)
    started = time.monotonic()
    with Registries(options, CredentialStore()) as registries:
        with pytest.raises(TransientRegistryError, match=r"blob .* stalled, \d+ bytes in 1s \(less than 4096 in 1s\)"), \
                registries.client(server.host).open_blob("okd/app", digest, len(blob)) as chunks:
            for _ in chunks:
                pass
    assert time.monotonic() - started < 5


def test_a_slow_consumer_is_not_taken_for_a_stalled_registry(registry, plain_registries) -> None:
    client = plain_registries.client(registry.host)
    blob = os.urandom(3 * 1024 * 1024)
    digest = client.upload_bytes("okd/blobs", blob)
    options = RegistryOptions(insecure=True, read_timeout=0.2, stall_bytes=1024 * 1024)
    with Registries(options, CredentialStore()) as registries, \
            registries.client(registry.host).open_blob("okd/blobs", digest, len(blob)) as chunks:
        received = bytearray()
        for chunk in chunks:
            time.sleep(0.3)  # longer than the stall window, every chunk
            received += chunk
    assert bytes(received) == blob


# -- 6. credentials stay where they belong --------------------------------------------------------------------
@pytest.fixture
def tls_files(tmp_path):
    ca, cert, key = make_ca_and_server(tmp_path / "tls")
    return ca, (cert, key)


def _token_service(handler: HostileHandler) -> None:
    handler.answer(200, b'{"token": "issued-token", "expires_in": 300}', {"Content-Type": "application/json"})


def _credentials(host: str) -> CredentialStore:
    return CredentialStore({host: Credentials(USERNAME, PASSWORD)})


def test_https_registry_naming_a_plain_http_token_service_gets_no_credentials(hostile, tls_files) -> None:
    ca, tls = tls_files
    tokens = hostile(_token_service)

    def registry_route(handler: HostileHandler) -> None:
        handler.answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token",service="hostile"'})

    server = hostile(registry_route, tls)
    with Registries(RegistryOptions(ca_file=str(ca), retry=FAST), _credentials(server.host)) as registries:
        with pytest.raises(AuthenticationError, match=rf"registry {server.host} named a plain-HTTP token service "
                                                      rf"\(http://127\.0\.0\.1\); refusing to send credentials") as raised:
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert tokens.seen == []
    assert PASSWORD not in str(raised.value)


def test_insecure_allows_a_plain_http_token_service(hostile, tls_files) -> None:
    _, tls = tls_files
    tokens = hostile(_token_service)

    def registry_route(handler: HostileHandler) -> None:
        if handler.headers.get("Authorization") == "Bearer issued-token":
            handler.answer(200, b"{}")
        else:
            handler.answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token",service="hostile"'})

    server = hostile(registry_route, tls)
    with Registries(RegistryOptions(insecure=True, retry=FAST), _credentials(server.host)) as registries:
        registries.client(server.host).ping()
    assert [seen.authorization for seen in tokens.seen] and all(seen.authorization.startswith("Basic ")
                                                                for seen in tokens.seen)


def test_a_challenge_from_a_host_we_were_redirected_to_gets_no_credentials(hostile, tls_files) -> None:
    ca, tls = tls_files
    tokens = hostile(_token_service)
    elsewhere = hostile(lambda handler: handler.answer(
        401, b"{}", {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token",service="elsewhere"'}))

    def registry_route(handler: HostileHandler) -> None:
        if handler.path == "/v2/":
            handler.answer(200, b"{}")
        else:
            handler.answer(307, b"", {"Location": f"{elsewhere.url}{handler.path}"})

    server = hostile(registry_route, tls)
    with Registries(RegistryOptions(ca_file=str(ca), retry=FAST), _credentials(server.host)) as registries:
        with pytest.raises(AuthenticationError, match=r"sent us to http://127\.0\.0\.1, which asked for credentials"):
            registries.client(server.host).get_manifest("okd/app", "v1")
    assert tokens.seen == []
    assert all(seen.authorization is None for seen in elsewhere.seen) and elsewhere.seen


def test_an_upload_location_on_another_host_is_sent_no_credentials(hostile, tls_files) -> None:
    ca, tls = tls_files
    storage = hostile(lambda handler: handler.answer(201, b"", {"Docker-Content-Digest": digests.of(b"layer")}))
    basic = None

    def registry_route(handler: HostileHandler) -> None:
        nonlocal basic
        if handler.headers.get("Authorization") is None:
            handler.answer(401, b"{}", {"WWW-Authenticate": 'Basic realm="hostile"'})
        elif handler.command == "POST":
            basic = handler.headers["Authorization"]
            handler.answer(202, b"", {"Location": f"{storage.url}/upload/1?_state=x"})
        else:
            handler.answer(200, b"{}")

    server = hostile(registry_route, tls)
    with Registries(RegistryOptions(ca_file=str(ca), retry=FAST), _credentials(server.host)) as registries:
        registries.client(server.host).upload_blob("okd/app", digests.of(b"layer"), [b"layer"], 5)
    assert basic is not None and basic.startswith("Basic ")  # the registry itself was sent them
    assert [seen.method for seen in storage.seen] == ["PUT"]
    assert storage.seen[0].authorization is None


# -- 7. retries counted per session ---------------------------------------------------------------------------
def test_two_sessions_at_once_count_their_own_retries(registry, plain_registries, fault_proxy) -> None:
    _push(plain_registries.client(registry.host), "okd/app", "v1", "counted")
    proxy = fault_proxy(registry.host)
    failures = {"left": 3}
    lock = threading.Lock()

    def fail_three_times(handler) -> bool:
        with lock:
            if "/manifests/" in handler.path and failures["left"]:
                failures["left"] -= 1
                handler.answer(503, b"{}", {"Retry-After": "0"})
                return True
        return False

    proxy.hooks.append(fail_three_times)
    options = RegistryOptions(insecure=True)
    barrier = threading.Barrier(2)
    with Registries(options, CredentialStore()) as flaky, Registries(options, CredentialStore()) as steady:

        def read(registries: Registries, host: str) -> None:
            barrier.wait()
            for _ in range(5):
                registries.client(host).get_manifest("okd/app", "v1")

        threads = [threading.Thread(target=read, args=(flaky, proxy.host)),
                   threading.Thread(target=read, args=(steady, registry.host))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert (flaky.retries.count, steady.retries.count) == (3, 0)
