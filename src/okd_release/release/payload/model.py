"""The payload format: image-references (an ImageStream), release-metadata, and the manifests beside them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import msgspec

from okd_release import names
from okd_release.documents import decode_json, decode_json_or_yaml
from okd_release.errors import PayloadError, UnsafeName
from okd_release.image.layer import LayerEntry
from okd_release.release.payload.versions import parse_versions

MANIFESTS_DIR = "release-manifests"
IMAGE_REFERENCES = "image-references"
RELEASE_METADATA = "release-metadata"
METADATA_KIND = "cincinnati-metadata-v0"

ANNOTATION_COMMIT = "io.openshift.build.commit.id"
ANNOTATION_REF = "io.openshift.build.commit.ref"
ANNOTATION_SOURCE = "io.openshift.build.source-location"
ANNOTATION_VERSIONS = "io.openshift.build.versions"
ANNOTATION_DISPLAY_NAMES = "io.openshift.build.version-display-names"
ANNOTATION_OVERRIDE = "io.openshift.release.override"
ANNOTATION_FROM_RELEASE = "release.openshift.io/from-release"
ANNOTATION_FROM_STREAM = "release.openshift.io/from-image-stream"
LABEL_OPERATOR = "io.openshift.release.operator"
LABEL_RELEASE = "io.openshift.release"
LABEL_BASE_DIGEST = "io.openshift.release.base-image-digest"
BUILD_ANNOTATIONS = (ANNOTATION_COMMIT, ANNOTATION_REF, ANNOTATION_SOURCE, ANNOTATION_VERSIONS, ANNOTATION_DISPLAY_NAMES)

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def check_semver(version: str) -> str:
    if not _SEMVER.match(version):
        raise PayloadError(f"release name {version!r} is not a semantic version (e.g. 4.15.0-0.okd-2024-01-01)")
    return version


class ObjectReferenceDocument(msgspec.Struct, frozen=True):
    """`from` of a tag: what it points at."""

    kind: str = "DockerImage"
    name: str = ""


class TagDocument(msgspec.Struct, frozen=True, rename={"source": "from"}):
    name: str
    source: ObjectReferenceDocument | None = None
    annotations: dict[str, str] | None = None


class ImageStreamSpecDocument(msgspec.Struct, frozen=True):
    tags: list[TagDocument] | None = None


class ObjectMetaDocument(msgspec.Struct, frozen=True):
    name: str = ""
    annotations: dict[str, str] | None = None


class ImageStreamDocument(msgspec.Struct, frozen=True):
    """image-references (or an ImageStream file) as JSON or YAML has it; null stands for absent."""

    kind: str = ""
    metadata: ObjectMetaDocument | None = None
    spec: ImageStreamSpecDocument | None = None


class ReleaseMetadataDocument(msgspec.Struct, frozen=True):
    """release-metadata as JSON has it."""

    kind: str = ""
    version: str = ""
    previous: list[str] | None = None
    next: list[str] | None = None
    metadata: dict[str, Any] | None = None


def _checked(check: Callable[[object, str], str], value: str, what: str, where: str, path: str) -> str:
    """`value` if `check` passes it, else UnsafeName naming the document and the field."""
    try:
        return check(value, what)
    except UnsafeName as error:
        raise UnsafeName(f"{where} is invalid at {path}: {error}") from None


@dataclass(frozen=True)
class ImageTag:
    """One component of a release: `name` pointing at `pullspec`, with build annotations."""

    name: str
    pullspec: str
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {"name": self.name}
        if self.annotations:
            value["annotations"] = dict(sorted(self.annotations.items()))
        value["from"] = {"kind": "DockerImage", "name": self.pullspec}
        return value


@dataclass(frozen=True)
class ImageStream:
    """image-references: the components of a release (or of an operator's placeholders)."""

    name: str
    tags: tuple[ImageTag, ...]
    annotations: dict[str, str] = field(default_factory=dict)

    def tag(self, name: str) -> ImageTag | None:
        return next((t for t in self.tags if t.name == name), None)

    def names(self) -> list[str]:
        return [t.name for t in self.tags]

    def component_versions(self) -> dict[str, tuple[str, str]]:
        """{key: (version, display name)} from the tags' io.openshift.build.versions annotations."""
        versions: dict[str, tuple[str, str]] = {}
        for tag in self.tags:
            if ANNOTATION_VERSIONS in tag.annotations:
                parsed = parse_versions(tag.annotations[ANNOTATION_VERSIONS], tag.annotations.get(ANNOTATION_DISPLAY_NAMES, ""))
                for key, value in parsed.items():
                    versions.setdefault(key, value)
        return versions

    def with_tags(self, tags: list[ImageTag]) -> ImageStream:
        return replace(self, tags=tuple(sorted(tags, key=lambda t: t.name)))

    @classmethod
    def parse(cls, data: bytes | str, where: str = IMAGE_REFERENCES) -> ImageStream:
        """JSON (a payload's image-references) or YAML (a file given to `new`); every name checked: each
        becomes part of a tag (`<version>-<arch>-<name>`) when the release is mirrored."""
        document = decode_json_or_yaml(data, ImageStreamDocument, where, PayloadError)
        if document.kind != "ImageStream":
            raise PayloadError(f"{where} is not an ImageStream")
        tags = []
        for number, entry in enumerate((document.spec.tags if document.spec else None) or []):
            name = _checked(names.check_tag, entry.name, "component name", where, f"$.spec.tags[{number}].name")
            source = entry.source or ObjectReferenceDocument(name="")
            if source.kind != "DockerImage" or not source.name:
                raise PayloadError(f"{where}: tag {name!r} has no DockerImage 'from'")
            tags.append(ImageTag(name, source.name, dict(entry.annotations or {})))
        metadata = document.metadata or ObjectMetaDocument()
        if metadata.name:
            _checked(names.check_tag, metadata.name, "release name", where, "$.metadata.name")
        return cls(metadata.name, tuple(tags), dict(metadata.annotations or {}))

    def to_json(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "creationTimestamp": None}
        if self.annotations:
            metadata["annotations"] = dict(sorted(self.annotations.items()))
        return {
            "kind": "ImageStream",
            "apiVersion": "image.openshift.io/v1",
            "metadata": metadata,
            "spec": {"lookupPolicy": {"local": False}, "tags": [t.to_json() for t in self.tags]},
        }

    def encode(self) -> bytes:
        return (json.dumps(self.to_json(), indent=2) + "\n").encode()


@dataclass(frozen=True)
class ReleaseMetadata:
    version: str
    previous: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, where: str = RELEASE_METADATA) -> ReleaseMetadata:
        document = decode_json(data, ReleaseMetadataDocument, where, PayloadError)
        if document.kind != METADATA_KIND:
            raise PayloadError(f"{where} is not {METADATA_KIND}")
        if document.version:
            _checked(names.check_tag, document.version, "release version", where, "$.version")
        return cls(document.version, tuple(document.previous or ()), tuple(document.next or ()), dict(document.metadata or {}))

    def encode(self) -> bytes:
        document: dict[str, Any] = {"kind": METADATA_KIND, "version": self.version}
        if self.previous:
            document["previous"] = list(self.previous)
        if self.next:
            document["next"] = list(self.next)
        if self.metadata:
            document["metadata"] = self.metadata
        return (json.dumps(document, indent=2) + "\n").encode()


@dataclass(frozen=True)
class Payload:
    """The contents of /release-manifests/: image-references, release-metadata and the manifests."""

    image_references: ImageStream
    metadata: ReleaseMetadata | None
    manifests: dict[str, bytes]

    @property
    def version(self) -> str:
        return self.metadata.version if self.metadata else self.image_references.name

    def files(self) -> dict[str, bytes]:
        """Every file of release-manifests by name, as `new` writes them."""
        files = {IMAGE_REFERENCES: self.image_references.encode()}
        if self.metadata:
            files[RELEASE_METADATA] = self.metadata.encode()
        files.update(self.manifests)
        return files

    def layer_entries(self) -> list[LayerEntry]:
        """The payload layer in oc's order and modes: the directory, image-references, release-metadata, manifests."""
        entries = [LayerEntry.directory(MANIFESTS_DIR + "/", 0o777)]
        entries.append(LayerEntry.file(f"{MANIFESTS_DIR}/{IMAGE_REFERENCES}", self.image_references.encode(), 0o444))
        if self.metadata:
            entries.append(LayerEntry.file(f"{MANIFESTS_DIR}/{RELEASE_METADATA}", self.metadata.encode(), 0o444))
        for name in sorted(self.manifests):
            entries.append(LayerEntry.file(f"{MANIFESTS_DIR}/{name}", self.manifests[name], 0o444))
        return entries

    @classmethod
    def from_files(cls, files: dict[str, bytes], where: str) -> Payload:
        if IMAGE_REFERENCES not in files:
            raise PayloadError(f"{where} is not a release payload: no release-manifests/image-references")
        references = ImageStream.parse(files[IMAGE_REFERENCES], f"image-references of {where}")
        metadata = ReleaseMetadata.parse(files[RELEASE_METADATA], f"release-metadata of {where}") \
            if RELEASE_METADATA in files else None
        manifests = {n: d for n, d in files.items() if n not in (IMAGE_REFERENCES, RELEASE_METADATA)}
        for name in manifests:  # each becomes a file when extracted or written with --to-dir
            try:
                names.check_path_component(name, "manifest file name")
            except UnsafeName as error:
                raise UnsafeName(f"release-manifests of {where}: {error}") from None
        return cls(references, metadata, manifests)
