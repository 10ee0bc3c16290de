"""`new`: build a release payload from an image stream, an existing release or a directory.

Deterministic: fixed timestamps and canonical serialisation, so the same inputs give the same digest and
`new --from-release X` with no changes rebuilds X exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okd_release import reference as references
from okd_release.documents import decode_json
from okd_release.errors import ConfigError, InvalidReference, PayloadError
from okd_release.listener import ProgressListener
from okd_release.registry.session import Registries
from okd_release.release.new.operators import gather_manifests, is_operator, is_override
from okd_release.release.new.rewrite import exact_mapper
from okd_release.release.new.transforms import check_build_versions
from okd_release.release.payload.components import ComponentImage, resolve_all
from okd_release.release.payload.model import (
    ANNOTATION_FROM_RELEASE,
    ANNOTATION_FROM_STREAM,
    ANNOTATION_OVERRIDE,
    BUILD_ANNOTATIONS,
    ImageStream,
    ImageTag,
    Payload,
    ReleaseMetadata,
    check_semver,
)
from okd_release.release.payload.source import open_payload_dir, open_release

FIXED_CREATED = "1970-01-01T00:00:00Z"
DEFAULT_VERSION = "0.0.1-0.okd-release"
MAX_IMAGE_STREAM_FILE = 16 * 1024 * 1024  # a release of a thousand components is under 2 MiB


@dataclass
class NewOptions:
    """What `plan_release` builds a payload from: the fields of `okd-release new`'s flags.

    Each field is named after its flag (`--from-release` is `from_release`, `--mapping-file` is
    `mapping_file`); a repeatable flag is a list. Give at most one of `from_image_stream_file`,
    `from_release` and `from_dir`, and/or `replacements`.

    Attributes:
        from_image_stream_file: an ImageStream file naming the component images (`-f`).
        from_release: an existing release whose images (and metadata) to start from (`--from-release`).
        from_dir: a directory of manifests, image-references and release-metadata (`--from-dir`).
        replacements: `NAME=IMAGE` component replacements (the command's arguments).
        mapping_file: files of `NAME=IMAGE` lines, `#` comments (`--mapping-file`).
        name: the release version, a semantic version (`--name`).
        previous: versions this release upgrades from (`--previous`).
        next: versions that upgrade from this release (`--next`).
        metadata: a JSON object for release-metadata's `metadata` (`--metadata`).
        reference_mode: `public` or `source`, as oc accepts (`--reference-mode`).
        include: images to keep although no operator references them (`--include`).
        exclude: images to leave out (`--exclude`).
        allow_missing_images: leave out images that cannot be found instead of failing (`--allow-missing-images`).
        to_image_base: the image to add the payload layer to (`--to-image-base`).
        to_image_base_tag: the component whose image is the base when no `to_image_base` (`--to-image-base-tag`).
        created: the timestamp written into the image (library only; fixed, so that builds are reproducible).
    """

    from_image_stream_file: Path | None = None
    from_release: str | None = None
    from_dir: Path | None = None
    replacements: list[str] = field(default_factory=list)
    mapping_file: list[Path] = field(default_factory=list)
    name: str | None = None
    previous: list[str] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    metadata: str | None = None
    reference_mode: str = "public"
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    allow_missing_images: bool = False
    skip_manifest_check: bool = False
    to_image_base: str | None = None
    to_image_base_tag: str = "cluster-version-operator"
    created: str = FIXED_CREATED


@dataclass(frozen=True)
class Source:
    stream: ImageStream
    manifests: dict[str, bytes] | None  # only for --from-dir: taken as they are
    metadata: ReleaseMetadata | None
    annotation: tuple[str, str] | None


@dataclass(repr=False)
class PlannedRelease:
    """A payload ready to write or push, with the resolved component images it names.

    Attributes:
        payload: the release-manifests: image-references, release-metadata and the manifests.
        components: the resolved component images by name.
        missing: images left out because they could not be found (with `allow_missing_images`).
        base_pullspec: the image the payload layer goes on top of (None when the input has none).
        options: the options it was planned with.
    """

    payload: Payload
    components: dict[str, ComponentImage]
    missing: list[str]
    base_pullspec: str | None
    options: NewOptions

    def __repr__(self) -> str:
        return (f"<PlannedRelease {self.payload.version}: {len(self.payload.image_references.tags)} images, "
                f"{len(self.payload.manifests)} manifests, {len(self.missing)} missing>")


def parse_mappings(arguments: list[str], files: list[Path]) -> list[tuple[str, str]]:
    """`NAME=IMAGE` from the command line and mapping files (lines of space-separated NAME=IMAGE, # comments)."""
    items = [(argument, "argument") for argument in arguments]
    for path in files:
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise ConfigError(f"cannot read mapping file {path}: {error.strerror}") from None
        for number, line in enumerate(lines, 1):
            items.extend((word, f"{path}:{number}") for word in line.split("#", 1)[0].split())
    mappings: list[tuple[str, str]] = []
    seen: set[str] = set()
    for text, where in items:
        name, sep, image = text.partition("=")
        if not sep or not name or not image:
            raise ConfigError(f"invalid replacement {text!r} ({where}): expected NAME=IMAGE")
        if name in seen:
            raise ConfigError(f"component {name!r} is replaced more than once")
        try:
            references.parse(image)
        except InvalidReference as error:
            raise ConfigError(f"invalid replacement {text!r}: {error}") from None
        seen.add(name)
        mappings.append((name, image))
    return mappings


def _load_source(registries: Registries, options: NewOptions) -> Source:
    chosen = [s for s in (options.from_image_stream_file, options.from_release, options.from_dir) if s]
    if len(chosen) > 1:
        raise ConfigError("use only one of --from-image-stream-file, --from-release and --from-dir")
    if options.from_image_stream_file:
        path = Path(options.from_image_stream_file)
        try:
            with path.open("rb") as handle:
                data = handle.read(MAX_IMAGE_STREAM_FILE + 1)
        except OSError as error:
            raise ConfigError(f"cannot read image stream file {path}: {error.strerror}") from None
        if len(data) > MAX_IMAGE_STREAM_FILE:
            raise ConfigError(f"image stream file {path} is larger than {MAX_IMAGE_STREAM_FILE} bytes")
        stream = ImageStream.parse(data, f"image stream file {path}")
        return Source(stream, None, None, (ANNOTATION_FROM_STREAM, stream.name or path.name))
    if options.from_release:
        release = open_release(registries, options.from_release)
        return Source(release.payload.image_references, None, release.payload.metadata,
                      (ANNOTATION_FROM_RELEASE, options.from_release))
    if options.from_dir:
        release = open_payload_dir(Path(options.from_dir))
        return Source(release.payload.image_references, release.payload.manifests, release.payload.metadata, None)
    return Source(ImageStream("", ()), None, None, None)


def _default_version(source: Source) -> str:
    if source.metadata:
        return source.metadata.version
    if source.stream.name:
        try:
            return check_semver(source.stream.name)
        except PayloadError:
            pass
    return DEFAULT_VERSION


def _apply_mappings(source: Source, mappings: list[tuple[str, str]], exclude: list[str]) -> list[ImageTag]:
    tags = {t.name: t for t in source.stream.tags if t.name not in exclude}
    has_source = bool(source.stream.tags)
    for name, image in mappings:
        if name in exclude:
            continue
        if has_source and name not in tags:
            raise PayloadError(f"unknown component {name!r} in replacement {name}={image}: the input has no image of that name")
        tags[name] = ImageTag(name, image, {ANNOTATION_OVERRIDE: "true"})
    if not tags:
        raise ConfigError("no images: give --from-image-stream-file, --from-release, --from-dir or NAME=IMAGE mappings")
    return list(tags.values())


def _annotated(tag: ImageTag, component: ComponentImage) -> ImageTag:
    check_build_versions(tag.name, component.labels)
    annotations = {k: v for k, v in tag.annotations.items() if k == ANNOTATION_OVERRIDE}
    annotations.update({k: component.labels[k] for k in BUILD_ANNOTATIONS if component.labels.get(k)})
    return ImageTag(tag.name, component.pullspec, annotations)


def _metadata(options: NewOptions, source: Source, version: str) -> ReleaseMetadata:
    base = source.metadata
    extra = decode_json(options.metadata, dict[str, Any], "--metadata", ConfigError) if options.metadata \
        else (base.metadata if base else {})
    previous = options.previous or (list(base.previous) if base else [])
    following = options.next or (list(base.next) if base else [])
    return ReleaseMetadata(
        version,
        tuple(sorted(check_semver(v) for v in previous if v)),
        tuple(sorted(check_semver(v) for v in following if v)),
        extra,
    )


def plan_release(registries: Registries, options: NewOptions, progress: ProgressListener | None = None) -> PlannedRelease:
    """Resolve the inputs and assemble the payload; nothing is written or pushed.

    Reads the source (image stream file, release or directory), applies the replacements, resolves every
    component image, copies and rewrites the operators' manifests, and pins every image by digest. Give the
    result to `push_release`, `write_to_file` or `write_to_dir`.

    Args:
        registries: the registry clients to resolve the component images with.
        options: the inputs; see `NewOptions`.
        progress: told as each component image is resolved (nothing when None).

    Raises:
        ConfigError: conflicting or unreadable inputs (two sources, a bad mapping, invalid --metadata).
        PayloadError: a version that is not semver, an unknown component, a malformed input payload.
        NotFound: a component image does not exist (unless `allow_missing_images`).
        OkdReleaseError: any other registry or image failure.
    """
    if options.reference_mode not in ("public", "source"):
        raise ConfigError("--reference-mode must be 'public' or 'source'")
    source = _load_source(registries, options)
    mappings = parse_mappings(options.replacements, options.mapping_file)
    tags = _apply_mappings(source, mappings, options.exclude)
    metadata_changed = bool(options.name or options.previous or options.next or options.metadata or mappings)
    version = check_semver(options.name or _default_version(source))
    components, missing = resolve_all(registries, {t.name: t.pullspec for t in tags}, options.allow_missing_images,
                                      progress=progress)
    tags = [_annotated(t, components[t.name]) for t in tags if t.name in components]
    pullspecs = {t.name: t.pullspec for t in tags}
    if source.manifests is not None:
        manifests = _rewrite_dir_manifests(source, pullspecs)
    else:
        operators = [components[t.name] for t in tags if is_operator(components[t.name])]
        overrides = {t.name for t in tags if is_override(t.annotations)}
        # oc's default versions are the annotations of the stream it writes: a source release's, else none
        defaults = source.stream.annotations if options.from_release else {}
        gathered = gather_manifests(operators, tags, version, allow_missing=options.allow_missing_images,
                                    check=not options.skip_manifest_check, overrides=overrides, defaults=defaults)
        manifests, referenced = gathered.manifests, gathered.referenced
        keep = referenced | set(options.include) | {t.name for t in tags if is_operator(components[t.name])}
        tags = [t for t in tags if t.name in keep]
    annotations = dict(source.stream.annotations)
    if source.annotation and (metadata_changed or source.annotation[0] != ANNOTATION_FROM_RELEASE):
        annotations = {k: v for k, v in annotations.items() if k not in (ANNOTATION_FROM_RELEASE, ANNOTATION_FROM_STREAM)}
        annotations[source.annotation[0]] = source.annotation[1]
    stream = ImageStream(version, (), annotations).with_tags(tags)
    payload = Payload(stream, _metadata(options, source, version), manifests)
    base = options.to_image_base or pullspecs.get(options.to_image_base_tag)
    return PlannedRelease(payload, components, missing, base, options)


def _rewrite_dir_manifests(source: Source, pullspecs: dict[str, str]) -> dict[str, bytes]:
    """For --from-dir: the manifests as given, with a replaced component's old pullspec swapped for the new."""
    assert source.manifests is not None
    old = {t.name: t.pullspec for t in source.stream.tags}
    rewrite = exact_mapper({old[n]: p for n, p in pullspecs.items() if n in old and old[n] != p})
    return {name: rewrite(data) for name, data in source.manifests.items()}
