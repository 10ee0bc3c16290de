"""Forward proxies from HTTP_PROXY / HTTPS_PROXY / NO_PROXY, with the rules of Go's httpproxy package.

podman, skopeo, oc and docker all read the proxy variables through Go's golang.org/x/net/http/httpproxy, so
a user's environment means the same here: upper case wins over lower case, https URLs use HTTPS_PROXY and
http URLs HTTP_PROXY, a proxy without a scheme is http://, and `localhost` and loopback addresses are never
proxied, listed in NO_PROXY or not. NO_PROXY entries are `*`, domains (`example.com` matches it and its
subdomains, `.example.com` and `*.example.com` only subdomains), IP addresses and CIDR blocks, each with an
optional `:port` (not CIDR blocks).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from msgspec import Struct

from okd_release.errors import ConfigError
from okd_release.registry.url import URL, InvalidURL, parse_url

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _variable(environment: Mapping[str, str], name: str) -> tuple[str, str]:
    """The first non-empty of NAME and name, and which it was (Go's getEnvAny)."""
    for key in (name, name.lower()):
        value = environment.get(key, "")
        if value:
            return key, value
    return name, ""


def _parse_proxy(variable: str, value: str) -> URL:
    candidate = value if "://" in value else "http://" + value
    try:
        url: URL | None = parse_url(candidate)
    except InvalidURL:
        url = None
    if url is None or not url.host:
        raise ConfigError(f"{variable} is not a proxy URL (expected http://HOST:PORT)")  # the value may hold a password
    if url.scheme not in ("http", "https"):
        raise ConfigError(f"{variable} names a {url.scheme} proxy; only http:// and https:// proxies are supported")
    return url


class _Exclusion(Struct, frozen=True):
    """One NO_PROXY entry."""

    domain: str = ""  # ".example.com"
    exact_too: bool = False  # the domain itself matches (entry without a leading "." or "*.")
    address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    port: int | None = None

    def matches(self, host: str, port: int, address: ipaddress.IPv4Address | ipaddress.IPv6Address | None) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return address is not None and address in self.network
        if self.address is not None:
            return address == self.address
        return host.endswith(self.domain) or (self.exact_too and host == self.domain[1:])


def _exclusion(entry: str) -> _Exclusion | None:
    """A NO_PROXY entry as Go reads it; None for one that cannot be read (Go ignores those too)."""
    if "/" in entry:
        try:
            return _Exclusion(network=ipaddress.ip_network(entry, strict=False))
        except ValueError:
            return None
    host, port = entry, None
    if entry.startswith("[") and "]" in entry:  # [::1]:5000
        host, _, rest = entry[1:].partition("]")
        port = _port(rest[1:]) if rest.startswith(":") else None
    elif entry.count(":") == 1:
        host, _, text = entry.partition(":")
        port = _port(text)
    try:
        return _Exclusion(address=ipaddress.ip_address(host), port=port)
    except ValueError:
        pass
    if host.startswith("*."):
        host = host[1:]
    if not host:
        return None
    if host.startswith("."):
        return _Exclusion(domain=host, port=port)
    return _Exclusion(domain="." + host, exact_too=True, port=port)


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() else None


class ProxySettings(Struct, frozen=True):
    """Which proxy, if any, a request goes through."""

    http: URL | None = None
    https: URL | None = None
    bypass_all: bool = False
    exclusions: tuple[_Exclusion, ...] = ()

    @classmethod
    def from_environment(cls, environment: Mapping[str, str] | None = None) -> ProxySettings:
        environment = os.environ if environment is None else environment
        http_name, http = _variable(environment, "HTTP_PROXY")
        https_name, https = _variable(environment, "HTTPS_PROXY")
        _, no_proxy = _variable(environment, "NO_PROXY")
        entries = [entry.strip().lower() for entry in no_proxy.split(",") if entry.strip()]
        exclusions = tuple(e for e in map(_exclusion, entries) if e is not None)
        return cls(_parse_proxy(http_name, http) if http else None, _parse_proxy(https_name, https) if https else None,
                   "*" in entries, exclusions)

    def proxy_for(self, url: URL) -> URL | None:
        """The proxy for a request to `url`, or None to connect directly."""
        proxy = self.https if url.scheme == "https" else self.http if url.scheme == "http" else None
        if proxy is None or self.bypass_all:
            return None
        host = url.host.lower().rstrip(".")
        if host == "localhost":
            return None
        try:
            address: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.is_loopback:
            return None
        port = url.port or _DEFAULT_PORTS.get(url.scheme, 0)
        if any(exclusion.matches(host, port, address) for exclusion in self.exclusions):
            return None
        return proxy


def shown(proxy: URL) -> str:
    """A proxy as messages name it: scheme, host and port, never its credentials."""
    return f"{proxy.scheme}://{proxy.authority}"
