"""An ImageStream file given to `new -f`, read as oc reads it (resolveImageStreamTagsToReferenceMode).

Each spec tag naming an image by digest, and each status tag's newest image, becomes a release tag. With
`--reference-mode=public` (oc's default) the image is named through the stream's
`status.publicDockerImageRepository`; with `source`, by where it was imported from (unless that is the
internal registry, `status.dockerImageRepository`).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from okd_release import names
from okd_release.documents import decode_json_or_yaml
from okd_release.errors import ConfigError, PayloadError
from okd_release.release.payload.model import (
    ImageStreamDocument,
    ImageStreamStatusDocument,
    ImageTag,
    NamedTagEventListDocument,
    TagDocument,
    TagPolicy,
)

MAX_IMAGE_STREAM_FILE = 16 * 1024 * 1024  # a release of a thousand components is under 2 MiB
REFERENCE_MODES = ("public", "", "source")
IMPORT_SUCCESS = "ImportSuccess"


def read_image_stream_file(path: Path) -> ImageStreamDocument:
    """The file as an image.openshift.io/v1 ImageStream (YAML or JSON); ConfigError when it is not one."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_IMAGE_STREAM_FILE + 1)
    except OSError as error:
        raise ConfigError(f"unable to read input image stream file: {path}: {error.strerror}") from None
    if len(data) > MAX_IMAGE_STREAM_FILE:
        raise ConfigError(f"image stream file {path} is larger than {MAX_IMAGE_STREAM_FILE} bytes")
    document = decode_json_or_yaml(data, ImageStreamDocument, f"image stream file {path}", ConfigError)
    if document.kind != "ImageStream" or document.api_version != "image.openshift.io/v1":
        raise ConfigError("unrecognized input image stream file, must be an ImageStream in image.openshift.io/v1")
    return document


def _without_tag_or_digest(pullspec: str) -> str:
    name = pullspec.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def _has_digest(pullspec: str) -> str | None:
    _, at, digest = pullspec.partition("@")
    return digest if at else None


def _not_imported(tag: str) -> PayloadError:
    return PayloadError(f'the tag "{tag}" in the source input stream has not been imported yet')


def _check_imported(events: NamedTagEventListDocument) -> None:
    """A status tag with no image: an error if its import failed, else it is skipped."""
    for condition in events.conditions or ():
        if condition.type == IMPORT_SUCCESS and condition.status != "Success":
            raise _not_imported(events.tag)


class _Repositories:
    def __init__(self, status: ImageStreamStatusDocument, mode: str) -> None:
        self.force_external = mode in ("public", "")
        self.internal = status.docker_image_repository
        self.external = status.public_docker_image_repository
        if self.force_external and not self.external:
            raise PayloadError("only image streams or releases with public image repositories can be the source "
                               "for releases when using the default --reference-mode")

    def source(self, source: str, image: str) -> str:
        """Where the release names `image` (a digest), imported from `source`; "" when it cannot say."""
        if source and self.internal and source.startswith(self.internal):
            source = ""  # the internal registry is not reachable from a cluster being installed
        if (self.force_external or not source) and self.external:
            return f"{self.external}@{image}"
        return source


def release_tags(document: ImageStreamDocument, mode: str, exclude: Collection[str]) -> list[ImageTag]:
    """The tags a release built from this ImageStream names, in oc's order (spec tags, then status tags)."""
    if mode not in REFERENCE_MODES:
        raise ConfigError('supported reference modes are: "public" (default) and "source"')
    status = document.status or ImageStreamStatusDocument()
    repositories = _Repositories(status, mode)
    events = {item.tag: item for item in status.tags or ()}
    tags: list[ImageTag] = []
    covered: set[str] = set()
    for spec in (document.spec.tags if document.spec else None) or ():
        if spec.name in exclude:
            continue
        imported = events.get(spec.name)
        if spec.generation is not None and imported is not None and imported.items:
            if spec.generation > imported.items[0].generation:
                raise _not_imported(imported.tag)
            continue  # the status tag wins: a push can follow an import at the same generation
        tag = _spec_tag(spec, imported, repositories)
        if tag is not None:
            tags.append(tag)
            covered.add(tag.name)
    for imported in status.tags or ():
        if imported.tag in covered or imported.tag in exclude:
            continue
        if not imported.items:
            _check_imported(imported)
            continue
        newest = imported.items[0]
        if not newest.image:
            continue  # a spec tag made and deleted again
        source = repositories.source(newest.docker_image_reference, newest.image)
        if source:
            tags.append(ImageTag(imported.tag, f"{_without_tag_or_digest(source)}@{newest.image}"))
    for tag in tags:  # each becomes part of a tag (`<version>-<arch>-<name>`) when the release is mirrored
        names.check_tag(tag.name, "component name")
    return tags


def _spec_tag(spec: TagDocument, imported: NamedTagEventListDocument | None, repositories: _Repositories) -> ImageTag | None:
    if spec.source is None or spec.source.kind != "DockerImage":
        return None  # other kinds are taken from the status tags
    annotations = dict(spec.annotations or {})
    digest = _has_digest(spec.source.name)
    if digest:
        source = repositories.source(spec.source.name, digest)
        return ImageTag(spec.name, source, annotations, TagPolicy.of(spec)) if source else None
    if imported is None:
        return None  # only a tag, never imported
    if not imported.items:
        _check_imported(imported)
        return None
    if not imported.items[0].image:
        raise PayloadError(f'the tag "{imported.tag}" in the source input stream has no image id')
    source = repositories.source(imported.items[0].docker_image_reference, imported.items[0].image)
    return ImageTag(spec.name, source, annotations, TagPolicy.of(spec))
