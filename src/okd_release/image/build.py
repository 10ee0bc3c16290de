"""Assemble and push an image from built layers and a config: blobs first, the manifest last; and the
release image's config and manifest as oc writes them."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from okd_release import mediatypes
from okd_release.content import Descriptor, RawManifest
from okd_release.errors import ManifestError
from okd_release.image import gojson
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


# -- the release image as oc builds it (oc adm release new, through oc image append) --------------------
# oc decodes the base config into its Go structs, so only their fields survive, in their order
_DOCKER_CONFIG_FIELDS = (
    ("Hostname", str), ("Domainname", str), ("User", str), ("Memory", int), ("MemorySwap", int), ("CpuShares", int),
    ("Cpuset", str), ("AttachStdin", bool), ("AttachStdout", bool), ("AttachStderr", bool), ("PortSpecs", list),
    ("ExposedPorts", dict), ("Tty", bool), ("OpenStdin", bool), ("StdinOnce", bool), ("Env", list), ("Cmd", list),
    ("Dns", list), ("Image", str), ("Volumes", dict), ("VolumesFrom", str), ("WorkingDir", str), ("Entrypoint", list),
    ("NetworkDisabled", bool), ("SecurityOpts", list), ("OnBuild", list), ("Labels", dict),
)
_IMAGE_CONFIG_FIELDS = (("id", str), ("parent", str), ("comment", str), ("created", str), ("container", str),
                        ("container_config", dict), ("docker_version", str), ("author", str), ("config", dict),
                        ("architecture", str), ("size", int), ("rootfs", dict), ("history", list), ("os", str),
                        ("os.version", str), ("os.features", list))


def _go_field(document: dict[str, Any], name: str) -> Any:
    """A field as Go's decoder finds it: the exact key, else a key equal but for case."""
    if name in document:
        return document[name]
    folded = name.casefold()
    return next((value for key, value in document.items() if key.casefold() == folded), None)


def _go_struct(document: dict[str, Any], fields: tuple[tuple[str, type], ...], what: str) -> dict[str, Any]:
    """The fields Go's struct keeps from `document`, in its order, empty ones omitted (omitempty)."""
    result: dict[str, Any] = {}
    for name, kind in fields:
        value = _go_field(document, name)
        if value is None or value == kind():
            continue
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ManifestError(f"{what}: {name} is not a {kind.__name__}")
        result[name] = gojson.sorted_map(value) if isinstance(value, dict) else value
    return result


def release_image_config(base: ImageConfig, diff_ids: list[str], layer_sizes: list[int], version: str,
                         base_digest: str, created: str) -> bytes:
    """The release image's config exactly as oc writes it: the base's config with its labels replaced by
    the release's, the build time, one history entry per layer (the first oc's comment), size the sum of
    the layers' sizes; compact JSON in Go's field order."""
    document = base.document
    inner = _go_struct(document.get("config") or {}, _DOCKER_CONFIG_FIELDS, "base image config")
    inner["Labels"] = {"io.openshift.release": version, "io.openshift.release.base-image-digest": base_digest}
    rootfs = document.get("rootfs") if isinstance(document.get("rootfs"), dict) else {}
    history = [{"created": created, "comment": "Release image for OpenShift"}]
    history += [{"created": created} for _ in range(1, len(diff_ids))]
    value: dict[str, Any] = {"id": document.get("id") or ""}
    for key in ("comment",):
        if document.get(key):
            value[key] = document[key]
    value["created"] = created
    value["container_config"] = {}
    for key in ("docker_version", "author"):
        if document.get(key):
            value[key] = document[key]
    value["config"] = inner
    value["architecture"] = document.get("architecture") or "amd64"
    if sum(layer_sizes):
        value["size"] = sum(layer_sizes)
    value["rootfs"] = {"type": (rootfs or {}).get("type", "layers"), "diff_ids": diff_ids}
    value["history"] = history
    value["os"] = document.get("os") or "linux"
    for key in ("os.version", "os.features"):
        if document.get(key):
            value[key] = document[key]
    return gojson.marshal(value)


def release_image_manifest(config: Descriptor, layers: list[Descriptor]) -> RawManifest:
    """A Docker schema 2 manifest as oc pushes it: three-space indent, descriptors as mediaType, digest, size."""
    document = {
        "schemaVersion": 2,
        "mediaType": mediatypes.DOCKER_MANIFEST,
        "config": {"mediaType": config.media_type, "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": layer.media_type, "digest": layer.digest, "size": layer.size} for layer in layers],
    }
    data = gojson.marshal_indent(document, "   ")
    return RawManifest(data, mediatypes.DOCKER_MANIFEST, "sha256:" + hashlib.sha256(data).hexdigest())
