"""`info`: what a release holds, as typed values; the CLI only formats them.

Everything the default view shows comes from the payload itself. Component images are fetched (their
manifests and configs, concurrently) only for views that need them (`--size`, `--include-images`,
`--verify`), as oc does; an image that cannot be read is a warning, as in oc.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from msgspec import Struct, field

from okd_release.background import Parallel
from okd_release.errors import NotFound, OkdReleaseError, PayloadError
from okd_release.image.config import ImageConfig
from okd_release.registry.session import Registries
from okd_release.release.info import gojson
from okd_release.release.info.files import release_files
from okd_release.release.info.versions import ComponentVersion, read_component_versions
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.model import (
    ANNOTATION_COMMIT,
    ANNOTATION_SOURCE,
    IMAGE_REFERENCES,
    RELEASE_METADATA,
    ImageTag,
)
from okd_release.release.payload.source import ReleaseImage

__all__ = ["ComponentVersion", "ImageEntry", "FetchedImage", "ReleaseInfo", "describe", "commit_url"]

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
"""What oc counts as a manifest; any other file beside image-references and release-metadata is a metadata file."""


class FetchedImage(Struct, frozen=True):
    """A component image as read from its registry (oc's `Image`)."""

    digest: str
    media_type: str
    layers: tuple[tuple[str, str, int], ...]
    """(media type, digest, size) of each layer."""
    config: ImageConfig
    list_digest: str = ""

    @property
    def size(self) -> int:
        return sum(size for _, _, size in self.layers)

    def as_dict(self, name: str) -> dict[str, Any]:
        config = gojson.image_config({**self.config.document, "size": self.size})  # oc: the sum of the layers
        return {"name": name, "digest": self.digest, "contentDigest": self.digest, "listDigest": self.list_digest,
                "mediaType": self.media_type,
                "layers": [gojson.descriptor(*layer) for layer in self.layers], "config": config}


class ImageEntry(Struct, frozen=True):
    """One tag of image-references: where it points, its build source, and (when fetched) the image."""

    name: str
    pullspec: str
    digest: str
    source: str = ""
    commit: str = ""
    commit_url: str = ""
    annotations: dict[str, str] = field(default_factory=dict)
    fetched: FetchedImage | None = None

    @property
    def size(self) -> int | None:
        return self.fetched.size if self.fetched else None

    @property
    def layers(self) -> tuple[tuple[str, int], ...]:
        return tuple((digest, size) for _, digest, size in self.fetched.layers) if self.fetched else ()


class ReleaseInfo(Struct, frozen=True):
    """What `info` shows about a release, as values (from `describe`); `as_dict()` is the `-o json` document."""

    name: str
    """The release as it was named (oc's `image`)."""
    digest: str
    """The release's digest: the manifest list's for a multi-arch release."""
    created: str
    platform: str
    pull_from: str
    version: str
    upgrades: tuple[str, ...]
    metadata: dict[str, Any]
    manifests: int
    component_versions: tuple[ComponentVersion, ...]
    images: tuple[ImageEntry, ...]
    """In image-references order."""
    platforms: tuple[tuple[str, str], ...] = ()
    files: dict[str, bytes] = field(default_factory=dict)
    """release-manifests byte for byte (read only for the views that show them)."""
    warnings: tuple[str, ...] = ()
    metadata_files: int = 0
    image_digest: str = ""
    """The release image's own manifest digest (for a multi-arch release: the chosen platform's)."""
    list_digest: str = ""
    config: ImageConfig | None = None
    config_size: int = 0
    component_tags: dict[str, str] = field(default_factory=dict)
    has_metadata: bool = True
    fetched_images: bool = False

    def __repr__(self) -> str:
        # short: the images and files of a release would print many KB
        return f"<ReleaseInfo {self.version} {self.digest or self.name}: {len(self.images)} images, {self.manifests} manifests>"

    def image(self, name: str) -> ImageEntry:
        """The image called `name`; raises PayloadError when the release has none."""
        for entry in self.images:
            if entry.name == name:
                return entry
        raise PayloadError(f"no image tag {json.dumps(name)} exists in the release image {self.name}")

    @property
    def manifest_files(self) -> dict[str, bytes]:
        return {name: data for name, data in self.files.items()
                if name not in (IMAGE_REFERENCES, RELEASE_METADATA) and name.endswith(MANIFEST_SUFFIXES)}

    def as_dict(self) -> dict[str, Any]:
        """oc's `info -o json`: the same keys, in the same order, with the same Go struct shapes."""
        if IMAGE_REFERENCES not in self.files:
            raise PayloadError("the release's files were not read (describe with files=True)")
        config = None
        if self.config is not None:
            config = gojson.image_config({**self.config.document, "size": self.config_size})
        metadata = None
        if RELEASE_METADATA in self.files:
            metadata = gojson.cincinnati_metadata(json.loads(self.files[RELEASE_METADATA]))
        versions = {v.name: {"Version": v.version, "DisplayName": v.display_name} for v in self.component_versions}
        images = {i.name: i.fetched.as_dict(i.pullspec) for i in self.images if i.fetched} \
            if self.fetched_images else None
        return {
            "image": self.name, "digest": self.image_digest, "contentDigest": self.image_digest,
            "listDigest": self.list_digest, "config": config, "metadata": metadata,
            "references": gojson.image_stream(json.loads(self.files[IMAGE_REFERENCES])),
            "versions": None, "displayVersions": versions or None,
            "versionsTags": dict(sorted(self.component_tags.items())),
            "images": images, "warnings": list(self.warnings) or None,
        }


def commit_url(source: str, commit: str) -> str:
    """oc's --commit-urls: a GitHub source links to the commit; any other shows the source and the commit."""
    from urllib.parse import urlparse  # noqa: PLC0415 - only --commit-urls needs it

    parsed = urlparse(source)
    if parsed.netloc == "github.com":
        return f"https://github.com{parsed.path}/commit/{commit}"
    return f"{source} {commit}"


def _digest(pullspec: str) -> str:
    return pullspec.split("@", 1)[1] if "@" in pullspec else ""


def _entry(tag: ImageTag, fetched: FetchedImage | None) -> ImageEntry:
    source = tag.annotations.get(ANNOTATION_SOURCE, "")
    commit = tag.annotations.get(ANNOTATION_COMMIT, "")
    return ImageEntry(tag.name, tag.pullspec, _digest(tag.pullspec) or tag.pullspec, source, commit,
                      commit_url(source, commit), dict(tag.annotations), fetched)


def _fetched(component: ComponentImage) -> FetchedImage:
    image = component.image
    return FetchedImage(image.digest, image.media_type,
                        tuple((layer.media_type, layer.digest, layer.size) for layer in image.layers),
                        component.config, component.digest if component.digest != image.digest else "")


def _fetch(registries: Registries, tags: Sequence[ImageTag], workers: int) -> tuple[dict[str, FetchedImage], list[str]]:
    found: dict[str, FetchedImage] = {}
    warnings: list[str] = []
    with Parallel(lambda t: resolve(registries, t.name, t.pullspec), tags, workers, "reading images") as outcomes:
        for tag, outcome in zip(tags, outcomes, strict=True):
            try:
                found[tag.name] = _fetched(outcome.result())
            except NotFound:  # as oc: an image that does not exist fails the command
                raise NotFound(f"image {json.dumps(tag.pullspec)} of tag {json.dumps(tag.name)} not found") from None
            except OkdReleaseError as error:
                warnings.append(f"tag {json.dumps(tag.name)}: {error}")
    return found, warnings


def _platform(release: ReleaseImage) -> str:
    config = release.config
    os = config.schema.os if config and config.schema.os else "unknown"
    arch = config.schema.architecture if config and config.schema.architecture else "unknown"
    return f"multi ({os}/{arch})" if release.index else f"{os}/{arch}"


def describe(release: ReleaseImage, registries: Registries | None = None, *, commits: bool = False,
             sizes: bool = False, contents: bool = False, images: bool = False, files: bool = False,
             workers: int = 16) -> ReleaseInfo:
    """What `release` holds. `sizes` or `images` fetch every component image; `contents` or `files` read the
    payload's files byte for byte. (`commits` is accepted for compatibility: commits come from the payload.)"""
    del commits
    payload = release.payload
    tags = payload.image_references.tags
    fetched, warnings = _fetch(registries, tags, workers) if (sizes or images) and registries else ({}, [])
    versions = read_component_versions(tags)
    metadata = payload.metadata
    config = release.config
    platforms = tuple((str(e.platform), e.digest) for e in release.index.manifests) if release.index else ()
    image = release.image
    others = [name for name in payload.manifests]
    return ReleaseInfo(
        name=release.name, digest=release.digest, created=config.created if config else "",
        platform=_platform(release), pull_from=release.pullspec,
        version=payload.version, upgrades=tuple(metadata.previous) if metadata else (),
        metadata=dict(metadata.metadata) if metadata else {},
        manifests=sum(1 for name in others if name.endswith(MANIFEST_SUFFIXES)),
        metadata_files=sum(1 for name in others if not name.endswith(MANIFEST_SUFFIXES)),
        component_versions=versions.versions, component_tags=versions.tags,
        images=tuple(_entry(tag, fetched.get(tag.name)) for tag in tags), platforms=platforms,
        files=release_files(release) if contents or files else {},
        warnings=tuple(sorted([*versions.warnings, *warnings])),
        image_digest=image.digest if image else "", list_digest=release.index.digest if release.index else "",
        config=config, config_size=sum(layer.size for layer in image.layers) if image else 0,
        has_metadata=metadata is not None, fetched_images=bool(sizes or images),
    )
