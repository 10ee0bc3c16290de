"""Image configs: labels, platform, creation time and rootfs, kept with their exact bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from okd_release import digest as digests
from okd_release.content import Platform
from okd_release.errors import ManifestError
from okd_release.image.manifest import encode


@dataclass(frozen=True)
class ImageConfig:
    data: bytes
    document: dict[str, Any]

    @classmethod
    def parse(cls, data: bytes, where: str = "image config") -> ImageConfig:
        try:
            document = json.loads(data)
        except ValueError:
            raise ManifestError(f"{where} is not valid JSON") from None
        if not isinstance(document, dict):
            raise ManifestError(f"{where} is not a JSON object")
        return cls(data, document)

    @classmethod
    def build(cls, document: dict[str, Any]) -> ImageConfig:
        return cls(encode(document), document)

    @property
    def digest(self) -> str:
        return digests.of(self.data)

    @property
    def labels(self) -> dict[str, str]:
        labels = (self.document.get("config") or {}).get("Labels") or {}
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}

    @property
    def platform(self) -> Platform:
        return Platform(
            str(self.document.get("os", "")), str(self.document.get("architecture", "")),
            str(self.document.get("variant", "")),
        )

    @property
    def created(self) -> str:
        return str(self.document.get("created", ""))

    @property
    def diff_ids(self) -> list[str]:
        return list((self.document.get("rootfs") or {}).get("diff_ids") or [])
