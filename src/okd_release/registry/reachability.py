"""Connection failures that retrying cannot cure: a host name that does not resolve, a port nobody listens on,
TLS spoken to a plain-HTTP registry. Reported at once with what to do, instead of after every retry."""

from __future__ import annotations

import socket

from okd_release.errors import RegistryError
from okd_release.registry.failures import ConnectError
from okd_release.registry.proxy import ProxySettings, shown
from okd_release.registry.url import InvalidURL, parse_url

# What OpenSSL says when the peer answers a TLS ClientHello with something that is not TLS (plain HTTP)
_NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"})
_NO_SUCH_NAME = frozenset(
    code for code in (getattr(socket, name, None) for name in ("EAI_NONAME", "EAI_NODATA", "EAI_AGAIN", "EAI_FAIL"))
    if code is not None)


class Unreachable(RegistryError):
    """A registry (or the proxy in front of it) that cannot be reached, for a reason a retry would not change."""


def _causes(error: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def answered_plain_http(error: ConnectError, registry: str) -> bool:
    """Whether the TLS handshake with `registry` failed because it answered with plain HTTP, no proxy between
    for HTTPS nor for HTTP: the registry is then there, and the way to it for HTTP is the way that answered."""
    try:
        settings = ProxySettings.from_environment()
        if any(settings.proxy_for(parse_url(f"{scheme}://{registry}")) is not None for scheme in ("https", "http")):
            return False
    except (InvalidURL, RegistryError, ValueError):
        return False
    return any(map(_not_tls, _causes(error)))


def _not_tls(cause: BaseException) -> bool:
    """Whether `cause` is OpenSSL's finding that the peer answered a ClientHello with something not TLS."""
    import ssl  # noqa: PLC0415 - only once a connection has failed

    return isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS


def permanent_failure(error: ConnectError, registry: str, url: str, *,
                      plain_http_is_fatal: bool = True) -> Unreachable | None:
    """The one-line error for a connection failure that will not go away, or None for one worth retrying.

    `url` is what was asked for: when it went through a proxy, the proxy is what could not be reached.
    `plain_http_is_fatal`: False while --insecure probes https before falling back to http.
    """
    try:
        asked = parse_url(url)
        proxy = ProxySettings.from_environment().proxy_for(asked)
    except (InvalidURL, RegistryError, ValueError):
        return None
    peer = proxy or asked
    name = peer.host
    address = f"{name}:{peer.port}" if peer.port is not None else name
    where = f"proxy {shown(proxy)} (for registry {registry})" if proxy else f"registry {registry}"
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror) and cause.errno in _NO_SUCH_NAME:
            return Unreachable(f"cannot resolve host {name}: {where} is unreachable (check the name and the machine's DNS)")
        if isinstance(cause, ConnectionRefusedError):
            return Unreachable(f"nothing listens on {address}: {where} refused the connection (check the host and port)")
        if plain_http_is_fatal and proxy is None and _not_tls(cause):
            return Unreachable(f"registry {registry} answered plain HTTP to an HTTPS request: add --insecure to use it")
    return None
