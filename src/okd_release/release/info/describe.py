"""`info`: what a release holds, as typed values; the CLI only formats them.

Everything the default view shows comes from the payload itself; component images are fetched (their
manifests, concurrently) only for views that need them (`--size`, and `--commits` when a tag lacks the
build annotations).
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from okd_release.errors import OkdReleaseError, PayloadError
from okd_release.registry.session import Registries
from okd_release.release.info.plain import plain
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE, ImageTag
from okd_release.release.payload.source import ReleaseImage
from okd_release.release.payload.versions import COMPONENT_VERSION_KEYS


@dataclass(frozen=True)
class ComponentVersion:
    """A version the release declares for a component (kubernetes, machine-os, ...), with its display name."""

    name: str
    version: str
    display_name: str = ""


@dataclass(frozen=True)
class ImageEntry:
    """One image of the release: name, pullspec, digest; source and commit when known; size when asked for."""

    name: str
    pullspec: str
    digest: str
    source: str = ""
    commit: str = ""
    commit_url: str = ""
    size: int | None = None
    layers: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, repr=False)
class ReleaseInfo:
    """What `info` shows about a release, as values: `as_dict()` is the `-o json` document.

    Attributes:
        name: the reference it was opened as; `pull_from` is the release by digest.
        digest, created, platform: the release image's digest, creation time and os/arch.
        version, upgrades, metadata: from release-metadata (`upgrades` is its `previous`).
        manifests: how many manifests the payload holds.
        component_versions: kubernetes, machine-os, ... as the images declare them.
        images: every component image, sorted by name.
        platforms: (platform, digest) of each entry of a multi-arch release's manifest list.
        files: every file of release-manifests (only with `contents=True`).
        total_size: the bytes of all distinct layers (only with `sizes=True`).
        warnings: images that could not be read for `commits` or `sizes`.
    """

    name: str
    digest: str
    created: str
    platform: str
    pull_from: str
    version: str
    upgrades: tuple[str, ...]
    metadata: dict[str, Any]
    manifests: int
    component_versions: tuple[ComponentVersion, ...]
    images: tuple[ImageEntry, ...]
    platforms: tuple[tuple[str, str], ...] = ()
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    total_size: int | None = None
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<ReleaseInfo {self.version} {self.digest or self.name}: {len(self.images)} images, {self.manifests} manifests>"

    def image(self, name: str) -> ImageEntry:
        """The image called `name`; raises PayloadError when the release has none."""
        for entry in self.images:
            if entry.name == name:
                return entry
        raise PayloadError(f"release {self.name} has no image named {name!r}")

    def as_dict(self) -> dict[str, Any]:
        """The `-o json` / `-o yaml` document: camelCase keys, no empty values, no file contents."""
        value = plain(dataclasses.replace(self, files={}, images=()))
        value.pop("files")
        value["componentVersions"] = {v.name: {"version": v.version, "displayName": v.display_name}
                                      for v in self.component_versions}
        value["images"] = [plain(image, skip_empty=True) for image in self.images]
        value["platforms"] = [{"platform": p, "digest": d} for p, d in self.platforms]
        return {k: v for k, v in value.items() if v is not None}


def commit_url(source: str, commit: str) -> str:
    """GitHub sources link to the commit; others show the source and the commit id."""
    if not source or not commit:
        return ""
    parsed = urlparse(source if "://" in source else f"https://{source}")
    if parsed.netloc == "github.com":
        return f"https://github.com{parsed.path.removesuffix('.git').rstrip('/')}/commit/{commit}"
    return f"{source} {commit}"


def compare_url(source: str, old: str, new: str) -> str:
    parsed = urlparse(source if "://" in source else f"https://{source}")
    if parsed.netloc == "github.com" and old and new:
        return f"https://github.com{parsed.path.removesuffix('.git').rstrip('/')}/compare/{old}...{new}"
    return ""


def _versions(release: ReleaseImage) -> tuple[ComponentVersion, ...]:
    versions = release.payload.image_references.component_versions()
    ordered = [k for k in COMPONENT_VERSION_KEYS if k in versions] + sorted(set(versions) - set(COMPONENT_VERSION_KEYS))
    return tuple(ComponentVersion(k, *versions[k]) for k in ordered)


def _digest(pullspec: str) -> str:
    return pullspec.split("@", 1)[1] if "@" in pullspec else ""


def _entry(tag: ImageTag, component: ComponentImage | None) -> ImageEntry:
    source = tag.annotations.get(ANNOTATION_SOURCE, "")
    commit = tag.annotations.get(ANNOTATION_COMMIT, "")
    layers: tuple[tuple[str, int], ...] = ()
    if component is not None:
        labels = component.labels
        source = source or labels.get(ANNOTATION_SOURCE, "") or labels.get("vcs-url", "")
        commit = commit or labels.get(ANNOTATION_COMMIT, "") or labels.get("vcs-ref", "")
        layers = tuple((layer.digest, layer.size) for layer in component.image.layers)
    size = sum(s for _, s in layers) if component is not None else None
    return ImageEntry(tag.name, tag.pullspec, _digest(tag.pullspec) or tag.pullspec, source, commit,
                      commit_url(source, commit), size, layers)


def _fetch(registries: Registries, tags: list[ImageTag], workers: int) -> tuple[dict[str, ComponentImage], list[str]]:
    found: dict[str, ComponentImage] = {}
    warnings: list[str] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {t.name: pool.submit(resolve, registries, t.name, t.pullspec) for t in tags}
        for name, future in futures.items():
            try:
                found[name] = future.result()
            except OkdReleaseError as error:
                warnings.append(f"could not read image {name}: {error}")
    return found, warnings


def describe(release: ReleaseImage, registries: Registries | None = None, *, commits: bool = False,
             sizes: bool = False, contents: bool = False, workers: int = 16) -> ReleaseInfo:
    """Describe a release: metadata, component versions and images, as `okd-release info` shows them.

    The default view needs nothing beyond the payload; component images are read (their manifests,
    `workers` at a time) only for `sizes`, and for `commits` where a tag lacks its build annotations.
    An image that cannot be read then becomes a warning in the result, not an error.

    Args:
        release: from `open_release`, `open_payload_dir` or `open_payload_file`.
        registries: the registry clients to read component images with (needed for `commits`, `sizes`).
        commits: fill each image's source repository, commit and commit URL.
        sizes: fill each image's layers and size, and the release's total size.
        contents: keep every file of release-manifests in `files`.
        workers: how many component images to read at once.
    """
    payload = release.payload
    tags = sorted(payload.image_references.tags, key=lambda t: t.name)
    wanted = tags if sizes else [t for t in tags if commits and not (t.annotations.get(ANNOTATION_COMMIT)
                                                                      and t.annotations.get(ANNOTATION_SOURCE))]
    fetched, warnings = _fetch(registries, wanted, workers) if wanted and registries else ({}, [])
    images = tuple(_entry(tag, fetched.get(tag.name)) for tag in tags)
    total = None
    if sizes:
        unique = {digest: size for image in images for digest, size in image.layers}
        total = sum(unique.values())
    metadata = payload.metadata
    config = release.config
    platforms = tuple((str(e.platform), e.digest) for e in release.index.manifests) if release.index else ()
    return ReleaseInfo(
        name=release.name, digest=release.digest, created=config.created if config else "",
        platform=str(config.platform) if config else "", pull_from=release.pullspec,
        version=payload.version, upgrades=tuple(metadata.previous) if metadata else (),
        metadata=dict(metadata.metadata) if metadata else {}, manifests=len(payload.manifests),
        component_versions=_versions(release), images=images, platforms=platforms,
        files=payload.files() if contents else {}, total_size=total, warnings=tuple(warnings),
    )
