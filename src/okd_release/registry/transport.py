"""One registry host over HTTP(S): scheme selection, auth round-trips, status-to-error mapping."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterable, Mapping

import httpx

from okd_release.errors import AuthenticationError, NotFound, RegistryError, TransientRegistryError
from okd_release.registry.auth import Authenticator
from okd_release.registry.credentials import Credentials
from okd_release.registry.options import RegistryOptions
from okd_release.registry.retry import RETRY_STATUSES, as_transient, parse_retry_after, with_retries

log = logging.getLogger(__name__)
Body = bytes | Iterable[bytes] | None
UNAVAILABLE_SECONDS = 15.0


def make_http_client(options: RegistryOptions, verify: bool | ssl.SSLContext = True) -> httpx.Client:
    if verify is True and options.ca_file:
        verify = ssl.create_default_context(cafile=options.ca_file)
    timeout = httpx.Timeout(options.read_timeout, connect=options.connect_timeout)
    limits = httpx.Limits(max_connections=options.max_connections, max_keepalive_connections=options.max_connections)
    # Redirects are followed by httpx, which drops the Authorization header when the origin changes.
    return httpx.Client(verify=verify, timeout=timeout, limits=limits, follow_redirects=True, trust_env=False)


class Transport:
    """Sends requests to one registry, answering its auth challenges and mapping failures to errors."""

    def __init__(self, registry: str, options: RegistryOptions, credentials: Credentials | None) -> None:
        self.registry = registry
        self.options = options
        self._credentials = credentials
        self._lock = threading.Lock()
        self._base: str | None = None
        self._client: httpx.Client | None = None
        self._auth: Authenticator | None = None
        self._unavailable: tuple[float, str] = (0.0, "")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # -- connection set-up -------------------------------------------------------------------------
    def _connect(self) -> tuple[str, httpx.Client, Authenticator]:
        with self._lock:
            if self._client is None:
                self._base, self._client = self._choose_scheme()
                self._auth = Authenticator(self.registry, self._credentials, self._client)
            assert self._base is not None and self._auth is not None
            return self._base, self._client, self._auth

    def _choose_scheme(self) -> tuple[str, httpx.Client]:
        if not self.options.insecure:
            return f"https://{self.registry}", make_http_client(self.options)
        client = make_http_client(self.options, verify=False)

        def probe() -> str:
            try:
                client.get(f"https://{self.registry}/v2/")
                return f"https://{self.registry}"
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError):
                client.get(f"http://{self.registry}/v2/")
                return f"http://{self.registry}"

        try:
            return with_retries(self.options.retry, f"connecting to registry {self.registry}", probe), client
        except TransientRegistryError as error:
            client.close()
            raise RegistryError(f"cannot reach registry {self.registry}: {error}") from None

    # -- requests ----------------------------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        scope: str,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes | Iterable[bytes] | None = None,
        params: Mapping[str, str] | None = None,
        stream: bool = False,
        ok: Iterable[int] = (200,),
        retry: bool = True,
    ) -> httpx.Response:
        """Send one request; `path` is relative to the registry root or an absolute URL it gave us."""

        def attempt() -> httpx.Response:
            return self._send_once(method, path, scope, headers, content, params, stream, frozenset(ok))

        what = f"{method} {self.registry}{path if path.startswith('/') else ''}"
        self._check_available()
        try:
            if retry and not (content is not None and not isinstance(content, bytes)):
                return with_retries(self.options.retry, what, attempt)
            try:
                return attempt()
            except httpx.TransportError as error:
                raise as_transient(error, what) from None
        except TransientRegistryError as error:
            if error.exhausted:
                self._unavailable = (time.monotonic() + UNAVAILABLE_SECONDS, str(error))
            raise

    def _check_available(self) -> None:
        """After a request spent all its retries, fail fast for a while instead of retrying every request."""
        until, reason = self._unavailable
        if time.monotonic() < until:
            raise TransientRegistryError(f"registry {self.registry} is unavailable: {reason}", exhausted=True)

    def _send_once(self, method: str, path: str, scope: str, headers: Mapping[str, str] | None, content: Body,
                   params: Mapping[str, str] | None, stream: bool, ok: frozenset[int]) -> httpx.Response:
        base, client, auth = self._connect()
        url = path if path.startswith(("http://", "https://")) else base + path
        try:
            response = self._send_authorised(client, auth, method, url, scope, headers, content, params, stream)
        except httpx.ConnectError as error:
            if "CERTIFICATE_VERIFY_FAILED" in str(error):
                raise RegistryError(
                    f"the TLS certificate of registry {self.registry} could not be verified "
                    "(give its CA with --certificate-authority, or use --insecure)"
                ) from None
            raise
        if response.status_code in ok:
            return response
        failure = self._error_for(response, method, url)
        response.close()
        raise failure

    def _send_authorised(self, client: httpx.Client, auth: Authenticator, method: str, url: str, scope: str,
                         headers: Mapping[str, str] | None, content: Body, params: Mapping[str, str] | None,
                         stream: bool) -> httpx.Response:
        for round_ in range(2):
            request_headers = dict(headers or {})
            authorization = auth.header(scope)
            if authorization:
                request_headers["Authorization"] = authorization
            request = client.build_request(method, url, headers=request_headers, content=content, params=params)
            response = client.send(request, stream=stream)
            log.debug("%s %s -> %d", method, url.split("?", 1)[0], response.status_code)
            if response.status_code != 401:
                return response
            challenge = response.headers.get("WWW-Authenticate", "")
            response.close()
            if round_ == 1:
                break
            auth.learn(challenge)
            auth.forget(scope, authorization)
            if content is not None and not isinstance(content, bytes):
                raise AuthenticationError(f"registry {self.registry} asked for authentication during an upload")
        raise AuthenticationError(f"authentication to registry {self.registry} refused")

    def _error_for(self, response: httpx.Response, method: str, url: str) -> RegistryError:
        status = response.status_code
        where = url.split("?", 1)[0].replace("https://", "").replace("http://", "")
        detail = _error_detail(response) if not response.is_stream_consumed else ""
        if status in RETRY_STATUSES:
            return TransientRegistryError(
                f"{method} {where}: registry answered {status}{detail}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if status == 403:
            return AuthenticationError(f"registry {self.registry} denied access to {where}{detail}")
        if status == 404:
            return NotFound(f"{where} not found{detail}")
        return RegistryError(f"{method} {where}: registry answered {status}{detail}")


def _error_detail(response: httpx.Response) -> str:
    try:
        response.read()
        errors = response.json().get("errors") or []
        codes = ", ".join(str(e.get("code")) for e in errors if isinstance(e, dict))
        return f" ({codes})" if codes else ""
    except (ValueError, AttributeError, httpx.HTTPError):
        return ""
