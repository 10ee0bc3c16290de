"""Image manifests and indexes (Docker v2s2, OCI), parsed from and kept as exact bytes."""

from __future__ import annotations

import json
from typing import Any, Literal

import msgspec
from msgspec import Struct

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release.content import Descriptor, DescriptorDocument, RawManifest
from okd_release.documents import decode_json
from okd_release.errors import ManifestError


class ImageManifest(Struct, frozen=True):
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


class ImageIndex(Struct, frozen=True):
    raw: RawManifest
    manifests: tuple[Descriptor, ...]

    @property
    def digest(self) -> str:
        return self.raw.digest

    @property
    def media_type(self) -> str:
        return self.raw.media_type


Manifest = ImageManifest | ImageIndex


class ImageManifestDocument(msgspec.Struct, frozen=True, rename={"schema_version": "schemaVersion"}):
    """A Docker v2s2 or OCI image manifest, as JSON has it (what we read of it)."""

    schema_version: Literal[2]
    config: DescriptorDocument
    layers: list[DescriptorDocument]


class IndexDocument(msgspec.Struct, frozen=True):
    """A Docker manifest list or OCI index, as JSON has it (what we read of it)."""

    manifests: list[DescriptorDocument]


def parse(raw: RawManifest, where: str = "manifest") -> Manifest:
    """The manifest of `raw`'s bytes (which stay as they are: its digest is of them) by its media type."""
    if raw.media_type in mediatypes.INDEXES:
        index = decode_json(raw.data, IndexDocument, where, ManifestError)
        return ImageIndex(raw, tuple(entry.descriptor() for entry in index.manifests))
    if raw.media_type in mediatypes.IMAGE_MANIFESTS:
        image = decode_json(raw.data, ImageManifestDocument, where, ManifestError)
        return ImageManifest(raw, image.config.descriptor(), tuple(layer.descriptor() for layer in image.layers))
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
