"""Checks for names that come from outside (references typed by users, payloads, registries) before they
become URLs or file paths: registry hosts, tags, repositories, digests and single file-name components.

Each check is a full match against an ASCII-only grammar (distribution's for tags, repositories and
digests), so a trailing newline, a Unicode letter or a `..` never passes. Each returns the text it was given.
"""

from __future__ import annotations

import re

from okd_release.errors import UnsafeName

TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
DIGEST = re.compile(r"sha256:[a-f0-9]{64}")
_HOST_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
HOST = re.compile(rf"(?:{_HOST_COMPONENT}(?:\.{_HOST_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]{{1,5}})?")
MAX_REPOSITORY = 255
MAX_FILE_NAME = 255
_SHOWN = 200  # how much of a rejected value an error message repeats


def shown(value: object) -> str:
    """`value` as it appears in an error message: its repr, shortened when long (one line, never raw bytes)."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def check_tag(text: object, what: str = "tag") -> str:
    """A tag: at most 128 of [A-Za-z0-9_.-], not starting with `.` or `-`."""
    if not isinstance(text, str) or not TAG.fullmatch(text):
        raise UnsafeName(f"invalid {what} {shown(text)}: at most 128 of [A-Za-z0-9_.-], not starting with . or -")
    return text


def check_digest(text: object, what: str = "digest") -> str:
    """A content digest: `sha256:` and 64 lowercase hex digits."""
    if not isinstance(text, str) or not DIGEST.fullmatch(text):
        raise UnsafeName(f"invalid {what} {shown(text)}: expected sha256:<64 lowercase hex>")
    return text


def check_repository(text: object, what: str = "repository") -> str:
    """A repository path: lowercase components of [a-z0-9] joined by `.`, `_`, `__` or dashes, separated by `/`."""
    if not isinstance(text, str) or not text:
        raise UnsafeName(f"invalid {what} {shown(text)}: no repository")
    if len(text) > MAX_REPOSITORY:
        raise UnsafeName(f"invalid {what} {shown(text)}: longer than {MAX_REPOSITORY} characters")
    if text != text.lower():
        raise UnsafeName(f"invalid {what} {shown(text)}: repository must be lowercase")
    for component in text.split("/"):
        if not PATH_COMPONENT.fullmatch(component):
            raise UnsafeName(f"invalid {what} {shown(text)}: bad path component {shown(component)} "
                             "(lowercase letters and digits, separated by ., _, __ or -)")
    return text


def check_host(text: object, what: str = "registry host") -> str:
    """A registry host: a DNS name or a bracketed IPv6 address, with an optional port."""
    if not isinstance(text, str) or not HOST.fullmatch(text):
        raise UnsafeName(f"invalid {what} {shown(text)}: expected a host name or [IPv6 address], with an optional :port")
    return text


def check_reference(text: object, what: str = "manifest reference") -> str:
    """What a manifest URL names: a digest when the text has a colon, else a tag."""
    if isinstance(text, str) and ":" in text:
        return check_digest(text, what)
    return check_tag(text, what)


def check_path_component(text: object, what: str = "file name") -> str:
    """One safe file-name component: printable ASCII, no `/`, `\\` or NUL, not `.` or `..`, at most 255 characters."""
    if not isinstance(text, str) or not text:
        raise UnsafeName(f"invalid {what} {shown(text)}: empty")
    if len(text) > MAX_FILE_NAME:
        raise UnsafeName(f"invalid {what} {shown(text)}: longer than {MAX_FILE_NAME} characters")
    if text in (".", ".."):
        raise UnsafeName(f"invalid {what} {shown(text)}: not a file name")
    if "/" in text or "\\" in text:
        raise UnsafeName(f"invalid {what} {shown(text)}: contains a path separator")
    if not all(" " <= character <= "~" for character in text):
        raise UnsafeName(f"invalid {what} {shown(text)}: only printable ASCII is allowed")
    return text
