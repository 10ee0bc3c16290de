"""Content types shared by the registry client and the image model: exact manifest bytes, descriptors, chunked streams.

Below both `registry` and `image`: it knows nothing of HTTP or of files.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Struct, field

from okd_release import names
from okd_release.errors import ManifestError

CHUNK = 1024 * 1024
"""How many bytes a blob stream reads at a time."""

Digest = Annotated[str, msgspec.Meta(pattern=rf"\A(?:{names.DIGEST.pattern})\Z")]
"""A digest field of a document: `sha256:` and 64 lowercase hex digits, nothing around them."""

Size = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""A size field of a document: what Go's int64 (and so every registry) can hold, never negative."""


class RawManifest(Struct, frozen=True):
    """A manifest (or index) exactly as stored: its bytes, media type and the digest of those bytes."""

    data: bytes
    media_type: str
    digest: str


class Platform(Struct, frozen=True):
    os: str
    architecture: str
    variant: str = ""

    def __str__(self) -> str:
        return f"{self.os}/{self.architecture}" + (f"/{self.variant}" if self.variant else "")

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ManifestError(f"invalid platform {text!r}: expected os/arch[/variant]")
        return cls(*parts)


class Descriptor(Struct, frozen=True):
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    # Annotations do not make another blob: two descriptors of the same content are equal whatever they carry.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Descriptor):
            return NotImplemented
        return (self.media_type, self.digest, self.size, self.platform) == (
            other.media_type, other.digest, other.size, other.platform)

    def __hash__(self) -> int:
        return hash((self.media_type, self.digest, self.size, self.platform))

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": self.digest}
        if self.platform:
            value["platform"] = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                value["platform"]["variant"] = self.platform.variant
        if self.annotations:
            value["annotations"] = self.annotations
        return value


class PlatformDocument(msgspec.Struct, frozen=True):
    """`platform` of an index entry, as JSON has it (os.version, os.features and the like are ignored)."""

    os: str
    architecture: str
    variant: str = ""

    def platform(self) -> Platform:
        return Platform(self.os, self.architecture, self.variant)


class DescriptorDocument(msgspec.Struct, frozen=True, rename={"media_type": "mediaType"}):
    """A descriptor as JSON has it: what a manifest says of its config and layers, an index of its manifests."""

    digest: Digest
    size: Size
    media_type: str = ""
    platform: PlatformDocument | None = None
    annotations: dict[str, str] | None = None

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size,
                          self.platform.platform() if self.platform else None, dict(self.annotations or {}))
