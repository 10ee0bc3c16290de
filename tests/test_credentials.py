"""Credentials resolved as containers-auth.json and Docker do: the longest matching `registry/namespace[/repo]`
key, `credHelpers` per registry and the default `credsStore`, run as `docker-credential-<name> get` (a small
helper script put on PATH here), against a real registry whose token service checks the password."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from okd_release.errors import ConfigError
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import Credentials, CredentialStore
from okd_release.testing import localregistry
from tests.conftest import PASSWORD, USERNAME, run_cli
from tests.images import push_random_image
from tests.tokenserver import start_token_server

HELPER = """#!/bin/sh
# docker-credential-{name}: records the server it was asked about, then answers as configured
cat >> "{log}"
echo >> "{log}"
{answer}
"""


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A registry whose token service takes only USERNAME/PASSWORD; images team/app:v1 and other/app:v1."""
    directory = tmp_path_factory.mktemp("credentials")
    tokens = start_token_server(directory, USERNAME, PASSWORD)
    registry = localregistry.start(directory / "registry", token=tokens.registry_config())
    with Registries(RegistryOptions(insecure=True), CredentialStore({registry.host: Credentials(USERNAME, PASSWORD)})) \
            as registries:
        for repository in ("team/app", "team/app/deep", "other/app"):
            push_random_image(registries, registry.host, repository, "v1", [1000])
    yield registry.host
    registry.remove()
    tokens.shutdown()


def auth(password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{USERNAME}:{password}".encode()).decode()}


def config(tmp_path: Path, document: dict[str, object]) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(document))
    return str(path)


def helper(tmp_path: Path, name: str, answer: str) -> tuple[dict[str, str], Path]:
    """Put docker-credential-NAME on a PATH for the run; its environment and the file logging what it was asked."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / f"{name}.asked"
    script = bin_dir / f"docker-credential-{name}"
    script.write_text(HELPER.format(name=name, log=log, answer=answer))
    script.chmod(0o755)
    return {"PATH": f"{bin_dir}:{os.environ['PATH']}"}, log


def info(host: str, repository: str, config_file: str, env: dict[str, str] | None = None):  # noqa: ANN201
    return run_cli("image", "info", "--insecure", "-a", config_file, "-o", "json", f"{host}/{repository}:v1", env=env)


def answers(username: str, secret: str) -> str:
    return f"echo '{json.dumps({'ServerURL': 'x', 'Username': username, 'Secret': secret})}'"


def test_the_longest_matching_namespace_key_wins(token_registry, tmp_path) -> None:
    path = config(tmp_path, {"auths": {token_registry: auth("wrong-host-pw"), f"{token_registry}/team": auth(PASSWORD),
                                       f"{token_registry}/team/app/deep": auth("wrong-repo-pw")}})
    assert info(token_registry, "team/app", path).returncode == 0  # host/team beats host
    refused = info(token_registry, "other/app", path)  # only host matches: its wrong password
    assert refused.returncode == 1 and "authentication to registry" in refused.stderr
    deeper = info(token_registry, "team/app/deep", path)  # host/team/app/deep beats host/team
    assert deeper.returncode == 1 and "wrong-repo-pw" not in deeper.output


def test_a_credential_helper_named_for_the_registry_is_asked_once_per_server(token_registry, tmp_path) -> None:
    env, log = helper(tmp_path, "okdtest", answers(USERNAME, PASSWORD))
    path = config(tmp_path, {"auths": {token_registry: auth("wrong-pw")}, "credHelpers": {token_registry: "okdtest"}})
    result = run_cli("image", "mirror", "--insecure", "-a", path, f"{token_registry}/team/app:v1",
                     f"{token_registry}/other/copy:v1", env=env)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [token_registry]  # the server URL on stdin, once for both repositories
    assert PASSWORD not in result.output


def test_the_default_credential_store_serves_registries_without_a_helper(token_registry, tmp_path) -> None:
    env, log = helper(tmp_path, "okdstore", answers(USERNAME, PASSWORD))
    path = config(tmp_path, {"auths": {token_registry: {}}, "credsStore": "okdstore"})
    assert info(token_registry, "team/app", path, env).returncode == 0
    assert log.read_text().splitlines() == [token_registry]


def test_inline_credentials_are_used_before_the_default_store(token_registry, tmp_path) -> None:
    env, log = helper(tmp_path, "okdstore", answers(USERNAME, "wrong-store-pw"))
    path = config(tmp_path, {"auths": {token_registry: auth(PASSWORD)}, "credsStore": "okdstore"})
    assert info(token_registry, "team/app", path, env).returncode == 0
    assert not log.exists()


def test_a_failing_helper_is_one_line_without_the_secret(token_registry, tmp_path) -> None:
    env, _ = helper(tmp_path, "okdfail", "echo 'keychain is locked' >&2; exit 3")
    path = config(tmp_path, {"auths": {}, "credHelpers": {token_registry: "okdfail"}})
    result = info(token_registry, "team/app", path, env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: credential helper docker-credential-okdfail failed for {token_registry} (exit status 3): "
        "keychain is locked"]


def test_a_helper_that_prints_a_document_and_fails_shows_none_of_it(token_registry, tmp_path) -> None:
    env, _ = helper(tmp_path, "okdleak", answers(USERNAME, "leaked-S3cret") + "; exit 1")
    path = config(tmp_path, {"auths": {}, "credHelpers": {token_registry: "okdleak"}})
    result = info(token_registry, "team/app", path, env)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "leaked-S3cret" not in result.output and "exit status 1" in result.stderr


def test_a_helper_without_the_credentials_leaves_the_request_anonymous(token_registry, tmp_path) -> None:
    env, log = helper(tmp_path, "okdempty", "echo 'credentials not found in native keychain'; exit 1")
    path = config(tmp_path, {"auths": {}, "credHelpers": {token_registry: "okdempty"}})
    result = info(token_registry, "team/app", path, env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: authentication to registry {token_registry} refused")
    assert log.read_text().splitlines() == [token_registry]


def test_a_helper_not_on_path_is_one_line(token_registry, tmp_path) -> None:
    path = config(tmp_path, {"auths": {}, "credHelpers": {token_registry: "okd-nonexistent"}})
    result = info(token_registry, "team/app", path)
    assert result.stderr.strip().splitlines() == [
        f"error: credential helper docker-credential-okd-nonexistent (for {token_registry}) is not installed or not on PATH"]


@pytest.mark.parametrize("document, message", [
    ({"auths": {}, "credHelpers": {"r.example": "../../bin/sh"}}, 'credHelpers["r.example"] does not name a credential helper'),
    ({"auths": {}, "credsStore": "a b"}, "'credsStore' does not name a credential helper"),
    ({"auths": {}, "credHelpers": ["x"]}, "'credHelpers' is not an object"),
])
def test_a_helper_name_that_is_not_a_program_name_is_refused(tmp_path, document, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        CredentialStore.load(config(tmp_path, document))


def test_docker_hub_keys_and_namespaces(tmp_path) -> None:
    store = CredentialStore.load(config(tmp_path, {"auths": {
        "https://index.docker.io/v1/": auth("hub"), "docker.io/library": auth("library"),
        "https://legacy.example/v1/": auth("legacy"), "quay.io/org/repo": auth("repo")}}))
    assert store.lookup("docker.io", "library/busybox") == Credentials(USERNAME, "library")
    assert store.lookup("docker.io", "someone/tool") == Credentials(USERNAME, "hub")
    assert store.lookup("legacy.example", "any/thing") == Credentials(USERNAME, "legacy")  # a URL key is its host
    assert store.lookup("quay.io", "org/repo") == Credentials(USERNAME, "repo")
    assert store.lookup("quay.io", "org/other") is None and store.lookup("quay.io") is None


def test_credentials_never_show_their_password_however_they_are_printed() -> None:
    import pprint

    from rich.pretty import pretty_repr

    credentials = Credentials("admin", "s3cret-pass")
    for shown in (repr(credentials), str(credentials), pprint.pformat(credentials), pretty_repr(credentials),
                  f"{credentials}", repr([credentials])):
        assert "s3cret-pass" not in shown and "admin" in shown
