"""The payload format: image-references (an ImageStream), release-metadata, and the manifests beside them."""

from __future__ import annotations

import math
import re
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import msgspec
from msgspec import Struct, field
from msgspec.structs import replace

from okd_release import names
from okd_release.documents import decode_json, decode_json_or_yaml, decode_json_part, prepare
from okd_release.errors import PayloadError, UnsafeName
from okd_release.image import gojson
from okd_release.image.layer import LayerEntry
from okd_release.release.payload.packed import Packer
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


class TagImportPolicyDocument(msgspec.Struct, frozen=True, rename="camel"):
    insecure: bool = False
    scheduled: bool = False
    import_mode: str = ""


class TagReferencePolicyDocument(msgspec.Struct, frozen=True):
    type: str = ""


class TagDocument(msgspec.Struct, frozen=True, rename={"source": "from", "import_policy": "importPolicy",
                                                        "reference_policy": "referencePolicy"}):
    name: str
    source: ObjectReferenceDocument | None = None
    annotations: dict[str, str] | None = None
    reference: bool = False
    generation: int | None = None
    import_policy: TagImportPolicyDocument | None = None
    reference_policy: TagReferencePolicyDocument | None = None


class ImageStreamSpecDocument(msgspec.Struct, frozen=True):
    tags: list[TagDocument] | None = None


class TagEventDocument(msgspec.Struct, frozen=True, rename="camel"):
    docker_image_reference: str = ""
    image: str = ""
    generation: int = 0


class TagEventConditionDocument(msgspec.Struct, frozen=True):
    type: str = ""
    status: str = ""


class NamedTagEventListDocument(msgspec.Struct, frozen=True):
    tag: str = ""
    items: list[TagEventDocument] | None = None
    conditions: list[TagEventConditionDocument] | None = None


class ImageStreamStatusDocument(msgspec.Struct, frozen=True, rename="camel"):
    docker_image_repository: str = ""
    public_docker_image_repository: str = ""
    tags: list[NamedTagEventListDocument] | None = None


class ObjectMetaDocument(msgspec.Struct, frozen=True, rename={"creation_timestamp": "creationTimestamp"}):
    name: str = ""
    creation_timestamp: str | None = None
    annotations: dict[str, str] | None = None


class ImageStreamDocument(msgspec.Struct, frozen=True, rename={"api_version": "apiVersion"}):
    """image-references (or an ImageStream file) as JSON or YAML has it; null stands for absent."""

    kind: str = ""
    api_version: str = ""
    metadata: ObjectMetaDocument | None = None
    spec: ImageStreamSpecDocument | None = None
    status: ImageStreamStatusDocument | None = None


class _SpecParts(msgspec.Struct, frozen=True):
    tags: list[msgspec.Raw] | None = None


class _StreamParts(msgspec.Struct, frozen=True, rename={"api_version": "apiVersion"}):
    """image-references as JSON has it, each tag left undecoded (a slice of the input) until it is read: a
    release of thousands of images is never held as a document of them beside the tags made of it."""

    kind: str = ""
    api_version: str = ""
    metadata: ObjectMetaDocument | None = None
    spec: _SpecParts | None = None
    status: ImageStreamStatusDocument | None = None


_TAKEN = msgspec.Raw()


def _taking(parts: list[msgspec.Raw]) -> Iterator[tuple[int, msgspec.Raw]]:
    """Each part with its index, let go of as it is taken: the tag made of it takes the memory it leaves."""
    for number in range(len(parts)):
        part, parts[number] = parts[number], _TAKEN
        yield number, part


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


class TagPolicy(Struct, frozen=True):
    """What else a tag of an ImageStream carries, kept as the input had it (oc copies the tag)."""

    reference: bool = False
    generation: int | None = None
    import_policy: dict[str, Any] = field(default_factory=dict)  # insecure, scheduled, importMode; set ones only
    reference_type: str = ""

    @classmethod
    def of(cls, tag: TagDocument) -> TagPolicy:
        imports = tag.import_policy or TagImportPolicyDocument()
        policy = {key: value for key, value in (("insecure", imports.insecure), ("scheduled", imports.scheduled),
                                                ("importMode", imports.import_mode)) if value}
        made = cls(tag.reference, tag.generation, policy, tag.reference_policy.type if tag.reference_policy else "")
        return NO_POLICY if made == NO_POLICY else made  # most tags: one shared, not one each


NO_POLICY = TagPolicy()


class ImageTag(Struct, frozen=True, gc=False):
    """One component of a release: `name` pointing at `pullspec`, with build annotations.

    A release of thousands of images holds one per image for as long as it is open: a Struct (slots), and not
    tracked by the garbage collector (16 bytes less each; it holds only strings and a dict of strings, so it
    is never part of a reference cycle).
    """

    name: str
    pullspec: str
    annotations: dict[str, str] = field(default_factory=dict)
    policy: TagPolicy = NO_POLICY

    def to_json(self) -> dict[str, Any]:
        """The tag as oc writes it (TagReference's fields in Go's order; annotations null when none)."""
        value: dict[str, Any] = {"name": self.name,
                                 "annotations": gojson.sorted_map(self.annotations) if self.annotations else None,
                                 "from": {"kind": "DockerImage", "name": self.pullspec}}
        if self.policy.reference:
            value["reference"] = True
        value["generation"] = self.policy.generation
        value["importPolicy"] = dict(self.policy.import_policy)
        value["referencePolicy"] = {"type": self.policy.reference_type}
        return value


def _annotations(annotations: dict[str, str] | None, previous: dict[str, str]) -> dict[str, str]:
    """A tag's annotations, their names interned: every tag of a release has the same few (the build's commit,
    ref and source), which would otherwise be held once per image. A value equal to the one the tag before had
    under the same name (`previous`, one per document) is that same string: most tags of a release name the
    same ref, and neighbours often the same source."""
    if not annotations:
        return {}
    shared: dict[str, str] = {}
    for name, value in annotations.items():
        key = sys.intern(name)
        last = previous.get(key)
        shared[key] = previous[key] = last if last is not None and last == value else value
    return shared


def _tag(entry: TagDocument, number: int, where: str, previous: dict[str, str]) -> ImageTag:
    """The tag `entry` (number `number` of `where`'s spec.tags), its name and image checked."""
    name = _checked(names.check_tag, entry.name, "component name", where, f"$.spec.tags[{number}].name")
    source = entry.source or ObjectReferenceDocument(name="")
    if source.kind != "DockerImage" or not source.name:
        raise PayloadError(f"{where}: tag {name!r} has no DockerImage 'from'")
    return ImageTag(name, source.name, _annotations(entry.annotations, previous), TagPolicy.of(entry))


_TAG_LIST = list[TagDocument]


def _decode_tags(data: bytes) -> tuple[ImageTag, ...]:
    """A block of packed tags (a JSON array of tags that `ImageStream.parse` checked when it packed them)."""
    prepare(_TAG_LIST)
    previous: dict[str, str] = {}
    return tuple(_tag(entry, number, IMAGE_REFERENCES, previous)
                 for number, entry in enumerate(msgspec.json.decode(data, type=_TAG_LIST)))


class StreamStatus(Struct, frozen=True):
    """An ImageStream's status: its repositories, and the images its tags were imported as (an input of `new -f`)."""

    docker_image_repository: str = ""
    public_docker_image_repository: str = ""
    tags: tuple[NamedTagEventListDocument, ...] = ()


class ImageStream(Struct, frozen=True):
    """image-references: the components of a release (or of an operator's placeholders).

    `created` is metadata.creationTimestamp (RFC 3339, None when absent): the release's build time. `tags`
    are in the document's order: read from JSON (a release's image-references), more than a block of them
    (`packed.BLOCK`) are a `PackedSequence` that decodes them as they are read, so that thousands of them
    cost little while a release is open; otherwise a tuple.
    """

    name: str
    tags: Sequence[ImageTag]
    annotations: dict[str, str] = field(default_factory=dict)
    created: str | None = None
    status: StreamStatus = StreamStatus()
    api_version: str = "image.openshift.io/v1"

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
        document: ImageStreamDocument | _StreamParts
        parts: list[msgspec.Raw] = []
        entries: list[TagDocument] = []
        try:
            prepare(_StreamParts)
            document = msgspec.json.decode(data, type=_StreamParts)
            parts = (document.spec.tags if document.spec else None) or []
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # YAML, or a problem told as before
            document = decode_json_or_yaml(data, ImageStreamDocument, where, PayloadError)
            entries = (document.spec.tags if document.spec else None) or []
        if document.kind != "ImageStream":
            raise PayloadError(f"{where} is not an ImageStream")
        previous: dict[str, str] = {}
        tags: Sequence[ImageTag]
        if isinstance(document, _StreamParts):  # the tags kept packed as the JSON they were read from
            packer = Packer(_decode_tags)
            for number, part in _taking(parts):
                packer.add(part, _tag(decode_json_part(part, TagDocument, where, PayloadError, f"$.spec.tags[{number}]"),
                                      number, where, previous))
            tags = packer.done()
        else:
            tags = tuple(_tag(entry, number, where, previous) for number, entry in enumerate(entries))
        metadata = document.metadata or ObjectMetaDocument()
        if metadata.name:
            _checked(names.check_tag, metadata.name, "release name", where, "$.metadata.name")
        status = document.status or ImageStreamStatusDocument()
        return cls(metadata.name, tags, dict(metadata.annotations or {}), metadata.creation_timestamp,
                   StreamStatus(status.docker_image_repository, status.public_docker_image_repository,
                                tuple(status.tags or ())), document.api_version)

    def to_json(self) -> dict[str, Any]:
        """The ImageStream as oc writes image-references: Go's field order, empty fields as Go leaves them."""
        metadata: dict[str, Any] = {"name": self.name} if self.name else {}
        metadata["creationTimestamp"] = self.created
        if self.annotations:
            metadata["annotations"] = gojson.sorted_map(self.annotations)
        spec: dict[str, Any] = {"lookupPolicy": {"local": False}}
        if self.tags:
            spec["tags"] = [t.to_json() for t in self.tags]
        status: dict[str, Any] = {"dockerImageRepository": self.status.docker_image_repository}
        if self.status.public_docker_image_repository:
            status["publicDockerImageRepository"] = self.status.public_docker_image_repository
        return {"kind": "ImageStream", "apiVersion": "image.openshift.io/v1", "metadata": metadata, "spec": spec,
                "status": status}

    def encode(self) -> bytes:
        """image-references as oc writes it: json.MarshalIndent with two spaces, no newline at the end."""
        return gojson.marshal_indent(self.to_json())


class ReleaseMetadata(Struct, frozen=True):
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
        """release-metadata as oc writes it: `previous` always (`[]` when none), `next` and `metadata` when
        set, Go's map order, two-space indent, no newline at the end."""
        document: dict[str, Any] = {"kind": METADATA_KIND, "version": self.version, "previous": list(self.previous)}
        if self.next:
            document["next"] = list(self.next)
        if self.metadata:
            document["metadata"] = _go_value(self.metadata)
        return gojson.marshal_indent(document)


def _go_value(value: Any) -> Any:
    """A JSON value as Go holds it in an interface{}: maps sorted by key, numbers as float64."""
    if isinstance(value, dict):
        return gojson.sorted_map({key: _go_value(item) for key, item in value.items()})
    if isinstance(value, list):
        return [_go_value(item) for item in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**53:
        return _go_value(float(value))
    return value


class Payload(Struct, frozen=True):
    """The contents of /release-manifests/: image-references, release-metadata and the manifests.

    `raw` is image-references and release-metadata exactly as read from a release (empty for a payload
    being built, whose files are encoded as oc encodes them); `packed` holds them compressed, as they are
    rarely read again (`files()`) while the parsed image-references are used throughout: a release of
    thousands of images would otherwise hold every image twice. `mtimes` the manifests' modification times
    (seconds since the epoch, from the operator images' layers: oc keeps them in the payload layer), and
    `newest` the newest time of every file oc read from the operators (their image-references too), which
    dates the directory, image-references and release-metadata (None: the newest of `mtimes`).
    """

    image_references: ImageStream
    metadata: ReleaseMetadata | None
    manifests: dict[str, bytes]
    packed: dict[str, bytes] = field(default_factory=dict)
    mtimes: dict[str, float] = field(default_factory=dict)
    newest: float | None = None

    @property
    def version(self) -> str:
        return self.metadata.version if self.metadata else self.image_references.name

    @property
    def raw(self) -> dict[str, bytes]:
        return {name: zlib.decompress(data) for name, data in self.packed.items()}

    def files(self) -> dict[str, bytes]:
        """Every file of release-manifests by name, as `new` writes them."""
        raw = self.raw
        files = {IMAGE_REFERENCES: raw.get(IMAGE_REFERENCES) or self.image_references.encode()}
        if self.metadata:
            files[RELEASE_METADATA] = raw.get(RELEASE_METADATA) or self.metadata.encode()
        files.update(self.manifests)
        return files

    def layer_entries(self) -> list[LayerEntry]:
        """The payload layer as oc writes it: the directory `release-manifests`, image-references and
        release-metadata, all dated by the newest manifest (truncated to the second), then the manifests
        in the order of `manifests` with their own times; directory 0777, files 0444."""
        newest = float(math.floor(self.newest if self.newest is not None else max(self.mtimes.values(), default=0.0)))
        files = self.files()
        entries = [LayerEntry.directory(MANIFESTS_DIR, 0o777, newest),
                   LayerEntry.file(f"{MANIFESTS_DIR}/{IMAGE_REFERENCES}", files[IMAGE_REFERENCES], 0o444, newest)]
        if self.metadata:
            entries.append(LayerEntry.file(f"{MANIFESTS_DIR}/{RELEASE_METADATA}", files[RELEASE_METADATA], 0o444, newest))
        for name, data in self.manifests.items():
            entries.append(LayerEntry.file(f"{MANIFESTS_DIR}/{name}", data, 0o444, self.mtimes.get(name, 0.0)))
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
        packed = {name: zlib.compress(files[name]) for name in (IMAGE_REFERENCES, RELEASE_METADATA) if name in files}
        return cls(references, metadata, manifests, packed)
