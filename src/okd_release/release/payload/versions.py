"""Component versions: the `io.openshift.build.versions` and `...version-display-names` label values.

The rules are oc's (`parseComponentVersionsLabel` in image_mapper.go): keys of lowercase ASCII letters,
digits and inner dashes, at least two characters; values semantic versions (build metadata dropped);
display names of letters, digits, spaces and `().:-`.
"""

from __future__ import annotations

import re

from okd_release.errors import PayloadError

COMPONENT_VERSION_KEYS = ("kubernetes", "machine-os", "kernel", "crio", "kubectl", "kubernetes-tests")
"""The versions `info` shows first, in this order (oc's)."""

_KEY = re.compile(r"[a-z0-9]+[\-a-z0-9]*[a-z0-9]+")
_DISPLAY_NAME = re.compile(r"[a-zA-Z0-9\-:\t\n\f\r ().]+")  # Go's \s is these five, not Unicode spaces
_GO_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
            "\u2028\u2029\u202f\u205f\u3000"  # what Go's strings.TrimSpace trims (str.strip() also trims \x1c-\x1f)
_DIGITS = frozenset("0123456789")
_ALPHANUMERIC = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-")
_UINT64_MAX = 2**64 - 1


def _number(text: str, what: str, version: str) -> None:
    if not text or not set(text) <= _DIGITS or int(text) > _UINT64_MAX:
        raise PayloadError(f"{version!r} is not a semantic version: invalid {what} number {text!r}")
    if len(text) > 1 and text[0] == "0":
        raise PayloadError(f"{version!r} is not a semantic version: {what} number {text!r} has a leading zero")


def parse_semver(version: str) -> str:
    """`version` checked as a semantic version (blang/semver's rules, as oc) and returned without build metadata."""
    parts = version.split(".", 2)
    if len(parts) != 3:
        raise PayloadError(f"{version!r} is not a semantic version: expected MAJOR.MINOR.PATCH")
    major, minor, patch = parts
    patch, plus, build = patch.partition("+")
    patch, dash, prerelease = patch.partition("-")
    for text, what in ((major, "major"), (minor, "minor"), (patch, "patch")):
        _number(text, what, version)
    for identifier in prerelease.split(".") if dash else ():
        if set(identifier) <= _DIGITS:
            _number(identifier, "pre-release", version)
        elif not set(identifier) <= _ALPHANUMERIC:
            raise PayloadError(f"{version!r} is not a semantic version: invalid pre-release {identifier!r}")
    for identifier in build.split(".") if plus else ():
        if not identifier or not set(identifier) <= _ALPHANUMERIC:
            raise PayloadError(f"{version!r} is not a semantic version: invalid build metadata {identifier!r}")
    return f"{major}.{minor}.{patch}" + (f"-{prerelease}" if dash else "")


def _check_key(key: str, pair: str) -> None:
    if len(key) < 2:
        raise PayloadError(f"invalid component version {pair!r}: the name {key!r} must be at least 2 characters")
    if not _KEY.fullmatch(key):
        raise PayloadError(f"invalid component version {pair!r}: the name {key!r} must only be "
                           "lowercase ASCII letters, digits and inner hyphens")


def _display_names(value: str) -> dict[str, str]:
    names: dict[str, str] = {}
    for pair in value.split(","):
        pair = pair.strip(_GO_SPACE)
        key, sep, name = pair.partition("=")
        if not sep:
            raise PayloadError(f"invalid version display name {pair!r}: expected NAME=DISPLAYNAME")
        _check_key(key, pair)
        if not _DISPLAY_NAME.fullmatch(name):
            raise PayloadError(f"invalid version display name {pair!r}: only letters, digits, spaces and ().:- are allowed")
        names[key] = name
    return names


def parse_versions(value: str, display_names: str = "") -> dict[str, tuple[str, str]]:
    """`kubernetes=1.28.3,machine-os=39.1.0` (+ display names) → {key: (version, display name)}.

    An empty label is no versions (its display names are then not read); a later pair wins over an earlier
    one with the same key; every pair is checked, so a trailing comma is an error (all as oc).
    """
    value = value.strip(_GO_SPACE)
    if not value:
        return {}
    names = _display_names(display_names) if display_names else {}
    versions: dict[str, tuple[str, str]] = {}
    for pair in value.split(","):
        pair = pair.strip(_GO_SPACE)
        key, sep, version = pair.partition("=")
        if not sep:
            raise PayloadError(f"invalid component version {pair!r}: expected NAME=VERSION")
        _check_key(key, pair)
        versions[key] = (parse_semver(version), names.get(key, ""))
    return versions
