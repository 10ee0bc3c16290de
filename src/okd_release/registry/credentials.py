"""Credentials from docker config / pull-secret JSON files, resolved per repository as containers and Docker do.

For a repository `host/ns/repo`: `credHelpers[host]` if set, else the longest `auths` key of `host/ns/repo`,
`host/ns`, `host` holding credentials (containers-auth.json(5)), else the default `credsStore`. A helper is the
program `docker-credential-<name>`, run as `get` with the server URL on stdin, answering
`{"Username": ..., "Secret": ...}` (docker-credential-helpers' protocol); it runs only when a registry asks
for credentials, once per server.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
from pathlib import Path
from typing import Any

from msgspec import Struct

from okd_release.errors import ConfigError

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io")
HUB_SERVER = "https://index.docker.io/v1/"  # the server URL Docker gives helpers for Docker Hub
HELPER_TIMEOUT = 60.0  # a helper may wait for a keyring to be unlocked
_HELPER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_NOT_FOUND = "credentials not found"  # what docker-credential-helpers say (exit 1) for an unknown server


class Credentials(Struct, frozen=True):
    username: str
    password: str  # never shown: see __repr__

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"

    def __rich_repr__(self) -> list[tuple[str, Any]]:  # what rich would show instead of __repr__
        return [("username", self.username), ("password", "<hidden>")]


def default_config_paths() -> list[Path]:
    """Where credentials are looked for when no file is given: as podman, skopeo and oc do."""
    paths = []
    if os.environ.get("REGISTRY_AUTH_FILE"):
        paths.append(Path(os.environ["REGISTRY_AUTH_FILE"]))
    if os.environ.get("XDG_RUNTIME_DIR"):
        paths.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "containers" / "auth.json")
    paths.append(Path.home() / ".docker" / "config.json")
    return paths


class CredentialStore:
    """Credentials by repository; the secrets never leave this object except as headers.

    `auths` keys are `host`, `host/namespace` or `host/namespace/repo`; `helpers` maps a host to a credential
    helper's name; `default_helper` (credsStore) serves the hosts that neither names.
    """

    def __init__(self, auths: dict[str, Credentials] | None = None, helpers: dict[str, str] | None = None,
                 default_helper: str | None = None) -> None:
        self._auths = dict(auths or {})
        self._helpers = dict(helpers or {})
        self._default_helper = default_helper
        self._asked: dict[tuple[str, str], Credentials | None] = {}
        self._asking = threading.Lock()

    @classmethod
    def load(cls, path: str | None) -> CredentialStore:
        if path:
            return cls._from_file(Path(path))
        for candidate in default_config_paths():
            if candidate.is_file():
                return cls._from_file(candidate)
        return cls()

    @classmethod
    def _from_file(cls, path: Path) -> CredentialStore:
        document = _read(path)
        return cls(_auths(document), _helpers(document, path), _default_helper(document, path))

    def lookup(self, registry: str, repository: str | None = None) -> Credentials | None:
        """The credentials for `repository` on `registry` (the registry's own when `repository` is None)."""
        helper = self._helper_named(registry)
        if helper is not None:
            return self._ask(helper, registry)
        for key in _keys(registry, repository):
            if key in self._auths:
                return self._auths[key]
        if self._default_helper is not None:
            return self._ask(self._default_helper, registry)
        return None

    def for_registry(self, registry: str) -> RegistryCredentials:
        """What one registry's client asks, per repository, when the registry wants credentials."""
        return RegistryCredentials(self, registry)

    def _helper_named(self, registry: str) -> str | None:
        for key in _HUB_KEYS if registry == "docker.io" else (registry,):
            if key in self._helpers:
                return self._helpers[key]
        return None

    def _ask(self, helper: str, registry: str) -> Credentials | None:
        server = HUB_SERVER if registry == "docker.io" else registry
        with self._asking:  # one helper run per server, whatever the number of threads asking
            if (helper, server) not in self._asked:
                self._asked[(helper, server)] = run_helper(helper, server)
            return self._asked[(helper, server)]


class RegistryCredentials(Struct, frozen=True):
    """The credentials of one registry, looked up per repository when the registry asks for them."""

    store: CredentialStore
    registry: str

    def __call__(self, repository: str | None) -> Credentials | None:
        return self.store.lookup(self.registry, repository)


def _keys(registry: str, repository: str | None) -> list[str]:
    """The auths keys for a repository, longest first: host/ns/repo, host/ns, host (Docker Hub's legacy keys last)."""
    parts = repository.split("/") if repository else []
    keys = [f"{registry}/{'/'.join(parts[:count])}" for count in range(len(parts), 0, -1)]
    return keys + list(_HUB_KEYS if registry == "docker.io" else (registry,))


def run_helper(helper: str, server: str) -> Credentials | None:
    """Ask `docker-credential-<helper>` for the credentials of `server`; None when it has none.

    Its failures are one line naming the helper; what it printed is shown only when it looks like a message,
    never when it could be a document carrying a secret.
    """
    import shutil
    import subprocess  # with shutil, only for credential helpers: not on every command's start-up path

    program = f"docker-credential-{helper}"
    path = shutil.which(program)
    if path is None:
        raise ConfigError(f"credential helper {program} (for {server}) is not installed or not on PATH")
    try:
        completed = subprocess.run([path, "get"], input=server.encode(), capture_output=True, timeout=HELPER_TIMEOUT,
                                   check=False)
    except subprocess.TimeoutExpired:
        raise ConfigError(f"credential helper {program} did not answer for {server} within {HELPER_TIMEOUT:g}s") from None
    except OSError as error:
        raise ConfigError(f"credential helper {program} could not be run: {error.strerror or error}") from None
    if completed.returncode != 0:
        message = _message(completed.stdout) or _message(completed.stderr)
        if _NOT_FOUND in message.lower():
            return None
        raise ConfigError(f"credential helper {program} failed for {server} (exit status {completed.returncode})"
                          + (f": {message}" if message else ""))
    try:
        answer = json.loads(completed.stdout)
        username, secret = answer["Username"], answer["Secret"]
    except (ValueError, TypeError, KeyError):
        raise ConfigError(f"credential helper {program} answered for {server} with something other than "
                          "{\"Username\", \"Secret\"}") from None
    if not isinstance(username, str) or not isinstance(secret, str):
        raise ConfigError(f"credential helper {program} answered for {server} with a Username or Secret that is not text")
    if username == "<token>":
        raise ConfigError(f"credential helper {program} gave an identity token for {server}; identity tokens are "
                          "not supported (log in with a username and password)")
    if not username and not secret:
        return None
    return Credentials(username, secret)


def _message(output: bytes) -> str:
    """The first line of a helper's output as a one-line message: printable, capped, and "" for a JSON document."""
    text = output.decode(errors="replace").strip()
    line = text.splitlines()[0].strip() if text else ""
    if line.startswith(("{", "[")):
        return ""
    return "".join(c for c in line if c.isprintable())[:200]


def _normalise_key(key: str) -> str:
    """An auths key as containers read it: a URL (Docker's legacy form) is its host; otherwise host[/path]."""
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):].split("/", 1)[0]
            break
    if key.rstrip("/") in ("index.docker.io/v1", "index.docker.io"):
        return "https://index.docker.io/v1/"
    return key.rstrip("/")


def _read(path: Path) -> dict[str, object]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"registry config {path} does not exist") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"registry config {path} is not valid JSON: {type(error).__name__}") from None
    if not isinstance(document, dict) or not isinstance(document.get("auths", {}), dict):
        raise ConfigError(f"registry config {path} has no 'auths' object")
    return document


def _auths(document: dict[str, object]) -> dict[str, Credentials]:
    result: dict[str, Credentials] = {}
    auths = document.get("auths", {})
    assert isinstance(auths, dict)
    for key, entry in auths.items():
        credentials = _entry(entry)
        if credentials is None:
            continue
        result[_normalise_key(str(key))] = credentials
        result.setdefault(str(key), credentials)
    return result


def _helper_name(name: object, path: Path, where: str) -> str:
    if not isinstance(name, str) or not _HELPER_NAME.fullmatch(name):
        raise ConfigError(f"registry config {path}: {where} does not name a credential helper (letters, digits, . _ -)")
    return name


def _helpers(document: dict[str, object], path: Path) -> dict[str, str]:
    helpers = document.get("credHelpers", {})
    if not isinstance(helpers, dict):
        raise ConfigError(f"registry config {path}: 'credHelpers' is not an object")
    return {_normalise_key(str(host)): _helper_name(name, path, f"credHelpers[{json.dumps(str(host))}]")
            for host, name in helpers.items()}


def _default_helper(document: dict[str, object], path: Path) -> str | None:
    name = document.get("credsStore")
    return _helper_name(name, path, "'credsStore'") if name else None


def _entry(entry: object) -> Credentials | None:
    if not isinstance(entry, dict):
        return None
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=False).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise ConfigError("registry config has an 'auth' entry that is not base64 user:password") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise ConfigError("registry config has an 'auth' entry that is not base64 user:password")
        return Credentials(username, password)
    if entry.get("username") and entry.get("password"):
        return Credentials(str(entry["username"]), str(entry["password"]))
    return None
