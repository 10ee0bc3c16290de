"""Content types shared by the registry client and the image model: exact manifest bytes, descriptors, chunked streams.

Below both `registry` and `image`: it knows nothing of HTTP or of files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from okd_release import digest as digests
from okd_release.errors import ManifestError

CHUNK = 1024 * 1024
"""How many bytes a blob stream reads at a time."""


@dataclass(frozen=True)
class RawManifest:
    """A manifest (or index) exactly as stored: its bytes, media type and the digest of those bytes."""

    data: bytes
    media_type: str
    digest: str


@dataclass(frozen=True)
class Platform:
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


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_json(cls, value: Any, where: str) -> Descriptor:
        try:
            platform = value.get("platform")
            return cls(
                media_type=str(value.get("mediaType", "")),
                digest=digests.validate(value["digest"]),
                size=int(value["size"]),
                platform=Platform(platform["os"], platform["architecture"], platform.get("variant", ""))
                if isinstance(platform, dict) else None,
                annotations=dict(value.get("annotations") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ManifestError(f"{where} has an invalid descriptor: {error}") from None

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"mediaType": self.media_type, "size": self.size, "digest": self.digest}
        if self.platform:
            value["platform"] = {"architecture": self.platform.architecture, "os": self.platform.os}
            if self.platform.variant:
                value["platform"]["variant"] = self.platform.variant
        if self.annotations:
            value["annotations"] = self.annotations
        return value
