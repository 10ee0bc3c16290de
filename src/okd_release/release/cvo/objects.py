"""Kubernetes objects in a payload's manifests, one per YAML/JSON document, as the CVO reads them.

The CVO reads only files ending in .yaml, .yml or .json, in file-name order; a file may hold several
documents, and empty or `null` documents are skipped. An object needs a kind and a name.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from msgspec import Struct, field

from okd_release.documents import load_yaml_all
from okd_release.errors import PayloadError

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class ObjectId(Struct, frozen=True):
    """What the CVO considers one resource: group, kind, namespace and name."""

    group: str
    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind}/{self.namespace}/{self.name}" if self.namespace else f"{kind}/{self.name}"


class ManifestObject(Struct, frozen=True):
    """One document of a manifest file."""

    file: str
    index: int
    api_version: str
    id: ObjectId
    annotations: dict[str, str] = field(default_factory=dict)
    document: dict[str, Any] = field(default_factory=dict)

    # An object is known by where it is and what it is; its annotations and document are not compared or shown.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ManifestObject):
            return NotImplemented
        return (self.file, self.index, self.api_version, self.id) == (
            other.file, other.index, other.api_version, other.id)

    def __hash__(self) -> int:
        return hash((self.file, self.index, self.api_version, self.id))

    def __repr__(self) -> str:
        return (f"ManifestObject(file={self.file!r}, index={self.index!r}, api_version={self.api_version!r}, "
                f"id={self.id!r})")

    @property
    def kind(self) -> str:
        return self.id.kind

    def spec_string(self, *path: str) -> str:
        """A nested string field (e.g. spec.providerSpec.kind), or "" when absent or not a string."""
        value: Any = self.document
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, str) else ""


def is_manifest_file(name: str) -> bool:
    return name.endswith(MANIFEST_SUFFIXES)


def parse_objects(name: str, data: bytes) -> list[ManifestObject]:
    """Every object of one manifest file; a document that is not a Kubernetes object is a PayloadError."""
    objects = []
    for index, document in enumerate(_documents(name, data)):
        if document is None:
            continue
        objects.append(_object(name, index, document))
    return objects


def _documents(name: str, data: bytes) -> Iterator[Any]:
    what = f"manifest {name}"
    if name.endswith(".json") and data.lstrip().startswith((b"{", b"[")):
        try:
            yield json.loads(data)
        except ValueError as error:
            raise PayloadError(f"{what} is not valid JSON ({error})") from None
        return
    yield from load_yaml_all(data, what, PayloadError)


def _object(name: str, index: int, document: Any) -> ManifestObject:
    where = f"manifest {name} (document {index + 1})"
    if not isinstance(document, dict):
        raise PayloadError(f"{where} is not a Kubernetes object")
    api_version, kind = document.get("apiVersion"), document.get("kind")
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    object_name, namespace = metadata.get("name"), metadata.get("namespace") or ""
    if not isinstance(kind, str) or not kind or not isinstance(object_name, str) or not object_name:
        raise PayloadError(f"{where} must have a kind and metadata.name")
    if not isinstance(api_version, str) or not isinstance(namespace, str):
        raise PayloadError(f"{where} has a non-string apiVersion or metadata.namespace")
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, dict):
        raise PayloadError(f"{where} has annotations that are not a map")
    group = api_version.rpartition("/")[0]
    return ManifestObject(name, index, api_version, ObjectId(group, kind, namespace, object_name),
                          {str(k): str(v) for k, v in annotations.items()}, document)


def payload_objects(manifests: dict[str, bytes]) -> list[ManifestObject]:
    """The objects of every manifest file the CVO reads, in its order (file name, then document)."""
    objects: list[ManifestObject] = []
    for name in sorted(manifests):
        if is_manifest_file(name):
            objects.extend(parse_objects(name, manifests[name]))
    return objects
