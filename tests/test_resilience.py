"""A registry that dies mid-mirror, two mirrors racing into one target, and redirected blob downloads."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bcrypt
import pytest

from okd_release.testing import localregistry
from tests.conftest import PASSWORD, USERNAME, cli_process_environment, run_cli, write_auth_file
from tests.faultproxy import FaultPlan, PauseAfter, blob_get, start_proxy
from tests.release_helpers import build_sample_release, read_release


@pytest.fixture(scope="module")
def proxied_release(source_registry, tmp_path_factory, plain_registries_module):
    """A release built through a proxy in front of the session registry: every pullspec in it names the proxy,
    so a test can act when a mirror of it reaches a known blob."""
    proxy = start_proxy(source_registry.host)
    release = build_sample_release(plain_registries_module, proxy.host, "res", tmp_path_factory.mktemp("resilience"),
                                   layer_mb=1)
    yield proxy, release
    proxy.shutdown()
    proxy.server_close()


@pytest.fixture
def release(proxied_release) -> Iterator[str]:
    proxy, release = proxied_release
    proxy.hooks.clear()
    yield release
    proxy.hooks.clear()


def _blobs(registry) -> int:
    root = registry.storage / "docker/registry/v2/blobs/sha256"
    return sum(1 for _ in root.glob("*/*/data")) if root.exists() else 0


def test_registry_killed_mid_mirror_then_restarted_rerun_completes(proxied_release, release, tmp_path) -> None:
    proxy, _ = proxied_release
    target = localregistry.start(tmp_path / "target")

    def kill_target() -> None:
        target.kill()
        pause.release()

    pause = PauseAfter(5, blob_get, on_pause=kill_target)  # the 6th blob download kills the target registry
    proxy.hooks.append(pause)
    try:
        result = run_cli("mirror", "--insecure", "--max-per-registry", "1", "--from", release,
                         "--to", f"{target.host}/m/okd")
        assert pause.paused.is_set(), "the mirror finished before the registry could be killed"
        assert result.returncode != 0
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
        assert _blobs(target) > 0
        target.restart()
        rerun = run_cli("mirror", "--insecure", "--from", release, "--to", f"{target.host}/m/okd", "-o", "json")
        assert rerun.returncode == 0, rerun.stderr
        summary = json.loads(rerun.stdout)
        assert summary["blobsSkipped"] > 0 and summary["imagesFailed"] == []
        version = read_release(release).payload.version
        assert read_release(f"{target.host}/m/okd:{version}-x86_64").digest == release.split("@")[1]
    finally:
        target.remove()


def test_two_mirrors_of_one_release_into_one_target_at_once(release, second_registry) -> None:
    command = [sys.executable, "-m", "okd_release", "mirror", "--insecure", "--from", release,
               "--to", f"{second_registry.host}/race/okd", "-o", "json"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=cli_process_environment())
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=cli_process_environment())
    outputs = [first.communicate(timeout=300), second.communicate(timeout=300)]
    assert first.returncode == 0 and second.returncode == 0, outputs
    for stdout, _ in outputs:
        assert json.loads(stdout)["imagesFailed"] == []
    payload = read_release(release).payload
    version = payload.version
    assert read_release(f"{second_registry.host}/race/okd:{version}-x86_64").digest == release.split("@")[1]
    check = run_cli("mirror", "--insecure", "--from", release, "--to", f"{second_registry.host}/race/okd", "-o", "json")
    assert json.loads(check.stdout)["blobsCopied"] == 0


class _Storage(BaseHTTPRequestHandler):
    """A second host serving blobs the registry redirects to; it records what headers it was sent."""

    protocol_version = "HTTP/1.1"
    seen: list[dict[str, str]] = []
    registry: str = ""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(dict(self.headers.items()))
        upstream = http.client.HTTPConnection(self.registry)
        token = __import__("base64").b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
        upstream.request("GET", self.path, headers={"Authorization": f"Basic {token}"})
        response = upstream.getresponse()
        data = response.read()
        self.send_response(response.status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_a_manifest_the_registry_refuses_for_a_blob_it_does_not_see_yet_is_pushed_again(release, second_registry,
                                                                                         fault_proxy) -> None:
    # distribution's filesystem driver rewrites a blob's link file in place when a second writer commits the
    # same blob, and a manifest checked in that moment is refused (DIGEST_INVALID, MANIFEST_BLOB_UNKNOWN):
    # the race of two mirrors into one target. The engine has just verified those blobs, so it tries again.
    proxy = fault_proxy(second_registry.host, FaultPlan())
    refused: list[str] = []

    def refuse_first_manifest(handler) -> bool:
        if handler.command != "PUT" or "/manifests/" not in handler.path or refused:
            return False
        refused.append(handler.path)
        handler.rfile.read(int(handler.headers.get("Content-Length", "0")))
        body = json.dumps({"errors": [{"code": "DIGEST_INVALID"}, {"code": "MANIFEST_BLOB_UNKNOWN"}]}).encode()
        handler.answer(400, body, {"Content-Type": "application/json"})
        return True

    proxy.hooks.append(refuse_first_manifest)
    result = run_cli("mirror", "--insecure", "--from", release, "--to", f"{proxy.host}/race/again", "-o", "json")
    assert result.returncode == 0, result.stderr
    assert len(refused) == 1 and json.loads(result.stdout)["imagesFailed"] == []
    assert len(result.sleeps) == 1  # one retry, through the policy's backoff
    version = read_release(release).payload.version
    assert read_release(f"{second_registry.host}/race/again:{version}-x86_64").digest == release.split("@")[1]


def test_blob_redirect_is_followed_without_sending_credentials(tmp_path, plain_registries) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{USERNAME}:{bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    registry = localregistry.start(tmp_path / "registry", htpasswd=htpasswd)
    storage = ThreadingHTTPServer(("127.0.0.1", 0), _Storage)
    _Storage.registry, _Storage.seen = registry.host, []
    threading.Thread(target=storage.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    proxy = start_proxy(registry.host, FaultPlan())

    def redirect_blobs(handler) -> bool:
        if handler.command == "GET" and "/blobs/sha256:" in handler.path:
            handler.answer(307, headers={"Location": f"http://127.0.0.1:{storage.server_address[1]}{handler.path}"})
            return True
        return False

    proxy.hooks.append(redirect_blobs)
    auth = write_auth_file(tmp_path / "auth.json", proxy.host, USERNAME, PASSWORD)
    try:
        from okd_release.registry import Registries, RegistryOptions
        from okd_release.registry.credentials import CredentialStore
        from tests.images import push_random_image

        with Registries(RegistryOptions(insecure=True), CredentialStore.load(str(auth))) as registries:
            manifest = push_random_image(registries, proxy.host, "okd/app", "v1", [2000, 3000])
        result = run_cli("image", "mirror", "--insecure", "-a", str(auth), "--loglevel", "8",
                         f"{proxy.host}/okd/app:v1", "file://okd/app:v1", "--dir", str(tmp_path / "disk"))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().endswith(manifest.digest)
        assert len(_Storage.seen) >= 3  # config and both layers came from the storage host
        for headers in _Storage.seen:
            assert "Authorization" not in headers and "authorization" not in {k.lower() for k in headers}
        assert PASSWORD not in result.output
    finally:
        proxy.shutdown()
        storage.shutdown()
        registry.remove()
