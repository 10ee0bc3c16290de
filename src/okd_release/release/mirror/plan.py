"""`mirror`: copy a release and every image it references to a registry or a directory, and back.

Every component goes into one target repository as `<version>-<arch>-<name>`, the release as
`<version>-<arch>` (oc's layout). An on-disk mirror uses oc's `file://` layout in `v2/openshift/release`
and records the release it holds in `okd-release-mirror.json`, written last, so that `--from-dir` finds it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from okd_release import reference as references
from okd_release.content import Platform
from okd_release.documents import decode_json
from okd_release.errors import ConfigError
from okd_release.image.disk import DiskStore, atomic_write
from okd_release.image.store import ImageStore
from okd_release.listener import ProgressListener
from okd_release.reference import Reference
from okd_release.registry.session import Registries
from okd_release.release.mirror.instructions import MirrorSource, mirror_sources
from okd_release.release.payload.source import ReleaseImage, open_release
from okd_release.stores import open_store
from okd_release.transfer import Endpoint, ImageCopy, Transfer, TransferSummary

DISK_REPOSITORY = "openshift/release"
DISK_INDEX = "okd-release-mirror.json"
ARCH_NAMES = {"amd64": "x86_64", "arm64": "aarch64"}


@dataclass
class MirrorOptions:
    """What `run_mirror` copies, and where: the fields of `okd-release mirror`'s flags.

    Each field is named after its flag (`--to-dir` is `to_dir`; `--from` is `from_`, as `from` is a Python
    keyword). Give a source, `from_` (a release pullspec) or `from_dir` (an on-disk mirror written by
    `to_dir`; with it, `from_` may name `file://openshift/release:TAG`), and one target, `to` (a repository,
    without tag or digest) or `to_dir` (a directory).

    Attributes:
        from_: the release image to mirror (`--from`).
        from_dir: an on-disk mirror to upload from (`--from-dir`).
        to: the repository every image is copied into (`--to`).
        to_release_image: also push the release image here (`--to-release-image`).
        to_dir: write an on-disk mirror, in oc's `file://` layout, here (`--to-dir`).
        dry_run: plan and measure what is missing; copy nothing (`--dry-run`).
        max_per_registry: concurrent requests per registry (`--max-per-registry`).
        filter_by_os: for a multi-arch release, mirror only this platform (`--filter-by-os`).
    """

    from_: str | None = None
    from_dir: Path | None = None
    to: str | None = None
    to_release_image: str | None = None
    to_dir: Path | None = None
    dry_run: bool = False
    max_per_registry: int = 6
    filter_by_os: Platform | None = None


@dataclass(repr=False)
class MirrorResult:
    """What `run_mirror` did: the release, each image copy, the transfer summary, the mirror configuration.

    Attributes:
        release: the release that was mirrored.
        copies: one `ImageCopy` per image (the release first), in plan order.
        summary: counts of images, blobs and bytes (for a dry run: what is missing).
        release_target: where the release image now is (`TO:<version>-<arch>` or `to_release_image`).
        sources: the repository mirrors for ImageContentSourcePolicy / ImageDigestMirrorSet (none for `to_dir`).
    """

    release: ReleaseImage
    copies: list[ImageCopy]
    summary: TransferSummary
    release_target: str
    sources: list[MirrorSource] = field(default_factory=list)

    def __repr__(self) -> str:
        # short: the release holds the whole payload, which would print tens of KB
        return (f"<MirrorResult {self.release.payload.version} {self.release.digest or self.release.name} -> "
                f"{self.release_target}: {len(self.copies)} images, {len(self.summary.images_failed)} failed, "
                f"{self.summary.blobs_copied} blobs copied>")


class MirrorIndexDocument(msgspec.Struct, frozen=True):
    """okd-release-mirror.json, as `--from-dir` reads it: the release the directory holds, and its origin."""

    release: str
    source: str = ""


def _open_source(registries: Registries, options: MirrorOptions) -> tuple[ReleaseImage, str]:
    """The release to mirror and the pullspec it was originally published under."""
    if options.from_dir:
        if options.from_ and options.from_.startswith("file://"):
            return open_release(registries, options.from_, options.filter_by_os, options.from_dir), options.from_
        index_path = options.from_dir / DISK_INDEX
        try:
            data = index_path.read_bytes()
        except OSError:
            raise ConfigError(f"{options.from_dir} holds no complete mirror ({DISK_INDEX} missing or unreadable)") from None
        index = decode_json(data, MirrorIndexDocument, str(index_path), ConfigError)
        if not index.release.startswith("file://"):  # the release must come from the directory, never from a network
            raise ConfigError(f"{index_path} is invalid at $.release: {index.release[:200]!r} is not a file:// reference")
        release = open_release(registries, index.release, options.filter_by_os, options.from_dir)
        return release, index.source
    if not options.from_:
        raise ConfigError("give --from (a release image) or --from-dir (an on-disk mirror)")
    return open_release(registries, options.from_, options.filter_by_os), options.from_


def release_tag(release: ReleaseImage, keep_list: bool) -> str:
    """oc's tag: `<version>-<arch>` (x86_64, aarch64, ...), `<version>-multi` for a kept manifest list."""
    architecture = release.config.platform.architecture if release.config else "amd64"
    return f"{release.payload.version}-{'multi' if keep_list else ARCH_NAMES.get(architecture, architecture)}"


def keeps_list(release: ReleaseImage, options: MirrorOptions) -> bool:
    """A multi-arch release is mirrored as the whole manifest list unless one platform was asked for."""
    return release.index is not None and options.filter_by_os is None


def _target(registries: Registries, options: MirrorOptions) -> tuple[ImageStore, Reference]:
    if options.to and options.to_dir:
        raise ConfigError("use either --to or --to-dir")
    if options.to_dir:
        return DiskStore(options.to_dir), references.parse(f"file://{DISK_REPOSITORY}")
    if not options.to:
        raise ConfigError("give --to (a repository) or --to-dir (a directory)")
    target = references.parse(options.to)
    if target.digest or (target.tag and target.tag != "latest") or options.to.rsplit("/", 1)[-1].count(":"):
        raise ConfigError("--to must be an image repository, without a tag or digest")
    return open_store(target, registries), target


def _component_source(registries: Registries, release: ReleaseImage, pullspec: str, options: MirrorOptions) -> Endpoint:
    if options.from_dir:
        assert release.store is not None and release.reference is not None
        return Endpoint(release.store, release.reference.repository)
    reference = references.parse(pullspec)
    return Endpoint(open_store(reference, registries), reference.repository)


def plan_mirror(registries: Registries, options: MirrorOptions) -> tuple[ReleaseImage, list[ImageCopy], str, list[MirrorSource]]:
    """Open the release and plan one `ImageCopy` per image; returns (release, copies, release target, mirrors).

    Raises ConfigError for options that do not name one source and one target, PayloadError (and the
    registry errors) when the release cannot be read, and ConfigError when an image is not referenced by digest.
    """
    release, original = _open_source(registries, options)
    store, target = _target(registries, options)
    keep_list = keeps_list(release, options)
    tag = release_tag(release, keep_list)
    destination = Endpoint(store, target.repository)
    assert release.store is not None and release.reference is not None
    release_source = Endpoint(release.store, release.reference.repository)
    release_digest = release.digest if keep_list or not release.image else release.image.digest
    # the release last, and only once every component is in: its tag at the target means all of it is there
    copies = [ImageCopy("release", release_source, release_digest, destination, (tag,), after_all=True)]
    release_target = f"{target.name}:{tag}"
    if options.to_release_image:
        extra = references.parse(options.to_release_image)
        copies.append(ImageCopy("release-image", release_source, release_digest,
                                Endpoint(open_store(extra, registries), extra.repository), (extra.tag,) if extra.tag else (),
                                after_all=True))
        release_target = str(extra)
    for image in release.payload.image_references.tags:
        digest = references.parse(image.pullspec).digest
        if not digest:
            raise ConfigError(f"image {image.name} is not referenced by digest ({image.pullspec}); a release must be")
        copies.append(ImageCopy(image.name, _component_source(registries, release, image.pullspec, options), digest,
                                destination, (f"{tag}-{image.name}",)))
    sources = {references.parse(t.pullspec).name for t in release.payload.image_references.tags}
    if original and not original.startswith("file://"):
        sources.add(references.parse(original).name)
    mirrors = [] if options.to_dir else mirror_sources(sources, target.name)
    return release, copies, release_target, mirrors


def run_mirror(registries: Registries, options: MirrorOptions, progress: ProgressListener | None = None) -> MirrorResult:
    """Copy a release and every image it references to `options.to` or `options.to_dir`, each blob verified.

    Blobs the target has are skipped, so a rerun resumes; an on-disk mirror's index is written last.

    Args:
        registries: the registry clients (credentials, TLS, retry policy) to read and write with.
        options: source, target and limits; see `MirrorOptions`.
        progress: told of the plan, bytes and each image as it completes (nothing when None).

    Raises:
        ConfigError: the options do not name one source and one target, or a target has a tag.
        IncompleteTransfer: some images failed; the others were copied; `error.summary` says which.
        OkdReleaseError: any other failure reading the release (PayloadError, RegistryError, ...).
    """
    release, copies, release_target, mirrors = plan_mirror(registries, options)
    transfer = Transfer(options.max_per_registry, progress, [options.filter_by_os] if options.filter_by_os else None,
                        registries.options.retry, options.dry_run, retries=registries.retries)
    summary = transfer.run(copies)
    if options.to_dir and not options.dry_run:
        index = {"release": f"file://{DISK_REPOSITORY}:{release_tag(release, keeps_list(release, options))}",
                 "source": options.from_ if not options.from_dir else release.name,
                 "version": release.payload.version, "digest": release.digest}
        atomic_write(options.to_dir / DISK_INDEX, [json.dumps(index, indent=2).encode()])
    return MirrorResult(release, copies, summary, release_target, mirrors)
