"""Assemble and push an image from built layers and a config: blobs first, the manifest last."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from okd_release import mediatypes
from okd_release.content import Descriptor, RawManifest
from okd_release.image.config import ImageConfig
from okd_release.image.layer import BuiltLayer
from okd_release.image.manifest import ImageManifest, build_image_manifest
from okd_release.image.store import ImageStore


def image_config(layers: list[BuiltLayer] | list[str], labels: dict[str, str], created: str,
                 os: str = "linux", architecture: str = "amd64", extra: dict[str, Any] | None = None) -> ImageConfig:
    diff_ids = [la if isinstance(la, str) else la.diff_id for la in layers]
    document = {
        "architecture": architecture,
        "os": os,
        "created": created,
        "config": {"Labels": dict(sorted(labels.items())), **(extra or {})},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created": created, "created_by": "okd-release"}],
    }
    return ImageConfig.build(document)


def push_blob_if_missing(store: ImageStore, repository: str, blob: Descriptor,
                         chunks_factory: Callable[[], Iterable[bytes]]) -> None:
    """Upload a blob unless the store already has it; `chunks_factory` is called only when it is needed."""
    if store.blob_size(repository, blob.digest) is None:
        store.put_blob(repository, blob, chunks_factory())


def push_image(store: ImageStore, repository: str, tag: str | None, layers: list[BuiltLayer],
               config: ImageConfig, oci: bool = False) -> ImageManifest:
    for layer in layers:
        push_blob_if_missing(store, repository, layer.descriptor(), layer.chunks)
    push_blob_if_missing(store, repository, Descriptor(mediatypes.DOCKER_CONFIG, config.digest, len(config.data)),
                         lambda: [config.data])
    if oci:
        manifest = build_image_manifest(
            Descriptor(mediatypes.OCI_CONFIG, config.digest, len(config.data)),
            [layer.descriptor(mediatypes.OCI_LAYER) for layer in layers], mediatypes.OCI_MANIFEST,
        )
    else:
        manifest = build_image_manifest(
            Descriptor(mediatypes.DOCKER_CONFIG, config.digest, len(config.data)),
            [layer.descriptor() for layer in layers],
        )
    put_manifest(store, repository, tag, manifest.raw)
    return manifest


def put_manifest(store: ImageStore, repository: str, tag: str | None, raw: RawManifest) -> None:
    store.put_manifest(repository, tag or raw.digest, raw)
