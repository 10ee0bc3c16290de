"""Image manifests and indexes (Docker v2s2, OCI), parsed from and kept as exact bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import Descriptor, RawManifest
from okd_release.errors import ManifestError


@dataclass(frozen=True)
class ImageManifest:
    raw: RawManifest
    config: Descriptor
    layers: tuple[Descriptor, ...]

    @property
    def digest(self) -> str:
        return self.raw.digest

    @property
    def media_type(self) -> str:
        return self.raw.media_type

    def blobs(self) -> tuple[Descriptor, ...]:
        return (self.config, *self.layers)


@dataclass(frozen=True)
class ImageIndex:
    raw: RawManifest
    manifests: tuple[Descriptor, ...]

    @property
    def digest(self) -> str:
        return self.raw.digest

    @property
    def media_type(self) -> str:
        return self.raw.media_type


Manifest = ImageManifest | ImageIndex


def parse(raw: RawManifest, where: str = "manifest") -> Manifest:
    try:
        document = json.loads(raw.data)
    except ValueError:
        raise ManifestError(f"{where} is not valid JSON") from None
    if not isinstance(document, dict):
        raise ManifestError(f"{where} is not a JSON object")
    if raw.media_type in mediatypes.INDEXES:
        entries = document.get("manifests")
        if not isinstance(entries, list):
            raise ManifestError(f"{where} is an index without 'manifests'")
        return ImageIndex(raw, tuple(Descriptor.from_json(e, where) for e in entries))
    if raw.media_type in mediatypes.IMAGE_MANIFESTS:
        if document.get("schemaVersion") != 2 or not isinstance(document.get("layers"), list):
            raise ManifestError(f"{where} is not a schema 2 image manifest")
        return ImageManifest(
            raw,
            Descriptor.from_json(document.get("config"), where),
            tuple(Descriptor.from_json(layer, where) for layer in document["layers"]),
        )
    raise ManifestError(f"{where} has unsupported media type {raw.media_type!r}")


def encode(document: dict[str, Any]) -> bytes:
    """Serialise a manifest or config we build; deterministic so that digests are reproducible."""
    return json.dumps(document, indent=2, separators=(",", ": ")).encode()


def build_image_manifest(
    config: Descriptor, layers: list[Descriptor], media_type: str = mediatypes.DOCKER_MANIFEST
) -> ImageManifest:
    document = {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    data = encode(document)
    return ImageManifest(RawManifest(data, media_type, digests.of(data)), config, tuple(layers))


def build_index(entries: list[Descriptor], media_type: str = mediatypes.DOCKER_MANIFEST_LIST) -> ImageIndex:
    data = encode({"schemaVersion": 2, "mediaType": media_type, "manifests": [e.to_json() for e in entries]})
    return ImageIndex(RawManifest(data, media_type, digests.of(data)), tuple(entries))
