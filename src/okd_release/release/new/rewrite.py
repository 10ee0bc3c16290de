"""Manifest rewriting as oc's image_mapper.go does it: placeholder pullspecs and version strings.

A placeholder repository followed by an optional `:tag` or `@digest` is replaced by the release's pullspec
for that component, when bounded by non-word characters (quotes, whitespace, line ends).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from okd_release.errors import PayloadError

_SUFFIX = r"(?::[\w][\w.-]{0,127}|@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{2,})?"
_VERSION = re.compile(rb"(?<![\w.-])0\.0\.1-snapshot(?:-([a-z0-9][a-z0-9-]*))?(?![\w.])")


def strip_locator(pullspec: str) -> str:
    """`repo:tag` or `repo@digest` → `repo` (the part the mapper matches on)."""
    if "@" in pullspec:
        return pullspec.split("@", 1)[0]
    slash = pullspec.rfind("/")
    colon = pullspec.rfind(":")
    return pullspec[:colon] if colon > slash else pullspec


def image_mapper(targets: dict[str, str]) -> Callable[[bytes], bytes]:
    """Replace each source repository (with optional tag/digest) by its target pullspec."""
    if not targets:
        return lambda data: data
    alternatives = "|".join(re.escape(s) for s in sorted(targets, key=len, reverse=True))
    pattern = re.compile(rf"(\W|^)({alternatives}){_SUFFIX}(?=[\s\"']|$)".encode(), re.MULTILINE)
    encoded = {s.encode(): t.encode() for s, t in targets.items()}

    def rewrite(data: bytes) -> bytes:
        return pattern.sub(lambda m: m.group(1) + encoded[m.group(2)], data)

    return rewrite


def version_mapper(release: str, versions: dict[str, tuple[str, str]]) -> Callable[[bytes], bytes]:
    """`0.0.1-snapshot` → the release name; `0.0.1-snapshot-<key>` → that component's version."""

    def replace(match: re.Match[bytes]) -> bytes:
        key = match.group(1)
        if key is None:
            return release.encode()
        name = key.decode()
        if name not in versions:
            raise PayloadError(f"a manifest asks for version 0.0.1-snapshot-{name} but no image declares a {name} version")
        return versions[name][0].encode()

    return lambda data: _VERSION.sub(replace, data)
