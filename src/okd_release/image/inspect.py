"""What `image info` shows: digest, media type, platform, created, labels, layers, or an index's platforms."""

from __future__ import annotations

from typing import Any

from msgspec import Struct, field

from okd_release.image import manifest as manifests
from okd_release.image.config import ImageConfig
from okd_release.image.manifest import ImageIndex, ImageManifest
from okd_release.image.store import ImageStore, read_blob
from okd_release.reference import Reference


class LayerInfo(Struct, frozen=True):
    digest: str
    size: int
    media_type: str


class ImageInfo(Struct, frozen=True):
    reference: str
    digest: str
    media_type: str
    platform: str = ""
    created: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    layers: tuple[LayerInfo, ...] = ()
    platforms: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        return sum(layer.size for layer in self.layers)

    def as_dict(self) -> dict[str, Any]:
        value: dict[str, Any] = {"reference": self.reference, "digest": self.digest, "mediaType": self.media_type}
        if self.platforms:
            value["manifests"] = [{"platform": p, "digest": d} for p, d in self.platforms]
        else:
            value.update(
                platform=self.platform, created=self.created, labels=self.labels,
                layers=[{"digest": la.digest, "size": la.size, "mediaType": la.media_type} for la in self.layers],
            )
        return value


def load_config(store: ImageStore, repository: str, image: ImageManifest, where: str) -> ImageConfig:
    data = read_blob(store, repository, image.config)
    return ImageConfig.parse(data, f"config of {where}")


def inspect(store: ImageStore, reference: Reference) -> ImageInfo:
    raw = store.get_manifest(reference.repository, reference.identifier)
    parsed = manifests.parse(raw, f"manifest of {reference}")
    if isinstance(parsed, ImageIndex):
        platforms = tuple((str(e.platform or "unknown"), e.digest) for e in parsed.manifests)
        return ImageInfo(str(reference), parsed.digest, parsed.media_type, platforms=platforms)
    config = load_config(store, reference.repository, parsed, str(reference))
    return ImageInfo(
        str(reference), parsed.digest, parsed.media_type, str(config.platform), config.created, config.labels,
        tuple(LayerInfo(la.digest, la.size, la.media_type) for la in parsed.layers),
    )
