"""Write a planned release: push the release image, or write the payload as a tar file or a directory.

The release image is the base (CVO) image's layers plus one payload layer; its config keeps none of the
base labels, only io.openshift.release and io.openshift.release.base-image-digest, and one history entry.
"""

from __future__ import annotations

import copy
import tempfile
from dataclasses import dataclass
from pathlib import Path

from okd_release import reference as references
from okd_release.content import Descriptor
from okd_release.errors import PayloadError
from okd_release.image.build import push_blob_if_missing, put_manifest
from okd_release.image.config import ImageConfig
from okd_release.image.disk import atomic_write
from okd_release.image.layer import BuiltLayer, build_layer
from okd_release.image.manifest import ImageManifest, build_image_manifest
from okd_release.registry.session import Registries
from okd_release.release.new.plan import PlannedRelease
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.model import LABEL_BASE_DIGEST, LABEL_RELEASE, Payload
from okd_release.stores import open_store
from okd_release.transfer import Endpoint, ImageCopy, Transfer


@dataclass(frozen=True)
class PublishedRelease:
    """A release image `push_release` pushed: its pullspec by digest, the digest and the manifest."""

    pullspec: str
    digest: str
    manifest: ImageManifest


def payload_layer(payload: Payload, directory: Path) -> BuiltLayer:
    return build_layer(payload.layer_entries(), directory)


def write_to_dir(payload: Payload, directory: Path) -> list[Path]:
    """Write every file of release-manifests into `directory` (created if missing); returns the paths written.

    Raises OSError when the directory cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in sorted(payload.files().items()):
        path = directory / name
        atomic_write(path, [data])
        written.append(path)
    return written


def write_to_file(payload: Payload, path: Path) -> None:
    """Write the payload layer (release-manifests/...) as a tar.gz file, atomically; `info` and `new` read it.

    Raises OSError when the file cannot be written.
    """
    with tempfile.TemporaryDirectory(dir=path.parent if path.parent.exists() else None) as work:
        layer = payload_layer(payload, Path(work))
        atomic_write(path, layer.chunks(), layer.digest, str(path))


def release_config(base: ImageConfig, layer: BuiltLayer, version: str, base_digest: str, created: str) -> ImageConfig:
    document = copy.deepcopy(base.document)
    document["created"] = created
    document.setdefault("config", {})
    document["config"]["Labels"] = {LABEL_RELEASE: version, LABEL_BASE_DIGEST: base_digest}
    rootfs = document.setdefault("rootfs", {"type": "layers", "diff_ids": []})
    rootfs["diff_ids"] = [*base.diff_ids, layer.diff_id]
    document["history"] = [{"created": created, "comment": f"Release image for OpenShift {version}"}]
    return ImageConfig.build(document)


def _assemble(plan: PlannedRelease, base: ComponentImage, work: Path) -> tuple[BuiltLayer, ImageConfig, ImageManifest]:
    layer = payload_layer(plan.payload, work)
    config = release_config(base.config, layer, plan.payload.version, base.image.digest, plan.options.created)
    manifest = build_image_manifest(
        Descriptor(base.image.config.media_type, config.digest, len(config.data)), [*base.image.layers, layer.descriptor()])
    return layer, config, manifest


def _base(registries: Registries, plan: PlannedRelease) -> ComponentImage:
    if not plan.base_pullspec:
        raise PayloadError(f"no base image: the release has no {plan.options.to_image_base_tag!r} image; give --to-image-base")
    base = plan.components.get(plan.options.to_image_base_tag)
    if base is None or base.pullspec != plan.base_pullspec:
        base = resolve(registries, "base image", plan.base_pullspec)
    return base


def push_release(registries: Registries, plan: PlannedRelease, target: str, work: Path) -> PublishedRelease:
    """Push the release image to `target`: the base image's layers plus the payload layer, config and manifest.

    The base image's blobs are copied (or mounted) into the target repository first; the manifest is pushed
    last, under `target`'s tag (or by digest).

    Args:
        registries: the registry clients to read the base image and write the target with.
        plan: the release, from `plan_release`.
        target: where to push, `registry/repository[:tag]`.
        work: a directory for the payload layer while it is pushed (removed afterwards).

    Raises:
        InvalidReference: `target` is not an image reference.
        PayloadError: there is no base image (no `to_image_base` and no `to_image_base_tag` component).
        OkdReleaseError: a registry failure (AuthenticationError, TransferError, ...).
    """
    to = references.parse(target)
    store = open_store(to, registries)
    base = _base(registries, plan)
    layer, config, manifest = _assemble(plan, base, work)
    try:
        Transfer(retry=registries.options.retry, retries=registries.retries).run([
            ImageCopy("base image", Endpoint(base.store, base.reference.repository), base.image.digest,
                      Endpoint(store, to.repository))])
        push_blob_if_missing(store, to.repository, manifest.layers[-1], layer.chunks)
        push_blob_if_missing(store, to.repository, manifest.config, lambda: [config.data])
        put_manifest(store, to.repository, to.tag, manifest.raw)
    finally:
        layer.path.unlink()
    return PublishedRelease(str(to.with_digest(manifest.digest)), manifest.digest, manifest)


def release_digest(registries: Registries, plan: PlannedRelease, work: Path) -> str:
    """The digest `push_release` would produce, without pushing anything (for --dry-run).

    Raises PayloadError when there is no base image, and the registry errors reading it.
    """
    layer, _, manifest = _assemble(plan, _base(registries, plan), work)
    layer.path.unlink()
    return manifest.digest
