"""Answers to registry auth challenges: anonymous, basic, and bearer tokens cached per scope."""

from __future__ import annotations

import base64
import json
import math
import re
import threading
import time

from msgspec import Struct

from okd_release.errors import AuthenticationError, RegistryError, TransientRegistryError
from okd_release.registry.credentials import Credentials, RegistryCredentials
from okd_release.registry.deadlines import deadline
from okd_release.registry.failures import TransportError
from okd_release.registry.http import Client
from okd_release.registry.limits import read_capped
from okd_release.registry.retry import RETRY_STATUSES, parse_retry_after
from okd_release.registry.url import URL, InvalidURL, parse_url
from okd_release.registry.url import same_origin as same_origin

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
_TOKEN = re.compile(r"[\x21-\x7e]{1,16384}")  # sent back in a header: printable ASCII, no spaces
MAX_TOKEN_RESPONSE = 1 << 20
MAX_TOKEN_LIFETIME = 24 * 3600.0


class Challenge(Struct, frozen=True):
    scheme: str
    params: dict[str, str]
    over_tls: bool = False  # whether the registry's answer naming it came over TLS


def parse_challenge(header: str, over_tls: bool = False) -> Challenge | None:
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3)) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params, over_tls)


def basic_header(credentials: Credentials) -> str:
    raw = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(raw).decode()


class Authenticator:
    """Holds what one registry asked for and produces the Authorization header for a scope."""

    def __init__(self, registry: str, credentials: Credentials | RegistryCredentials | None, client: Client, *,
                 insecure: bool = False, deadline: float | None = None) -> None:
        self.registry = registry
        self.credentials = credentials  # the same for every repository, or looked up per repository
        self._refused: set[Credentials] = set()  # refused once, refused for every repository: not sent again
        self.insecure = insecure
        self.deadline = deadline
        self._client = client
        self._challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}
        self._fetching: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def learn(self, header: str, over_tls: bool) -> None:
        """Remember a WWW-Authenticate challenge; `over_tls`: whether the answer carrying it came over TLS."""
        challenge = parse_challenge(header, over_tls)
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
        credentials = self.credentials_for(scope)
        if credentials is not None and credentials in self._refused:
            raise AuthenticationError(f"authentication to registry {self.registry} refused")
        if challenge.scheme == "basic":
            if credentials is None:
                raise AuthenticationError(f"registry {self.registry} requires credentials and none were found")
            return basic_header(credentials)
        return "Bearer " + self._token(challenge, scope, credentials)

    def credentials_for(self, scope: str) -> Credentials | None:
        """The credentials for the (first) repository of `scope`: the one a request reads or writes."""
        if not isinstance(self.credentials, RegistryCredentials):
            return self.credentials
        parts = scope.split(" ", 1)[0].split(":")
        return self.credentials(parts[1] if len(parts) == 3 and parts[0] == "repository" else None)

    def refuse(self, scope: str) -> None:
        """The registry refused the credentials sent for `scope`: later requests with them fail at once."""
        credentials = self.credentials_for(scope)
        if credentials is not None:
            with self._lock:
                self._refused.add(credentials)

    def _token(self, challenge: Challenge, scope: str, credentials: Credentials | None) -> str:
        with self._lock:
            fetching = self._fetching.setdefault(scope, threading.Lock())
        with fetching:  # concurrent requests for one scope share a single token request
            with self._lock:
                cached = self._tokens.get(scope)
                if cached and cached[1] > time.monotonic():
                    return cached[0]
            token, lifetime = self._fetch_token(challenge, scope, credentials)
            with self._lock:
                self._tokens[scope] = (token, time.monotonic() + max(lifetime - 10, 5))
            return token

    def _fetch_token(self, challenge: Challenge, scope: str, credentials: Credentials | None) -> tuple[str, float]:
        realm = self._realm(challenge)
        query = {"service": challenge.params.get("service", "")}
        if scope:
            query["scope"] = scope
        headers = {"Authorization": basic_header(credentials)} if credentials else {}
        try:
            with deadline(self.deadline), self._client.send("GET", realm, params=query, headers=headers) as response:
                body = read_capped(response, MAX_TOKEN_RESPONSE, f"token response for {self.registry}")
        except TransportError as error:
            raise TransientRegistryError(f"token service for {self.registry} unreachable: {type(error).__name__}") from None
        if response.status_code in (401, 403):
            if response.status_code == 401 and credentials is not None:
                self.refuse(scope)
            raise AuthenticationError(
                f"authentication to registry {self.registry} refused (token service said {response.status_code})"
            )
        if response.status_code in RETRY_STATUSES:
            raise TransientRegistryError(
                f"token service for {self.registry} answered {response.status_code}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        try:
            document = json.loads(body)
            token = document.get("token") or document.get("access_token")
            lifetime = float(document.get("expires_in", 60))
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(f"token service for {self.registry} returned an invalid response") from None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"token service for {self.registry} returned no token")
        if not _TOKEN.fullmatch(token):
            raise RegistryError(f"token service for {self.registry} returned an invalid token")
        if not math.isfinite(lifetime) or lifetime <= 0:
            lifetime = 60.0
        return token, min(lifetime, MAX_TOKEN_LIFETIME)

    def _realm(self, challenge: Challenge) -> URL:
        """Where to ask for a token, with our credentials.

        The rule: credentials go to a token service only when the registry named it in an answer that came
        over TLS, and the service itself is https; otherwise anyone on the path could read them, or point
        us at a service of their own. --insecure waives both (it is also the only way to speak plain HTTP to
        a registry at all): the user accepted cleartext and unverified peers for that run.
        """
        try:
            realm: URL | None = parse_url(challenge.params.get("realm", ""))
        except InvalidURL:
            realm = None
        if realm is None or realm.scheme not in ("https", "http") or not realm.host:
            raise AuthenticationError(f"registry {self.registry} sent a bearer challenge without a usable realm")
        if self.insecure:
            return realm
        if not challenge.over_tls:
            raise AuthenticationError(
                f"registry {self.registry} named its token service over plain HTTP; refusing to send credentials "
                "there (use --insecure to allow)")
        if realm.scheme != "https":
            raise AuthenticationError(
                f"registry {self.registry} named a plain-HTTP token service (http://{realm.host}); refusing to send "
                "credentials in cleartext (use --insecure to allow)")
        return realm
