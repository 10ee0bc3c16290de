"""Credentials from docker config / pull-secret JSON files, looked up by registry host."""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from okd_release.errors import ConfigError

_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io", "docker.io")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password=<hidden>)"


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
    """Maps registry hosts to credentials; the secrets never leave this object except as headers."""

    def __init__(self, auths: dict[str, Credentials] | None = None) -> None:
        self._auths = dict(auths or {})

    @classmethod
    def load(cls, path: str | None) -> CredentialStore:
        if path:
            return cls(_read(Path(path)))
        for candidate in default_config_paths():
            if candidate.is_file():
                return cls(_read(candidate))
        return cls()

    def lookup(self, registry: str) -> Credentials | None:
        keys = _HUB_KEYS if registry == "docker.io" else (registry,)
        for key in keys:
            if key in self._auths:
                return self._auths[key]
        return None


def _normalise_key(key: str) -> str:
    for prefix in ("https://", "http://"):
        if key.startswith(prefix):
            key = key[len(prefix):]
    if key.rstrip("/") in ("index.docker.io/v1", "index.docker.io"):
        return "https://index.docker.io/v1/"
    return key.split("/", 1)[0]


def _read(path: Path) -> dict[str, Credentials]:
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"registry config {path} does not exist") from None
    except (OSError, ValueError) as error:
        raise ConfigError(f"registry config {path} is not valid JSON: {type(error).__name__}") from None
    if not isinstance(document, dict) or not isinstance(document.get("auths", {}), dict):
        raise ConfigError(f"registry config {path} has no 'auths' object")
    result: dict[str, Credentials] = {}
    for key, entry in document.get("auths", {}).items():
        credentials = _entry(entry)
        if credentials is None:
            continue
        result[_normalise_key(key)] = credentials
        result.setdefault(key, credentials)
    return result


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
