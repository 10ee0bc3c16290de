"""`new`: build a release payload from an image stream, an existing release or a directory, as oc does.

The build time is written into the payload (image-references' creationTimestamp) and the image config;
it is now, or SOURCE_DATE_EPOCH when set (the reproducible-builds convention), so the same inputs at the
same build time give the same digest. A release rebuilt from itself with no changes keeps its own build
time, and its digest is checked against the input's (oc's "could not be reproduced" check).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from okd_release import reference as references
from okd_release.content import Descriptor
from okd_release.documents import decode_json
from okd_release.errors import ConfigError, InvalidReference, PayloadError
from okd_release.image.gojson import rfc3339
from okd_release.listener import ProgressListener
from okd_release.registry.session import Registries
from okd_release.release.new import sources
from okd_release.release.new.operators import (
    CheckedOperator,
    GatheredManifests,
    assemble_manifests,
    check_operator,
    gather_manifests,
    is_operator,
    is_override,
    read_operator,
)
from okd_release.release.new.rewrite import exact_mapper
from okd_release.release.new.transforms import check_build_versions
from okd_release.release.payload.components import ComponentImage, resolve_all
from okd_release.release.payload.model import (
    ANNOTATION_COMMIT,
    ANNOTATION_DISPLAY_NAMES,
    ANNOTATION_FROM_RELEASE,
    ANNOTATION_OVERRIDE,
    ANNOTATION_REF,
    ANNOTATION_SOURCE,
    ANNOTATION_VERSIONS,
    NO_POLICY,
    ImageStream,
    ImageTag,
    Payload,
    ReleaseMetadata,
    check_semver,
)
from okd_release.release.payload.source import ReleaseImage
from okd_release.release.payload.versions import parse_semver, parse_versions

GO_ZERO_TIME = -62135596800
"""Go's zero time.Time (0001-01-01T00:00:00Z): the build time of a release whose image-references has none."""


class NewOptions(Struct):
    """What `plan_release` builds a payload from: the fields of `okd-release new`'s flags.

    Each field is named after its flag (`--from-release` is `from_release`, `--mapping-file` is
    `mapping_file`); a repeatable flag is a list. Give at most one of `from_image_stream_file`,
    `from_release` and `from_dir`, and/or `replacements`.

    Attributes:
        from_image_stream_file: an ImageStream file naming the component images (`-f`).
        from_release: an existing release whose images (and metadata) to start from (`--from-release`).
        from_dir: a directory with one subdirectory of manifests per operator and image-references (`--from-dir`).
        replacements: `NAME=IMAGE` component replacements (the command's arguments).
        mapping_file: files of `NAME=IMAGE` lines, `#` comments (`--mapping-file`).
        name: the release version, a semantic version (`--name`); default `0.0.1-<build time>`, or the
            input release's.
        previous: versions this release upgrades from (`--previous`).
        next: versions that upgrade from this release (`--next`).
        metadata: a JSON object for release-metadata's `metadata` (`--metadata`).
        reference_mode: `public` (images named through the stream's public repository) or `source`.
        component_versions: `key=version,...` checked as oc checks them (`--component-versions`).
        component_versions_display_names: `key=name,...` (`--component-versions-display-names`).
        include: images to keep although no operator references them (`--include`).
        exclude: images to leave out (`--exclude`).
        allow_missing_images: leave out images that cannot be found instead of failing (`--allow-missing-images`).
        skip_manifest_check: copy manifests that do not parse (`--skip-manifest-check`).
        keep_manifest_list: read a multi-arch input release for linux/amd64, and base the release on it when
            none of its images is its base (`--keep-manifest-list`).
        to_image_base: the image to add the payload layer to (`--to-image-base`).
        to_image_base_tag: the component whose image is the base when no `to_image_base`; always kept in the
            release (`--to-image-base-tag`).
        created: the build time in seconds since the epoch; None: SOURCE_DATE_EPOCH when set, else now.
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
    component_versions: str | None = None
    component_versions_display_names: str | None = None
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    allow_missing_images: bool = False
    skip_manifest_check: bool = False
    keep_manifest_list: bool = False
    to_image_base: str | None = None
    to_image_base_tag: str = "cluster-version-operator"
    created: int | None = None


class PlannedRelease(Struct):
    """A payload ready to write or push, with the resolved component images it names.

    Attributes:
        payload: the release-manifests: image-references, release-metadata and the manifests.
        components: the resolved component images by name.
        missing: images left out because they could not be found (with `allow_missing_images`).
        base_pullspec: the image the payload layer goes on top of (None when the input has none).
        options: the options it was planned with.
        created: the build time (seconds since the epoch).
        reproduce: the digest the release must have: the input release's, when it is rebuilt with no changes.
        source_layer: the input release's payload layer (reused when the rebuilt one has the same content,
            since its gzip compression is not ours), with the input release.
        info: what oc reports on stderr about its inputs.
    """

    payload: Payload
    components: dict[str, ComponentImage]
    missing: list[str]
    base_pullspec: str | None
    options: NewOptions
    created: int = 0
    reproduce: str | None = None
    source_layer: tuple[Descriptor, str, ReleaseImage] | None = None
    info: list[str] = field(default_factory=list)

    @property
    def created_text(self) -> str:
        return rfc3339(self.created)

    def __repr__(self) -> str:
        return (f"<PlannedRelease {self.payload.version}: {len(self.payload.image_references.tags)} images, "
                f"{len(self.payload.manifests)} manifests, {len(self.missing)} missing>")


def build_time(options: NewOptions) -> int:
    """The build time: `options.created`, else SOURCE_DATE_EPOCH, else now (whole seconds, as oc)."""
    if options.created is not None:
        return options.created
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return int(time.time())
    if not epoch.isascii() or not epoch.isdigit() or int(epoch) > 253402300799:
        raise ConfigError(f"SOURCE_DATE_EPOCH must be a number of seconds since 1970-01-01 (not {epoch!r})")
    return int(epoch)


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


def _check_options(options: NewOptions) -> None:
    if options.reference_mode not in ("public", "source", ""):
        raise ConfigError('supported reference modes are: "public" (default) and "source"')
    chosen = [s for s in (options.from_image_stream_file, options.from_release, options.from_dir) if s]
    if len(chosen) > 1:
        raise ConfigError("only one of --from-image-stream-file, --from-release, or --from-dir may be specified")
    try:
        parse_versions(options.component_versions or "", options.component_versions_display_names or "")
    except PayloadError as error:
        raise ConfigError(f"--component-versions is invalid: {error}") from None
    if options.name:
        try:
            parse_semver(options.name)
        except PayloadError as error:
            raise ConfigError(f"--name must be a semantic version: {error}") from None
    if options.metadata:
        decode_json(options.metadata, dict[str, Any], "--metadata", ConfigError)


def _metadata_changed(options: NewOptions, mappings: list[tuple[str, str]]) -> bool:
    """oc's hasMetadataOverrides: anything that makes the release differ from its input release."""
    return bool(options.name or options.metadata or options.previous or options.next or options.to_image_base
                or options.component_versions or options.component_versions_display_names or mappings
                or options.exclude or options.include)


def _load(registries: Registries, options: NewOptions) -> sources.Source:
    if options.from_image_stream_file:
        return sources.from_stream_file(Path(options.from_image_stream_file), options.reference_mode, options.exclude)
    if options.from_release:
        return sources.from_release(registries, options.from_release, options.exclude, options.keep_manifest_list)
    if options.from_dir:
        return sources.from_dir(Path(options.from_dir), options.exclude)
    return sources.empty()


def _apply_mappings(tags: list[ImageTag], mappings: list[tuple[str, str]], exclude: list[str],
                    has_source: bool) -> list[ImageTag]:
    """Replacements as oc applies them: the tag's annotations reset to the override mark."""
    by_name = {t.name: t for t in tags}
    for name, image in mappings:
        if name in exclude:
            continue
        if has_source and name not in by_name:
            raise PayloadError(f"unknown component {name!r} in replacement {name}={image}: the input has no image of that name")
        old = by_name.get(name)
        by_name[name] = ImageTag(name, image, {ANNOTATION_OVERRIDE: "true"}, old.policy if old else NO_POLICY)
    if not by_name:
        raise ConfigError("no images: give --from-image-stream-file, --from-release, --from-dir or NAME=IMAGE mappings")
    return sorted(by_name.values(), key=lambda t: t.name)


def _annotated(tag: ImageTag, component: ComponentImage) -> ImageTag:
    """The tag pinned by digest, with the build annotations oc copies from its image's labels (the commit,
    ref and source always, empty when unlabelled; versions and display names when versions are labelled)."""
    labels = component.labels
    check_build_versions(tag.name, labels)
    annotations = dict(tag.annotations)
    for key in (ANNOTATION_COMMIT, ANNOTATION_REF, ANNOTATION_SOURCE):
        annotations[key] = labels.get(key, "")
    if labels.get(ANNOTATION_VERSIONS):
        annotations[ANNOTATION_VERSIONS] = labels[ANNOTATION_VERSIONS]
        annotations[ANNOTATION_DISPLAY_NAMES] = labels.get(ANNOTATION_DISPLAY_NAMES, "")
    return ImageTag(tag.name, component.pullspec, annotations, tag.policy)


def _versions(values: list[str]) -> tuple[str, ...]:
    checked = []
    for value in values:
        if not value:
            continue
        try:
            checked.append(check_semver(value))
        except PayloadError:
            raise PayloadError(f"{value!r} is not a valid semantic version") from None
    return tuple(sorted(checked))


def _metadata(options: NewOptions, source: sources.Source, version: str) -> ReleaseMetadata:
    base = source.metadata
    extra = decode_json(options.metadata, dict[str, Any], "--metadata", ConfigError) if options.metadata \
        else (base.metadata if base else {})
    previous = options.previous or (list(base.previous) if base else [])
    following = options.next or (list(base.next) if base else [])
    return ReleaseMetadata(version, _versions(previous), _versions(following), extra)


def _dir_manifests(source: sources.Source, tags: list[ImageTag], version: str, options: NewOptions) -> GatheredManifests:
    """--from-dir: the operators' manifests as oc makes them, then the release manifests beside
    image-references as they are, with a replaced image's old pullspec swapped for the new."""
    assert source.operators is not None
    checked = {name: check_operator(name, read, not options.skip_manifest_check) for name, read in source.operators.items()}
    gathered = assemble_manifests(checked, tags, version, allow_missing=options.allow_missing_images)
    if not source.manifests or not source.manifests.files:
        return gathered
    old = {t.name: t.pullspec for t in source.tags}
    rewrite = exact_mapper({old[t.name]: t.pullspec for t in tags if t.name in old and old[t.name] != t.pullspec})
    manifests, mtimes = dict(gathered.manifests), dict(gathered.mtimes)
    for name, data in source.manifests.files.items():
        if name in manifests:
            raise PayloadError(f"{name} is both an operator's manifest and a file of --from-dir")
        manifests[name], mtimes[name] = rewrite(data), source.manifests.mtimes[name]
    newest = max([gathered.newest, *source.manifests.mtimes.values()])
    return GatheredManifests(manifests, gathered.referenced, mtimes, newest)


def _created_of(stream: ImageStream) -> int:
    if not stream.created:
        return GO_ZERO_TIME
    try:
        parsed = datetime.strptime(stream.created, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise PayloadError(f"the input release's creationTimestamp {stream.created!r} is not an RFC 3339 time") from None
    return int(parsed.timestamp())


def plan_release(registries: Registries, options: NewOptions, progress: ProgressListener | None = None) -> PlannedRelease:
    """Resolve the inputs and assemble the payload as oc does; nothing is written or pushed.

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
    _check_options(options)
    mappings = parse_mappings(options.replacements, options.mapping_file)
    changed = _metadata_changed(options, mappings)
    include = set(options.include) | ({options.to_image_base_tag} if options.to_image_base_tag else set())
    created = build_time(options)
    source = _load(registries, options)
    base = options.to_image_base
    annotations = dict(source.stream.annotations)
    reproduce, info = None, list(source.info)
    if source.release is not None:
        assert options.from_release is not None
        if not base:
            found = sources.base_from_release(source)
            if found == "" and not options.keep_manifest_list:
                digest = source.release.config.labels.get("io.openshift.release.base-image-digest") \
                    if source.release.config else ""
                raise PayloadError(f'unable to find an image within the release that matches the base image manifest '
                                   f'"{digest}", please specify --to-image-base')
            if found == "":
                base, changed = options.from_release, True
            else:
                base = found
        if changed:
            annotations[ANNOTATION_FROM_RELEASE] = options.from_release
            info.append(f"info: Found {len(source.tags)} images in release")
        else:
            created = _created_of(source.stream)
            assert source.release.image is not None
            reproduce = source.release.image.digest
    name = options.name or (source.stream.name if source.release is not None else "") \
        or "0.0.1-" + datetime.fromtimestamp(created, UTC).strftime("%Y-%m-%d-%H%M%S")
    try:
        version = check_semver(name)
    except PayloadError:
        raise PayloadError("--name must be a semantic version") from None
    metadata = _metadata(options, source, version)
    tags = _apply_mappings(source.tags, mappings, options.exclude, bool(source.tags))
    components: dict[str, ComponentImage] = {}
    missing: list[str] = []
    if source.operators is not None:
        gathered = _dir_manifests(source, tags, version, options)
        # a directory without operators names no references: its images are kept
        keep = gathered.referenced | include | set(source.operators) if source.operators else {t.name for t in tags}
    else:
        overrides = {t.name for t in tags if is_override(t.annotations)}
        read: dict[str, CheckedOperator] = {}  # each key written by the one thread that resolved its image

        def read_if_operator(component: ComponentImage) -> None:
            if is_operator(component):
                read[component.name] = read_operator(component, component.name in overrides,
                                                     not options.skip_manifest_check)

        components, missing = resolve_all(registries, {t.name: t.pullspec for t in tags},
                                          options.allow_missing_images, progress=progress, then=read_if_operator)
        tags = [_annotated(t, components[t.name]) for t in tags if t.name in components]
        operators = [components[t.name] for t in tags if is_operator(components[t.name])]
        # oc's default versions are the annotations of the stream it writes: a source release's, else none
        gathered = gather_manifests(operators, tags, version, allow_missing=options.allow_missing_images,
                                    check=not options.skip_manifest_check, overrides=overrides, defaults=annotations,
                                    read=read)
        keep = gathered.referenced | include | {op.name for op in operators}
    kept = [t for t in tags if t.name in keep]
    if len(kept) != len(tags):
        operator_count = len(source.operators) if source.operators is not None else len(operators)
        info.append(f"info: Included {len(kept)} images from {operator_count} input operators into the release")
    stream = ImageStream(version, tuple(kept), annotations, None if created == GO_ZERO_TIME else rfc3339(created),
                         source.stream.status)
    payload = Payload(stream, metadata, gathered.manifests, mtimes=gathered.mtimes, newest=gathered.newest)
    if not base:
        base = next((t.pullspec for t in kept if t.name == options.to_image_base_tag), None)
    layer = None
    if reproduce and source.release is not None and source.release.image is not None and source.release.config:
        diff_ids = source.release.config.diff_ids
        if diff_ids and source.release.image.layers:
            layer = (source.release.image.layers[-1], diff_ids[-1], source.release)
    return PlannedRelease(payload, components, missing, base, options, created, reproduce, layer, info)
