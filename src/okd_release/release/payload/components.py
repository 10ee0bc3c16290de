"""Resolve a release's component images: each tag to a digest, with its config labels, concurrently."""

from __future__ import annotations

from collections.abc import Callable

from msgspec import Struct

from okd_release import reference as references
from okd_release.background import Parallel
from okd_release.errors import NotFound, OkdReleaseError, PayloadError
from okd_release.image import manifest as manifests
from okd_release.image.config import ImageConfig
from okd_release.image.inspect import load_config
from okd_release.image.manifest import ImageIndex, ImageManifest
from okd_release.image.store import ImageStore
from okd_release.listener import ProgressListener, SilentProgress
from okd_release.reference import Reference
from okd_release.registry.session import Registries
from okd_release.release.payload.source import choose_manifest
from okd_release.stores import open_store


class ComponentManifest(Struct, frozen=True):
    """One component resolved to its image manifest (for a list: the default platform's); its config not
    read, for a caller that needs only the layers (`extract --command` streams them for one file)."""

    name: str
    reference: Reference
    digest: str
    store: ImageStore
    image: ImageManifest

    @property
    def pullspec(self) -> str:
        return str(self.reference.with_digest(self.digest))


class ComponentImage(ComponentManifest, frozen=True):
    """One resolved component: its pullspec by digest, the image (for a list: the default platform's) and config."""

    config: ImageConfig

    @property
    def labels(self) -> dict[str, str]:
        return self.config.labels


def resolve(registries: Registries, name: str, pullspec: str) -> ComponentImage:
    found = resolve_manifest(registries, name, pullspec)
    config = load_config(found.store, found.reference.repository, found.image, f"{name} ({pullspec})")
    return ComponentImage(name, found.reference, found.digest, found.store, found.image, config)


def resolve_manifest(registries: Registries, name: str, pullspec: str) -> ComponentManifest:
    try:
        reference = references.parse(pullspec)
    except OkdReleaseError as error:
        raise PayloadError(f"image {name!r}: {error}") from None
    store = open_store(reference, registries)
    try:
        raw = store.get_manifest(reference.repository, reference.identifier)
    except NotFound:
        raise NotFound(f"image {name!r} ({pullspec}) not found") from None
    top = manifests.parse(raw, f"manifest of {name} ({pullspec})")
    image = top
    if isinstance(top, ImageIndex):
        child = store.get_manifest(reference.repository, choose_manifest(top, None, pullspec))
        image = manifests.parse(child, f"manifest of {name} ({pullspec})")
    if not isinstance(image, ImageManifest):
        raise PayloadError(f"image {name!r} ({pullspec}) is a nested manifest list")
    return ComponentManifest(name, reference, raw.digest, store, image)


def resolve_all(registries: Registries, tags: dict[str, str], allow_missing: bool = False,
                workers: int = 8, progress: ProgressListener | None = None,
                then: Callable[[ComponentImage], object] | None = None) -> tuple[dict[str, ComponentImage], list[str]]:
    """Resolve every tag concurrently; returns the components and the names that were missing (if allowed).

    `then` is called with each component as soon as it is resolved, on the thread that resolved it, so that
    work on one image (reading an operator's manifests) overlaps the resolution of the others; its error is
    the component's."""
    resolved: dict[str, ComponentImage] = {}
    missing: list[str] = []
    listener = progress or SilentProgress()
    listener.planned(len(tags), 0, 0)
    ordered = sorted(tags.items())

    def resolve_one(tag: tuple[str, str]) -> ComponentImage:
        component = resolve(registries, *tag)
        if then is not None:
            then(component)
        return component

    with Parallel(resolve_one, ordered, workers, "resolving images") as outcomes:
        for (name, _), outcome in zip(ordered, outcomes, strict=True):
            try:
                resolved[name] = outcome.result()
            except NotFound:
                if not allow_missing:
                    raise
                missing.append(name)
            listener.image_done(name, name in resolved)
    return resolved, missing
