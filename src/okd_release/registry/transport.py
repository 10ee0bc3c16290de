"""One registry host over HTTP(S): scheme selection, auth round-trips, status-to-error mapping."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from okd_release import __version__, logs, names
from okd_release.errors import (
    AuthenticationError,
    ManifestBlobUnknown,
    NotFound,
    OkdReleaseError,
    RegistryError,
    TransientRegistryError,
    UnsafeName,
)
from okd_release.registry.auth import Authenticator, same_origin
from okd_release.registry.credentials import Credentials, RegistryCredentials
from okd_release.registry.deadlines import deadline, then_deadline
from okd_release.registry.failures import ConnectError, ReadError, RemoteProtocolError, TransportError
from okd_release.registry.http import Client, Response, drain
from okd_release.registry.limits import read_capped
from okd_release.registry.options import RegistryOptions
from okd_release.registry.proxy import ProxySettings
from okd_release.registry.reachability import answered_plain_http, permanent_failure
from okd_release.registry.retry import RETRY_STATUSES, RetryCounter, as_transient, parse_retry_after, with_retries
from okd_release.registry.url import URL, InvalidURL, on_base, parse_url

if TYPE_CHECKING:
    import ssl

Body = bytes | Iterable[bytes] | None
UNAVAILABLE_SECONDS = 15.0
MAX_ERROR_BODY = 64 * 1024
_ERROR_CODE = re.compile(r"[A-Za-z0-9_]{1,64}")
_UNSAFE_IN_PATH = re.compile(r"[\x00-\x20\x7f\\%#]")  # controls, space, and what a URL parser would rewrite


def make_http_client(options: RegistryOptions, verify: bool | ssl.SSLContext = True,
                     proxies: ProxySettings | None = None) -> Client:
    """A client for registry and token traffic; `proxies` default to the environment's (HTTPS_PROXY, ...),
    read as Go tools read them (registry.proxy). Redirects are followed with Authorization dropped when the
    origin changes; each thread gets its own connections."""
    return Client(verify=verify, ca_file=options.ca_file if verify is True else None, proxies=proxies,
                  connect_timeout=options.connect_timeout, read_timeout=options.read_timeout,
                  user_agent=f"okd-release/{__version__}")


class Transport:
    """Sends requests to one registry, answering its auth challenges and mapping failures to errors."""

    def __init__(self, registry: str, options: RegistryOptions, credentials: Credentials | RegistryCredentials | None,
                 retries: RetryCounter | None = None) -> None:
        self.registry = names.check_host(registry)  # it becomes the authority of every URL
        self.options = options
        self.retries = retries if retries is not None else RetryCounter()
        self._credentials = credentials
        self._lock = threading.Lock()
        # one client for every thread: it keeps each thread's connections apart, with no lock per request
        self._connected: tuple[str, Client, Authenticator] | None = None
        self._unavailable: tuple[float, str] = (0.0, "")
        self._reached = False  # once the registry has answered, a failure to connect may be its restart: retried

    def close(self) -> None:
        with self._lock:
            connected, self._connected = self._connected, None
        if connected is not None:
            connected[1].close()

    # -- connection set-up -------------------------------------------------------------------------
    def _connect(self) -> tuple[str, Client, Authenticator]:
        connected = self._connected
        if connected is not None:
            return connected
        with self._lock:
            if self._connected is None:
                base, client = self._choose_scheme()
                auth = Authenticator(self.registry, self._credentials, client,
                                     insecure=self.options.insecure, deadline=self.options.request_deadline)
                self._connected = base, client, auth
            return self._connected

    def _choose_scheme(self) -> tuple[str, Client]:
        if not self.options.insecure:
            return f"https://{self.registry}", make_http_client(self.options)
        client = make_http_client(self.options, verify=False)

        def reach(base: str) -> str:
            try:
                drain(client.send("GET", f"{base}/v2/"))
            except ConnectError as error:
                raise permanent_failure(error, self.registry, base, plain_http_is_fatal=False) or error from None
            self._reached = True
            return base

        def probe() -> str:
            with deadline(self.options.request_deadline):
                try:
                    return reach(f"https://{self.registry}")
                except ConnectError as error:
                    if answered_plain_http(error, self.registry):  # there, and speaking HTTP: no ping
                        self._reached = True
                        return f"http://{self.registry}"
                    return reach(f"http://{self.registry}")
                except (RemoteProtocolError, ReadError):
                    return reach(f"http://{self.registry}")

        try:
            return with_retries(self.options.retry, f"connecting to registry {self.registry}", probe, self.retries), client
        except TransientRegistryError as error:
            client.close()
            raise RegistryError(f"cannot reach registry {self.registry}: {error}") from None
        except RegistryError:
            client.close()
            raise

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
        deadline_seconds: float | None = None,
    ) -> Response:
        """Send one request; `path` is relative to the registry root or an absolute URL it gave us.

        Unless `stream`, the body is read (at most a little of it) and dropped: use the headers. Everything
        but a streamed upload runs under the deadline (`deadline_seconds`, else RegistryOptions.request_deadline);
        a streamed upload's answer gets one from when its body has been sent.
        """
        _check_path(path)
        streamed_upload = content is not None and not isinstance(content, bytes)
        seconds = self.options.request_deadline if deadline_seconds is None else deadline_seconds

        def attempt() -> Response:
            with deadline(None if streamed_upload else seconds):
                body = content if content is None or isinstance(content, bytes) else then_deadline(content, seconds)
                response = self._send_once(method, path, scope, headers, body, params, frozenset(ok))
                if not stream:
                    drain(response)
                return response

        route = path.split("?", 1)[0]  # an upload's query carries the registry's upload state: not for messages
        what = f"{method} {self.registry}{route}" if route.startswith("/") else f"{method} {route.split('://', 1)[-1]}"
        self._check_available()
        try:
            if retry and not streamed_upload:
                return with_retries(self.options.retry, what, attempt, self.retries)
            try:
                return attempt()
            except TransportError as error:
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
                   params: Mapping[str, str] | None, ok: frozenset[int]) -> Response:
        base, client, auth = self._connect()
        given = path.startswith(("http://", "https://"))  # a URL the registry gave us, else our own checked path
        url = path if given else base + path
        try:
            response = self._send_authorised(client, auth, base, method, url, None if given else path, scope, headers,
                                             content, params)
        except ConnectError as error:
            if "CERTIFICATE_VERIFY_FAILED" in str(error):
                raise RegistryError(
                    f"the TLS certificate of registry {self.registry} could not be verified "
                    "(give its CA with --certificate-authority, or use --insecure)"
                ) from None
            permanent = None if self._reached else permanent_failure(error, self.registry, url)
            if permanent is not None:
                raise permanent from None
            raise
        if response.status_code in ok:
            return response
        failure = self._error_for(response, method, url)
        response.close()
        raise failure

    def _send_authorised(self, client: Client, auth: Authenticator, base: str, method: str, url: str,
                         own_path: str | None, scope: str, headers: Mapping[str, str] | None, content: Body,
                         params: Mapping[str, str] | None) -> Response:
        # Credentials go only to the registry's own origin (scheme, host and port), as on redirects:
        # an upload Location or a next-page Link naming another host, or plain HTTP, is sent none.
        target: URL | str
        try:  # parsed once, for the origin check and for the request
            target = parse_url(url) if own_path is None else on_base(base, own_path)
        except InvalidURL:
            target = url  # sent as given, and so refused by the client as any such URL is
        own = (own_path is not None and isinstance(target, URL)) or same_origin(target, base)
        for round_ in range(2):
            request_headers = dict(headers or {})
            authorization = auth.header(scope) if own else None
            if authorization:
                request_headers["Authorization"] = authorization
            response = client.send(method, target, headers=request_headers, body=content, params=params)
            self._reached = True
            logs.debug(__name__, "%s %s -> %d", method, url.split("?", 1)[0], response.status_code)
            if response.status_code != 401:
                return response
            challenge = response.headers.get("WWW-Authenticate", "")
            answered_by = response.url
            drain(response)
            if not same_origin(str(answered_by), base):
                raise AuthenticationError(
                    f"registry {self.registry} sent us to {answered_by.scheme}://{answered_by.host}, "
                    "which asked for credentials; they are only sent to the registry itself")
            if round_ == 1:
                break
            auth.learn(challenge, over_tls=answered_by.scheme == "https")
            auth.forget(scope, authorization)
            if content is not None and not isinstance(content, bytes):
                raise AuthenticationError(f"registry {self.registry} asked for authentication during an upload")
        if authorization is not None and authorization.startswith("Basic "):
            auth.refuse(scope)  # wrong credentials stay wrong: requests for other images fail without asking again
        raise AuthenticationError(f"authentication to registry {self.registry} refused")

    def _error_for(self, response: Response, method: str, url: str) -> RegistryError:
        status = response.status_code
        where = url.split("?", 1)[0].replace("https://", "").replace("http://", "")
        codes = _error_codes(response)
        detail = f" ({', '.join(codes)})" if codes else ""
        if status in RETRY_STATUSES:
            return TransientRegistryError(
                f"{method} {where}: registry answered {status}{detail}",
                parse_retry_after(response.headers.get("Retry-After")),
            )
        if status == 403:
            return AuthenticationError(f"registry {self.registry} denied access to {where}{detail}")
        if status == 404:
            return NotFound(f"{where} not found{detail}")
        if status == 400 and "MANIFEST_BLOB_UNKNOWN" in codes:
            return ManifestBlobUnknown(f"{method} {where}: registry answered {status}{detail}")
        return RegistryError(f"{method} {where}: registry answered {status}{detail}")


def _error_codes(response: Response) -> list[str]:
    """The error codes of a distribution error body, read from at most MAX_ERROR_BODY bytes (plain ones only)."""
    try:
        document = json.loads(read_capped(response, MAX_ERROR_BODY, "error body"))
        errors = document.get("errors") or []
        codes = [e.get("code") for e in errors[:5] if isinstance(e, dict)]
    except (OkdReleaseError, ValueError, AttributeError, TypeError, TransportError):
        return []
    return [code for code in codes if isinstance(code, str) and _ERROR_CODE.fullmatch(code)]


def _check_path(path: str) -> None:
    """Our own paths are built from checked names; refuse any that a URL parser would rewrite (`..`, `%`)."""
    if path.startswith(("http://", "https://")):
        return  # a URL the registry gave us (Location, Link): sent as given, with no credentials off its origin
    route = path.split("?", 1)[0]
    if (not route.startswith("/v2/") or not route.isascii() or _UNSAFE_IN_PATH.search(route)
            or any(segment in (".", "..") for segment in route.split("/"))):
        raise UnsafeName(f"refusing to request {names.shown(route)}: not a plain registry API path")
