"""Image references: parse, normalise and format `registry/repository[:tag][@digest]` and `file://` targets.

Pure: no I/O. The grammar follows distribution/reference, with docker.io defaults.
"""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct
from msgspec.structs import replace

from okd_release import names
from okd_release.errors import InvalidReference, UnsafeName

DOCKER_HUB = "docker.io"
FILE_SCHEME = "file://"

_MAX_NAME = 255


class Reference(Struct, frozen=True):
    """A parsed image reference. `registry` is empty for on-disk (`file://`) references."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

    def __post_init__(self) -> None:
        # Every Reference holds only names that are safe in a URL or a path, however it was made.
        if self.registry:
            names.check_host(self.registry)
        names.check_repository(self.repository)
        if self.tag is not None:
            names.check_tag(self.tag)
        if self.digest is not None:
            names.check_digest(self.digest)

    @property
    def is_file(self) -> bool:
        return self.registry == ""

    @property
    def name(self) -> str:
        """registry/repository, without tag or digest."""
        if self.is_file:
            return FILE_SCHEME + self.repository
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What to ask the registry for: the digest when known, else the tag (default `latest`)."""
        return self.digest or self.tag or "latest"

    def with_digest(self, digest: str) -> Reference:
        return replace(self, digest=names.check_digest(digest), tag=None)

    def with_tag(self, tag: str) -> Reference:
        return replace(self, tag=names.check_tag(tag), digest=None)

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += ":" + self.tag
        if self.digest:
            text += "@" + self.digest
        return text


def parse(text: str) -> Reference:
    """Parse an image reference, raising InvalidReference with the reason when it is not one."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidReference("invalid image reference: empty")
    original = text
    if text.startswith(FILE_SCHEME):
        return _parse_remainder(original, "", text[len(FILE_SCHEME):])
    if "://" in text:
        raise InvalidReference(f"invalid image reference {names.shown(original)}: unsupported scheme")
    registry, remainder = _split_registry(text)
    return _parse_remainder(original, registry, remainder)


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not names.HOST.fullmatch(first):
            raise InvalidReference(f"invalid image reference {names.shown(text)}: bad registry host {names.shown(first)}")
        registry = "docker.io" if first in ("index.docker.io", "registry-1.docker.io") else first
        return registry, rest
    return DOCKER_HUB, text


def _parse_remainder(original: str, registry: str, remainder: str) -> Reference:
    digest = None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not names.DIGEST.fullmatch(digest):
            raise InvalidReference(f"invalid image reference {names.shown(original)}: bad digest {names.shown(digest)}"
                                   " (expected sha256:<64 lowercase hex>)")
    tag = None
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        remainder, tag = remainder[:colon], remainder[colon + 1:]
        _checked(names.check_tag, tag, original)
    repository = remainder
    if registry == DOCKER_HUB and "/" not in repository:
        repository = "library/" + repository
    _checked(names.check_repository, repository, original)
    if len(f"{registry}/{repository}") > _MAX_NAME:
        raise InvalidReference(f"invalid image reference {names.shown(original)}: name longer than {_MAX_NAME}")
    if tag is None and digest is None and registry:
        tag = "latest"
    return Reference(registry, repository, tag, digest)


def _checked(check: Callable[[str], str], value: str, original: str) -> None:
    try:
        check(value)
    except UnsafeName as error:
        raise InvalidReference(f"invalid image reference {names.shown(original)}: {error}") from None
