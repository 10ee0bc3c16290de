"""Image configs: labels, platform, creation time and rootfs, kept with their exact bytes."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import Struct

from okd_release import digest as digests
from okd_release.content import Digest, Platform
from okd_release.documents import convert, decode_json
from okd_release.errors import ManifestError
from okd_release.image.manifest import encode


class ContainerConfigDocument(msgspec.Struct, frozen=True):
    """`config` of an image config: what the image runs with (we read only its labels)."""

    labels: dict[str, str] | None = msgspec.field(default=None, name="Labels")


class RootfsDocument(msgspec.Struct, frozen=True):
    diff_ids: list[Digest] | None = None


class ConfigDocument(msgspec.Struct, frozen=True):
    """An image config as JSON has it; null stands for absent, as Docker writes `"Labels": null`."""

    architecture: str = ""
    os: str = ""
    variant: str = ""
    created: str = ""
    config: ContainerConfigDocument | None = None
    rootfs: RootfsDocument | None = None
    history: list[dict[str, Any]] | None = None


class ImageConfig(Struct, frozen=True):
    data: bytes
    document: dict[str, Any]  # all of it, for `new` to extend; read through `schema`
    schema: ConfigDocument  # read from data

    @classmethod
    def parse(cls, data: bytes, where: str = "image config") -> ImageConfig:
        schema = decode_json(data, ConfigDocument, where, ManifestError)
        return cls(data, decode_json(data, dict[str, Any], where, ManifestError), schema)

    @classmethod
    def build(cls, document: dict[str, Any]) -> ImageConfig:
        return cls(encode(document), document, convert(document, ConfigDocument, "image config", ManifestError))

    @property
    def digest(self) -> str:
        return digests.of(self.data)

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.schema.config.labels or {}) if self.schema.config else {}

    @property
    def platform(self) -> Platform:
        return Platform(self.schema.os, self.schema.architecture, self.schema.variant)

    @property
    def created(self) -> str:
        return self.schema.created

    @property
    def diff_ids(self) -> list[str]:
        return list(self.schema.rootfs.diff_ids or []) if self.schema.rootfs else []
