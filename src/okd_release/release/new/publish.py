"""Write a planned release: push the release image, or write the payload as a tar file or a directory.

The release image is the base (CVO) image's layers plus one payload layer, with the config and manifest
oc writes (see image/build.py): a release and oc's built from the same inputs at the same build time differ
only in the gzip compression of the payload layer, whose uncompressed bytes (the diff_id) are the same.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from msgspec import Struct

from okd_release import digest as digests
from okd_release import mediatypes
from okd_release import reference as references
from okd_release.background import Parallel
from okd_release.content import Descriptor
from okd_release.errors import PayloadError
from okd_release.image.build import push_blob_if_missing, put_manifest, release_image_config, release_image_manifest
from okd_release.image.disk import atomic_write
from okd_release.image.layer import BuiltLayer, build_go_layer
from okd_release.image.manifest import ImageManifest
from okd_release.registry.session import Registries
from okd_release.release.new.plan import PlannedRelease
from okd_release.release.payload.components import ComponentImage, resolve
from okd_release.release.payload.model import Payload
from okd_release.release.payload.source import ReleaseImage
from okd_release.stores import open_store
from okd_release.transfer import Endpoint, ImageCopy, Transfer


class NotReproduced(PayloadError):
    """A release rebuilt from itself with no changes did not get the input release's digest."""


class PublishedRelease(Struct, frozen=True):
    """A release image `push_release` pushed: its pullspec by digest, the digest and the manifest."""

    pullspec: str
    digest: str
    manifest: ImageManifest


def payload_layer(payload: Payload, directory: Path) -> BuiltLayer:
    """The payload layer: its tar byte for byte what oc writes (Go's archive/tar), gzip-compressed."""
    return build_go_layer(payload.layer_entries(), directory)


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


class AssembledRelease(Struct, frozen=True):
    """The release image before it is pushed: the payload layer (ours, or the input release's when it has
    the same content), the config and the manifest."""

    layer: BuiltLayer
    layer_descriptor: Descriptor
    reused_from: ReleaseImage | None
    config: bytes
    manifest: ImageManifest


def _assemble(plan: PlannedRelease, base: ComponentImage, work: Path) -> AssembledRelease:
    layer = payload_layer(plan.payload, work)
    descriptor, reused = layer.descriptor(), None
    if plan.source_layer is not None and plan.source_layer[1] == layer.diff_id:
        # the same tar as the input release's: keep its compressed blob, so that the digest is reproduced
        descriptor, reused = plan.source_layer[0], plan.source_layer[2]
        descriptor = Descriptor(mediatypes.DOCKER_LAYER, descriptor.digest, descriptor.size)
    layers = [*base.image.layers, descriptor]
    config = release_image_config(base.config, [*base.config.diff_ids, layer.diff_id], [la.size for la in layers],
                                  plan.payload.version, base.image.digest, plan.created_text)
    config_descriptor = Descriptor(mediatypes.DOCKER_CONFIG, digests.of(config), len(config))
    raw = release_image_manifest(config_descriptor, layers)
    return AssembledRelease(layer, descriptor, reused, config, ImageManifest(raw, config_descriptor, tuple(layers)))


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
    if to.digest:
        raise PayloadError("--to-image may only point to a repository or tag, not a digest")
    store = open_store(to, registries)
    base = _base(registries, plan)
    assembled = _assemble(plan, base, work)
    manifest = assembled.manifest
    blobs = [(manifest.layers[-1], _layer_chunks(assembled)), (manifest.config, lambda: [assembled.config])]
    try:
        # the payload layer and the config go up on threads while the base image's blobs are copied here (where
        # an interrupt stops the copy); the manifest only once every one of them is in
        with Parallel(lambda blob: push_blob_if_missing(store, to.repository, *blob), blobs, len(blobs),
                      "pushing the payload") as outcomes:
            Transfer(retry=registries.options.retry, retries=registries.retries).run([
                ImageCopy("base image", Endpoint(base.store, base.reference.repository), base.image.digest,
                          Endpoint(store, to.repository))])
            for outcome in outcomes:
                outcome.result()
        put_manifest(store, to.repository, to.tag if _names_tag(target) else plan.payload.version, manifest.raw)
    finally:
        assembled.layer.path.unlink()
    return PublishedRelease(str(to.with_digest(manifest.digest)), manifest.digest, manifest)


def _names_tag(target: str) -> bool:
    """Whether `target` names a tag (oc tags a release pushed to a bare repository with its version)."""
    last = target.rsplit("/", 1)[-1]
    return ":" in last.split("@", 1)[0]


def _layer_chunks(assembled: AssembledRelease) -> Callable[[], Iterator[bytes]]:
    source = assembled.reused_from
    if source is None or source.store is None or source.reference is None:
        return assembled.layer.chunks
    store, repository, blob = source.store, source.reference.repository, assembled.layer_descriptor

    def chunks() -> Iterator[bytes]:
        with store.open_blob(repository, blob) as stream:
            yield from stream
    return chunks


def check_reproduced(plan: PlannedRelease, digest: str) -> None:
    """oc's check of a release rebuilt from itself with no changes: the digest must be the input's."""
    if plan.reproduce is not None and digest != plan.reproduce:
        raise NotReproduced("the release could not be reproduced from its inputs")


def release_digest(registries: Registries, plan: PlannedRelease, work: Path) -> str:
    """The digest `push_release` would produce, without pushing anything (for --dry-run).

    Raises PayloadError when there is no base image, and the registry errors reading it.
    """
    assembled = _assemble(plan, _base(registries, plan), work)
    assembled.layer.path.unlink()
    return assembled.manifest.digest
