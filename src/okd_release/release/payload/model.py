"""The payload format: image-references (an ImageStream), release-metadata, and the manifests beside them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from okd_release.errors import PayloadError
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
        try:
            document = json.loads(data)
        except ValueError:
            document = _yaml(data, where)
        if not isinstance(document, dict) or document.get("kind") != "ImageStream":
            raise PayloadError(f"{where} is not an ImageStream")
        tags = []
        for entry in ((document.get("spec") or {}).get("tags") or []):
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise PayloadError(f"{where} has a tag without a name")
            source = entry.get("from") or {}
            if not isinstance(source, dict) or source.get("kind", "DockerImage") != "DockerImage" or not source.get("name"):
                raise PayloadError(f"{where}: tag {entry['name']!r} has no DockerImage 'from'")
            annotations = entry.get("annotations") or {}
            tags.append(ImageTag(entry["name"], str(source["name"]), {str(k): str(v) for k, v in annotations.items()}))
        metadata = document.get("metadata") or {}
        return cls(str(metadata.get("name", "")), tuple(tags), dict(metadata.get("annotations") or {}))

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


def _yaml(data: bytes | str, where: str) -> Any:
    import yaml

    try:
        return yaml.safe_load(data)
    except yaml.YAMLError:
        raise PayloadError(f"{where} is neither valid JSON nor YAML") from None


@dataclass(frozen=True)
class ReleaseMetadata:
    version: str
    previous: tuple[str, ...] = ()
    next: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes, where: str = RELEASE_METADATA) -> ReleaseMetadata:
        try:
            document = json.loads(data)
        except ValueError:
            raise PayloadError(f"{where} is not valid JSON") from None
        if not isinstance(document, dict) or document.get("kind") != METADATA_KIND:
            raise PayloadError(f"{where} is not {METADATA_KIND}")
        return cls(
            str(document.get("version", "")), tuple(document.get("previous") or ()), tuple(document.get("next") or ()),
            dict(document.get("metadata") or {}),
        )

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
        return cls(references, metadata, manifests)
