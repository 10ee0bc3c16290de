"""A registry that answers badly: oversized, mislabelled, malformed, self-contradicting or endless answers,
and a token service that returns garbage. Each ends in one clear line, with memory bounded."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import measure_cli_process, run_cli
from tests.faultproxy import FaultPlan
from tests.images import push_random_image


@pytest.fixture
def hostile(registry, plain_registries, fault_proxy):
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [4000, 5000])
    proxy = fault_proxy(registry.host, FaultPlan())
    return proxy, manifest


def _manifest_get(handler) -> bool:
    return handler.command == "GET" and "/manifests/" in handler.path


def _error_line(result) -> str:
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


def _measured(*args: str) -> tuple[int, str, float]:
    """Exit code, stderr and peak RSS (MB) of the CLI as a real process: what it measures is its own memory."""
    return measure_cli_process(*args)


def test_manifest_over_4_mib_is_refused_with_bounded_memory(hostile) -> None:
    proxy, _ = hostile

    def huge(handler) -> bool:
        if not _manifest_get(handler):
            return False
        handler.answer(200, b'{"schemaVersion": 2, "padding": "' + b"x" * (5 * 1024 * 1024) + b'"}',
                       {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
        return True

    proxy.hooks.append(huge)
    code, stderr, peak = _measured("image", "info", "--insecure", f"{proxy.host}/okd/app:v1")
    assert code != 0 and "exceeds 4194304 bytes" in stderr and "Traceback" not in stderr
    assert peak < 100


def test_wrong_content_type_with_html_body(hostile) -> None:
    proxy, _ = hostile
    proxy.hooks.append(lambda h: _manifest_get(h) and (h.answer(200, b"<html>login</html>", {"Content-Type": "text/html"})
                                                       or True))
    line = _error_line(run_cli("image", "info", "--insecure", f"{proxy.host}/okd/app:v1"))
    assert "unsupported or invalid content" in line and "text/html" in line


def test_mislabelled_but_valid_manifest_is_read_by_its_own_media_type(hostile, registry) -> None:
    proxy, manifest = hostile

    def mislabel(handler) -> bool:
        if not _manifest_get(handler):
            return False
        handler.answer(200, manifest.raw.data, {"Content-Type": "application/octet-stream",
                                                "Docker-Content-Digest": manifest.digest})
        return True

    proxy.hooks.append(mislabel)
    result = run_cli("image", "info", "--insecure", "-o", "json", f"{proxy.host}/okd/app:v1")
    assert result.returncode == 0 and json.loads(result.stdout)["digest"] == manifest.digest


def test_invalid_json_manifest(hostile) -> None:
    proxy, _ = hostile
    proxy.hooks.append(lambda h: _manifest_get(h) and (h.answer(
        200, b'{"schemaVersion": 2, "layers": [', {"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"})
        or True))
    assert "not valid JSON" in _error_line(run_cli("image", "info", "--insecure", f"{proxy.host}/okd/app:v1"))


def test_digest_header_that_disagrees_with_the_body(hostile) -> None:
    proxy, manifest = hostile
    wrong = "sha256:" + "0" * 64

    def lie(handler) -> bool:
        if not _manifest_get(handler):
            return False
        handler.answer(200, manifest.raw.data, {"Content-Type": manifest.media_type, "Docker-Content-Digest": wrong})
        return True

    proxy.hooks.append(lie)
    line = _error_line(run_cli("image", "info", "--insecure", f"{proxy.host}/okd/app:v1"))
    assert wrong in line and manifest.digest in line
    by_digest = _error_line(run_cli("image", "info", "--insecure", f"{proxy.host}/okd/app@{wrong}"))
    assert f"{proxy.host}/okd/app@{wrong} does not match its digest (got {manifest.digest})" in by_digest


def test_token_service_returning_garbage(hostile) -> None:
    proxy, _ = hostile

    def bearer(handler) -> bool:
        if handler.path.startswith("/token"):
            handler.answer(200, b"\x00\xffnot a token at all", {"Content-Type": "application/json"})
            return True
        if "Authorization" not in handler.headers:
            handler.answer(401, b"{}", {"WWW-Authenticate": f'Bearer realm="http://{proxy.host}/token",service="test"'})
            return True
        return False

    proxy.hooks.append(bearer)
    line = _error_line(run_cli("image", "info", "--insecure", f"{proxy.host}/okd/app:v1"))
    assert "token service" in line and "invalid response" in line


def test_endless_blob_body_is_cut_off_at_its_declared_size(hostile, second_registry) -> None:
    proxy, manifest = hostile
    layer = manifest.layers[0].digest

    def endless(handler) -> bool:
        if not (handler.command == "GET" and handler.path.endswith(f"/blobs/{layer}")):
            return False
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        chunk = b"\x1f" * 65536
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass
        handler.close_connection = True
        return True

    proxy.hooks.append(endless)
    started = time.monotonic()
    code, stderr, peak = _measured("image", "mirror", "--insecure", f"{proxy.host}/okd/app:v1",
                                   f"{second_registry.host}/okd/app:v1")
    assert code != 0 and "larger than its declared size" in stderr and layer in stderr
    assert "Traceback" not in stderr
    assert peak < 100 and time.monotonic() - started < 60
