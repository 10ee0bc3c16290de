"""Bearer tokens against the real registry in `auth: token` mode: per-repository scopes, caching, secrecy."""

from __future__ import annotations

import json

import pytest

from okd_release.testing import localregistry
from tests.conftest import PASSWORD, USERNAME, run_cli, skopeo, write_auth_file
from tests.images import push_random_image
from tests.tokenserver import start_token_server


@pytest.fixture
def token_registry(tmp_path):
    server = start_token_server(tmp_path, USERNAME, PASSWORD)
    registry = localregistry.start(tmp_path / "registry", token=server.registry_config())
    yield registry, server
    registry.remove()
    server.shutdown()


def test_mirror_with_bearer_tokens_scoped_per_repository_and_cached(token_registry, registry, plain_registries,
                                                                     tmp_path) -> None:
    target, tokens = token_registry
    manifest = push_random_image(plain_registries, registry.host, "okd/app", "v1", [3000, 4000, 5000])
    auth = write_auth_file(tmp_path / "auth.json", target.host, USERNAME, PASSWORD)
    result = run_cli("image", "mirror", "--insecure", "-a", str(auth), "--loglevel", "8",
                     f"{registry.host}/okd/app:v1", f"{target.host}/team/app:v1")
    assert result.returncode == 0, result.stderr
    scopes = {scope: count for scope, count in tokens.requests.items() if scope}
    assert set(scopes) == {"repository:team/app:pull", "repository:team/app:pull,push"}
    assert all(count == 1 for count in scopes.values()), scopes  # one token per scope, then the cache
    for token in tokens.issued:
        assert token not in result.output
    assert PASSWORD not in result.output
    inspected = skopeo("inspect", "--tls-verify=false", "--creds", f"{USERNAME}:{PASSWORD}",
                       f"docker://{target.host}/team/app:v1")
    assert json.loads(inspected.stdout)["Digest"] == manifest.digest
    info = run_cli("image", "info", "--insecure", "-a", str(auth), "-o", "json", f"{target.host}/team/app:v1")
    assert json.loads(info.stdout)["digest"] == manifest.digest


def test_wrong_password_at_the_token_service(token_registry, tmp_path) -> None:
    target, tokens = token_registry
    auth = write_auth_file(tmp_path / "auth.json", target.host, USERNAME, "nope-" + PASSWORD)
    result = run_cli("image", "info", "--insecure", "-a", str(auth), "--loglevel", "8", f"{target.host}/team/app:v1")
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"authentication to registry {target.host} refused" in errors[0]
    assert "nope-" not in result.output and PASSWORD not in result.output


def test_anonymous_access_is_refused_clearly(token_registry) -> None:
    target, _ = token_registry
    result = run_cli("image", "info", "--insecure", f"{target.host}/team/app:v1")
    assert result.returncode != 0 and "refused" in result.stderr
