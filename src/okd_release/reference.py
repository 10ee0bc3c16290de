"""Image references: parse, normalise and format `registry/repository[:tag][@digest]` and `file://` targets.

Pure: no I/O. The grammar follows distribution/reference, with docker.io defaults.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from okd_release import digest as digests
from okd_release.errors import InvalidReference

DOCKER_HUB = "docker.io"
FILE_SCHEME = "file://"

_PATH_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"^(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?$")
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_MAX_NAME = 255


@dataclass(frozen=True)
class Reference:
    """A parsed image reference. `registry` is empty for on-disk (`file://`) references."""

    registry: str
    repository: str
    tag: str | None = None
    digest: str | None = None

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
        return replace(self, digest=digests.validate(digest), tag=None)

    def with_tag(self, tag: str) -> Reference:
        _check_tag(tag)
        return replace(self, tag=tag, digest=None)

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
        raise InvalidReference(f"invalid image reference {original!r}: unsupported scheme")
    registry, remainder = _split_registry(text)
    return _parse_remainder(original, registry, remainder)


def _split_registry(text: str) -> tuple[str, str]:
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        if not _DOMAIN.match(first):
            raise InvalidReference(f"invalid image reference {text!r}: bad registry host {first!r}")
        registry = "docker.io" if first in ("index.docker.io", "registry-1.docker.io") else first
        return registry, rest
    return DOCKER_HUB, text


def _parse_remainder(original: str, registry: str, remainder: str) -> Reference:
    digest = None
    if "@" in remainder:
        remainder, digest = remainder.split("@", 1)
        if not digest.startswith("sha256:") or len(digest) != 71:
            raise InvalidReference(f"invalid image reference {original!r}: bad digest {digest!r}")
        try:
            digests.validate(digest)
        except InvalidReference:
            raise InvalidReference(f"invalid image reference {original!r}: bad digest {digest!r}") from None
    tag = None
    slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > slash:
        remainder, tag = remainder[:colon], remainder[colon + 1:]
        _check_tag(tag, original)
    repository = remainder
    if registry == DOCKER_HUB and "/" not in repository:
        repository = "library/" + repository
    _check_repository(repository, original)
    if len(f"{registry}/{repository}") > _MAX_NAME:
        raise InvalidReference(f"invalid image reference {original!r}: name longer than {_MAX_NAME}")
    if tag is None and digest is None and registry:
        tag = "latest"
    return Reference(registry, repository, tag, digest)


def _check_tag(tag: str, original: str | None = None) -> None:
    if not _TAG.match(tag):
        where = f" in {original!r}" if original else ""
        raise InvalidReference(f"invalid tag {tag!r}{where}: at most 128 of [A-Za-z0-9_.-], not starting with . or -")


def _check_repository(repository: str, original: str) -> None:
    if not repository:
        raise InvalidReference(f"invalid image reference {original!r}: no repository")
    if repository != repository.lower():
        raise InvalidReference(f"invalid image reference {original!r}: repository must be lowercase")
    for component in repository.split("/"):
        if not _PATH_COMPONENT.match(component):
            raise InvalidReference(f"invalid image reference {original!r}: bad path component {component!r}")
