"""What `new` builds from: an ImageStream file, an existing release, or a directory of operator manifests.

Each is read as oc reads it (oc's NewOptions.Run): the release's image-references keep their annotations,
status and tag fields; an ImageStream file gives only its tags (through `--reference-mode`); a directory
holds one subdirectory of manifests per operator and, beside them, the image-references to build from.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from msgspec import Struct, field

from okd_release import names
from okd_release import reference as references
from okd_release.errors import ConfigError, InvalidReference, PayloadError, UnsafeName
from okd_release.image.manifest import ImageManifest
from okd_release.registry.session import Registries
from okd_release.release.new.imagestream import read_image_stream_file, release_tags
from okd_release.release.new.operators import OperatorFiles
from okd_release.release.payload.model import (
    IMAGE_REFERENCES,
    LABEL_BASE_DIGEST,
    RELEASE_METADATA,
    ImageStream,
    ImageTag,
    ReleaseMetadata,
    StreamStatus,
)
from okd_release.release.payload.source import DEFAULT_PLATFORM, ReleaseImage, open_release

MAX_DIR_FILE = 64 * 1024 * 1024


class Source(Struct, frozen=True):
    """The input of a build.

    Attributes:
        tags: the input's tags, in its order, excluded ones left out.
        stream: the ImageStream whose annotations and status the release keeps (a release's, a directory's).
        metadata: the input release's release-metadata.
        release: the input release (`--from-release`).
        operators: for `--from-dir`, each operator's files by subdirectory name.
        manifests: for `--from-dir`, the release manifests beside image-references (oc ignores them; we
            take them as they are, so that a directory `extract --to` wrote can be edited and rebuilt).
    """

    tags: list[ImageTag]
    stream: ImageStream = ImageStream("", ())
    metadata: ReleaseMetadata | None = None
    release: ReleaseImage | None = None
    operators: dict[str, OperatorFiles] | None = None
    manifests: OperatorFiles | None = None
    info: list[str] = field(default_factory=list)

    @property
    def image(self) -> ImageManifest | None:
        """The input release's image (its manifest for the platform read)."""
        return self.release.image if self.release else None


def from_stream_file(path: Path, reference_mode: str, exclude: Collection[str]) -> Source:
    tags = release_tags(read_image_stream_file(path), reference_mode, exclude)
    return Source(tags, info=[f"info: Found {len(tags)} images in image stream"])


def from_release(registries: Registries, pullspec: str, exclude: Collection[str], keep_manifest_list: bool) -> Source:
    """The release's image-references and release-metadata; with `keep_manifest_list`, a multi-arch
    release is read for linux/amd64 (as oc: the manifests do not differ between architectures)."""
    release = open_release(registries, pullspec, DEFAULT_PLATFORM if keep_manifest_list else None)
    stream = release.payload.image_references
    tags = [tag for tag in stream.tags if tag.name not in exclude]
    return Source(tags, stream, release.payload.metadata, release)


def base_from_release(source: Source) -> str | None:
    """The tag of the release whose image is the release's base (by its base-image-digest label), None
    when the release names no base."""
    assert source.release is not None and source.release.config is not None
    base_digest = source.release.config.labels.get(LABEL_BASE_DIGEST, "")
    if not base_digest:
        return None
    for tag in source.tags:
        try:
            if references.parse(tag.pullspec).digest == base_digest:
                return tag.pullspec
        except InvalidReference:
            raise PayloadError(f"release image contains unparseable reference for {tag.name!r}: {tag.pullspec}") from None
    return ""


def from_dir(directory: Path, exclude: Collection[str]) -> Source:
    """A directory as oc's --from-dir reads it: each subdirectory an operator's manifests (its name the
    operator's), and `image-references` beside them naming the images. Beyond oc, the files beside
    image-references are release manifests taken as they are, and release-metadata the input's metadata."""
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name.encode("utf-8", "surrogateescape"))
    except OSError as error:
        raise ConfigError(f"cannot read {directory}: {error.strerror}") from None
    operators: dict[str, OperatorFiles] = {}
    stream = ImageStream("", ())
    for entry in entries:
        if entry.is_dir() and entry.name not in exclude:
            operators[_operator_name(entry.name, directory)] = _read_operator_dir(Path(entry.path))
        if entry.name == IMAGE_REFERENCES:
            stream = _read_dir_references(Path(entry.path))
    flat = _read_operator_dir(directory)
    metadata = None
    if RELEASE_METADATA in flat.files:
        metadata = ReleaseMetadata.parse(flat.files[RELEASE_METADATA], f"{directory}/{RELEASE_METADATA}")
    for name in (IMAGE_REFERENCES, RELEASE_METADATA):
        flat.files.pop(name, None)
        flat.mtimes.pop(name, None)
    tags = [tag for tag in stream.tags if tag.name not in exclude]
    return Source(tags, ImageStream(stream.name, (), stream.annotations, None, stream.status), metadata,
                  operators=operators, manifests=flat,
                  info=[f"info: Using {directory} as the input to the release",
                        f"info: Found {len(operators)} operator manifest directories on disk"])


def _operator_name(name: str, directory: Path) -> str:
    try:
        return names.check_tag(name, "operator directory name")
    except UnsafeName as error:
        raise UnsafeName(f"{directory}: {error}") from None


def _read_dir_references(path: Path) -> ImageStream:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    try:
        stream = ImageStream.parse(data, str(path))
    except PayloadError:
        raise PayloadError("unable to load image data from release directory") from None
    if stream.api_version != "image.openshift.io/v1":
        raise PayloadError("could not parse images: invalid kind/apiVersion")
    return stream


def _read_operator_dir(path: Path) -> OperatorFiles:
    """The regular files directly in an operator's directory, with their modification times."""
    files: dict[str, bytes] = {}
    mtimes: dict[str, float] = {}
    for entry in sorted(os.scandir(path), key=lambda e: e.name):
        if not entry.is_file(follow_symlinks=False):
            continue
        info = entry.stat(follow_symlinks=False)
        if info.st_size > MAX_DIR_FILE:
            raise PayloadError(f"{entry.path} is larger than {MAX_DIR_FILE} bytes")
        try:
            names.check_path_component(entry.name, "manifest file name")
        except UnsafeName as error:
            raise UnsafeName(f"{path}: {error}") from None
        with open(entry.path, "rb") as handle:
            files[entry.name] = handle.read(MAX_DIR_FILE + 1)
        mtimes[entry.name] = info.st_mtime
    return OperatorFiles(files, mtimes)


def empty() -> Source:
    return Source([], ImageStream("", (), {}, None, StreamStatus()))
