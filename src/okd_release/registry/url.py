"""Absolute http(s) URLs as the registry layer sends them: parsed once, refused when a request line could not
carry them (spaces, control characters, no host, a port that is not one)."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from urllib.parse import unquote, urlencode, urlsplit

from msgspec import Struct

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSENDABLE = re.compile(r"[\x00-\x20\x7f]")


class InvalidURL(ValueError):
    """Text that is not an absolute URL a request can be sent to."""


class URL(Struct, frozen=True):
    scheme: str  # lower case
    host: str  # lower case; an IPv6 address without its brackets
    port: int | None  # None: the scheme's default
    path: str = ""
    query: str = ""
    username: str = ""  # percent-decoded
    password: str = ""

    @property
    def effective_port(self) -> int:
        return self.port if self.port is not None else _DEFAULT_PORTS.get(self.scheme, 0)

    @property
    def authority(self) -> str:
        """host[:port] as a Host header or a CONNECT request names it (the port only when not the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None or self.port == _DEFAULT_PORTS.get(self.scheme) else f"{host}:{self.port}"

    @property
    def host_port(self) -> str:
        """host:port, the port always given (a CONNECT request's target)."""
        return f"[{self.host}]:{self.effective_port}" if ":" in self.host else f"{self.host}:{self.effective_port}"

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.effective_port

    @property
    def target(self) -> str:
        """The request target: path and query."""
        return (self.path or "/") + (f"?{self.query}" if self.query else "")

    def with_params(self, params: Mapping[str, str] | None) -> URL:
        """This URL with `params` added to its query (what it has is kept as it is)."""
        if not params:
            return self
        added = urlencode(params)
        return URL(self.scheme, self.host, self.port, self.path, f"{self.query}&{added}" if self.query else added,
                   self.username, self.password)

    def __str__(self) -> str:
        userinfo = f"{self.username}:{self.password}@" if self.username or self.password else ""
        return f"{self.scheme}://{userinfo}{self.authority}{self.path}" + (f"?{self.query}" if self.query else "")


def parse_url(text: str) -> URL:
    """`text` as an absolute URL; InvalidURL when it has no scheme or host, an unusable port, or characters no
    request line can carry (a fragment is dropped: it is never sent)."""
    if not isinstance(text, str) or _UNSENDABLE.search(text):
        raise InvalidURL("a URL with spaces or control characters")
    try:
        parts = urlsplit(text)
        port = parts.port
        host = parts.hostname or ""
    except ValueError as error:
        raise InvalidURL(str(error)) from None
    if not parts.scheme or not host:
        raise InvalidURL("not an absolute URL")
    return URL(parts.scheme.lower(), host.lower(), port, parts.path, parts.query,
               unquote(parts.username or ""), unquote(parts.password or ""))


def same_origin(url: str | URL, base: str) -> bool:
    """Whether `url` has the scheme, host and port of `base`."""
    try:
        return (url if isinstance(url, URL) else parse_url(url)).origin == _origin(base)
    except InvalidURL:
        return False


@functools.lru_cache(maxsize=64)
def _parsed_base(base: str) -> URL:
    """A registry's base URL is asked about on every request: parsed once."""
    return parse_url(base)


def _origin(base: str) -> tuple[str, str, int]:
    return _parsed_base(base).origin


def on_base(base: str, path: str) -> URL:
    """`path`, an absolute path with its query, on the registry's `base` URL: `parse_url(base + path)` without
    parsing the base again (a path with what parse_url refuses or drops is parsed in full, and refused)."""
    if _UNSENDABLE.search(path) or "#" in path:
        return parse_url(base + path)
    parsed = _parsed_base(base)
    route, _, query = path.partition("?")
    return URL(parsed.scheme, parsed.host, parsed.port, route, query)
