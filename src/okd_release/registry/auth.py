"""Answers to registry auth challenges: anonymous, basic, and bearer tokens cached per scope."""

from __future__ import annotations

import base64
import re
import threading
import time
from dataclasses import dataclass

import httpx

from okd_release.errors import AuthenticationError, RegistryError, TransientRegistryError
from okd_release.registry.credentials import Credentials
from okd_release.registry.retry import RETRY_STATUSES, parse_retry_after

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
MAX_TOKEN_RESPONSE = 1 << 20


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


def basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Authenticator:
    """Holds what one registry asked for and produces the Authorization header for a scope."""

    def __init__(self, registry: str, credentials: Credentials | None, client: httpx.Client) -> None:
        self.registry = registry
        self.credentials = credentials
        self._client = client
        self._challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._fetching: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def learn(self, header: str) -> None:
        challenge = parse_challenge(header)
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise AuthenticationError(f"registry {self.registry} asked for unsupported authentication")
        self._challenge = challenge

    def forget(self, scope: str, sent: str | None) -> None:
        """Drop the cached token for `scope` if it is the one that was just refused."""
        with self._lock:
            cached = self._tokens.get(scope)
            if cached and sent == "Bearer " + cached[0]:
                del self._tokens[scope]

    def header(self, scope: str) -> str | None:
        challenge = self._challenge
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if self.credentials is None:
                raise AuthenticationError(f"registry {self.registry} requires credentials and none were found")
            return basic_header(self.credentials)
        return "Bearer " + self._token(challenge, scope)

    def _token(self, challenge: Challenge, scope: str) -> str:
        with self._lock:
            fetching = self._fetching.setdefault(scope, threading.Lock())
        with fetching:  # concurrent requests for one scope share a single token request
            with self._lock:
                cached = self._tokens.get(scope)
                if cached and cached[1] > time.monotonic():
                    return cached[0]
            token, lifetime = self._fetch_token(challenge, scope)
            with self._lock:
                self._tokens[scope] = (token, time.monotonic() + max(lifetime - 10, 5))
            return token

    def _fetch_token(self, challenge: Challenge, scope: str) -> tuple[str, float]:
        realm = challenge.params.get("realm")
        if not realm or not realm.startswith(("https://", "http://")):
            raise AuthenticationError(f"registry {self.registry} sent a bearer challenge without a usable realm")
        query = {"service": challenge.params.get("service", "")}
        if scope:
            query["scope"] = scope
        headers = {"Authorization": basic_header(self.credentials)} if self.credentials else {}
        try:
            with self._client.stream("GET", realm, params=query, headers=headers) as response:
                body = _read_capped(response, MAX_TOKEN_RESPONSE, self.registry)
        except httpx.TransportError as error:
            raise TransientRegistryError(f"token service for {self.registry} unreachable: {type(error).__name__}") from None
        if response.status_code in (401, 403):
            raise AuthenticationError(
                f"authentication to registry {self.registry} refused (token service said {response.status_code})"
            )
        if response.status_code in RETRY_STATUSES:
            raise TransientRegistryError(
                f"token service for {self.registry} answered {response.status_code}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        try:
            document = httpx.Response(200, content=body).json()
            token = document.get("token") or document.get("access_token")
            lifetime = float(document.get("expires_in", 60))
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(f"token service for {self.registry} returned an invalid response") from None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token service for {self.registry} returned no token")
        return token, lifetime


def _read_capped(response: httpx.Response, limit: int, registry: str) -> bytes:
    chunks, total = [], 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise RegistryError(f"response from {registry} exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
