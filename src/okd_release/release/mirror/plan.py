"""`mirror`: copy a release and every image it references to a registry or a directory, and back.

Every component goes into one target repository as `<version>-<arch>-<name>`, the release as
`<version>-<arch>` (oc's layout, `-multi` for a manifest list kept with `--keep-manifest-list`). A directory
is oc's `file://` layout (`image.disk.DiskStore`), by default in `v2/openshift/release`; the release's tag is
written last, so a directory holding it holds all of it, and `--from-dir` finds it there. okd-release also
writes `okd-release-mirror.json` beside `v2/` (oc ignores it): the release's original pullspec, so that an
upload from the directory prints a mirror configuration naming the release's own repository too.
"""

from __future__ import annotations

import platform as host
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import msgspec
import msgspec.structs
from msgspec import Struct, field

from okd_release import reference as references
from okd_release.content import Platform
from okd_release.documents import decode_json
from okd_release.errors import ConfigError, OkdReleaseError
from okd_release.image import manifest as manifests
from okd_release.image.disk import DiskStore
from okd_release.image.manifest import ImageIndex, Manifest
from okd_release.image.store import ImageStore
from okd_release.listener import ProgressListener
from okd_release.reference import Reference
from okd_release.registry.session import Registries
from okd_release.release.mirror.differential import (
    DISK_INDEX,
    WrittenRelease,
    disk_target,
    index_releases,
    read_release_list,
    reading_through_target,
    write_index,
)
from okd_release.release.mirror.instructions import MirrorSource, mirror_sources
from okd_release.release.mirror.space import run_with_space_check
from okd_release.release.payload.model import ImageTag
from okd_release.release.payload.source import ReleaseImage, open_release
from okd_release.release.signatures.release import (
    SignatureCheck,
    check_mirrored_release,
    export_signatures,
    signatures_dir,
)
from okd_release.stores import open_store
from okd_release.transfer import Endpoint, ImageCopy, Transfer, TransferSummary

DISK_REPOSITORY = "openshift/release"
ARCH_NAMES = {"amd64": "x86_64", "arm64": "aarch64"}
# what oc appends to a release's version in its tag: the config's architecture, as OpenShift names it
RELEASE_SUFFIXES = ("x86_64", "aarch64", "ppc64le", "s390x", "multi", "riscv64", "arm", "386", "loong64", "mips64le")
_HOST_ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i686": "386", "armv7l": "arm"}


class MirrorOptions(Struct):
    """What `run_mirror` copies, and where: the fields of `okd-release mirror`'s flags.

    Each field is named after its flag (`--to-dir` is `to_dir`; `--from` is `from_`, as `from` is a Python
    keyword). Give a source, `from_` (a release pullspec) or `from_dir` (an on-disk mirror, written by
    okd-release or by oc; `from_` may then name `file://openshift/release:TAG`, and must when the directory
    holds several releases), and one target, `to` (a repository without tag or digest, or `file://REPO`)
    or `to_dir` (a directory).

    Attributes:
        from_: the release image to mirror (`--from`).
        from_dir: an on-disk mirror to upload from (`--from-dir`).
        to: the repository every image is copied into (`--to`).
        to_release_image: push the release image here instead (`--to-release-image`).
        to_dir: write an on-disk mirror, in oc's `file://` layout, here (`--to-dir`).
        skip_release_image: do not push the release image (`--skip-release-image`).
        dry_run: plan and measure what is missing; copy nothing (`--dry-run`).
        max_per_registry: concurrent requests per registry (`--max-per-registry`).
        keep_manifest_list: tag a multi-arch release `<version>-multi` (`--keep-manifest-list`); manifest
            lists are copied whole unless `filter_by_os` is given.
        filter_by_os: a regular expression over `os/arch[/variant]` (`--filter-by-os`); when given, each
            manifest list is copied as its one matching image. It also chooses the release image whose
            payload is read (default: this machine's platform).
        release_image_signature_to_dir: export the release's verified signatures here, as oc's ConfigMap file
            (`--release-image-signature-to-dir`; default `<to_dir>/config`).
        allow_unverified: mirror a release that fails signature verification (`--allow-unverified`).
        more_from: further releases mirrored in the same run (`--from` repeated): each blob once, one mirror
            configuration, every release's signatures.
        from_file: a file naming further releases, one a line (`--from-file`; `#` starts a comment).
        since: with `to_dir`, write only what this earlier disk mirror (its directory, or its
            okd-release-mirror.json) lacks, and record what the new one builds on (`--since`).
    """

    from_: str | None = None
    from_dir: Path | None = None
    to: str | None = None
    to_release_image: str | None = None
    to_dir: Path | None = None
    skip_release_image: bool = False
    dry_run: bool = False
    max_per_registry: int = 6
    keep_manifest_list: bool = False
    filter_by_os: str | None = None
    release_image_signature_to_dir: Path | None = None
    allow_unverified: bool = False
    more_from: tuple[str, ...] = ()
    from_file: Path | None = None
    since: Path | None = None


class MirrorResult(Struct):
    """What `run_mirror` did: the release, each image copy, the transfer summary, the mirror configuration.

    Attributes:
        release: the release that was mirrored.
        copies: one `ImageCopy` per image (the release first), in plan order (see `PlannedCopies`).
        summary: counts of images, blobs and bytes (for a dry run: what is missing).
        release_target: where the release image now is (`TO:<version>-<arch>` or `to_release_image`).
        sources: the repository mirrors for ImageContentSourcePolicy / ImageDigestMirrorSet (none on disk).
        update_image: the release target as oc prints it after `Update image:` (no `file://`).
        mirror_prefixes: what oc prints after `Mirror prefix:` (`to`, and `to_release_image`).
        to_disk: the target is a `file://` directory.
        signatures: the release's signature check (its verification, or why it is unverified).
        signature_file: the ConfigMap file its signatures were exported to (None: not exported).
        more: the other releases of a several-release mirror, each with its target, update image and
            signatures (`sources` and `summary` above are the whole run's).
    """

    release: ReleaseImage
    copies: Sequence[ImageCopy]
    summary: TransferSummary
    release_target: str
    sources: list[MirrorSource] = field(default_factory=list)
    update_image: str = ""
    mirror_prefixes: list[str] = field(default_factory=list)
    to_disk: bool = False
    signatures: SignatureCheck | None = None
    signature_file: Path | None = None
    more: list[MirrorResult] = field(default_factory=list)

    def __repr__(self) -> str:
        # short: the release holds the whole payload, which would print tens of KB
        return (f"<MirrorResult {self.release.payload.version} {self.release.digest or self.release.name} -> "
                f"{self.release_target}: {len(self.copies)} images, {len(self.summary.images_failed)} failed, "
                f"{self.summary.blobs_copied} blobs copied>")


class MirrorPlan(Struct, frozen=True):
    """What `plan_mirror` decided: the release, one copy per image, and what the result will be called."""

    release: ReleaseImage
    copies: PlannedCopies
    release_target: str
    sources: list[MirrorSource]
    update_image: str
    mirror_prefixes: list[str]
    to_disk: bool
    platform_filter: PlatformPattern | None
    origin: str
    others: tuple[MirrorPlan, ...] = ()


class PlannedCopies(Sequence[ImageCopy]):
    """A plan's copies, in order: each release's own (none with --skip-release-image) and then one per
    component of its image-references, made as they are asked for.

    The payload's tags are the plan: a mirror of thousands of images holds an `ImageCopy` only while the
    transfer works on it, not one per image for the whole run. Each component's copy is made the same way
    every time (its source endpoint is shared by the components of one repository).
    """

    def __init__(self, parts: tuple[tuple[tuple[ImageCopy, ...], Sequence[ImageTag], Callable[[ImageTag], ImageCopy]], ...]):
        self._parts = parts
        self._length = sum(len(first) + len(tags) for first, tags, _ in parts)

    @classmethod
    def chain(cls, plans: Sequence[PlannedCopies]) -> PlannedCopies:
        """The copies of several plans, one after the other."""
        return cls(tuple(part for plan in plans for part in plan._parts))

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[ImageCopy]:
        for first, tags, make in self._parts:
            yield from first
            for tag in tags:
                yield make(tag)

    def __getitem__(self, index: int) -> ImageCopy:  # type: ignore[override]  # no slices: a plan is iterated
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(index)
        for first, tags, make in self._parts:
            if position < len(first):
                return first[position]
            position -= len(first)
            if position < len(tags):
                return make(tags[position])
            position -= len(tags)
        raise IndexError(index)  # pragma: no cover - the length covers every part


class MirrorIndexDocument(msgspec.Struct, frozen=True):
    """okd-release-mirror.json: the release okd-release last wrote to the directory, and its origin."""

    release: str
    source: str = ""
    digest: str = ""


class PlatformPattern(Struct, frozen=True):
    """`--filter-by-os`: a regular expression searched in `os/arch[/variant]`, as oc's (unanchored, so
    `linux/arm64` matches `linux/arm64/v8`)."""

    pattern: str

    def __post_init__(self) -> None:
        try:
            re.compile(self.pattern)
        except re.error as error:
            raise ConfigError(f"--filter-by-os {self.pattern!r} is not a valid regular expression: {error}") from None

    def __call__(self, platform: Platform | None) -> bool:
        return platform is not None and re.search(self.pattern, str(platform)) is not None

    def __str__(self) -> str:
        return f"--filter-by-os {self.pattern}"


def current_platform_pattern() -> PlatformPattern:
    """This machine's `os/arch`, quoted, as oc's default filter."""
    system = "windows" if sys.platform.startswith("win") else sys.platform
    machine = host.machine().lower()
    return PlatformPattern(re.escape(f"{system}/{_HOST_ARCHITECTURES.get(machine, machine)}"))


def _release_platform(top: Manifest, pattern: PlatformPattern) -> Platform | None:
    """For a multi-arch release, the first platform `pattern` matches (None: open_release's default)."""
    if not isinstance(top, ImageIndex):
        return None
    return next((entry.platform for entry in top.manifests if pattern(entry.platform)), None)


def _open(registries: Registries, text: str, root: Path | None, options: MirrorOptions) -> ReleaseImage:
    pattern = PlatformPattern(options.filter_by_os) if options.filter_by_os is not None else current_platform_pattern()
    reference = references.parse(text)
    store = open_store(reference, registries, root)
    raw = store.get_manifest(reference.repository, reference.identifier)  # read once: open_release is given it
    top = manifests.parse(raw, f"manifest of {reference}")
    chosen = _release_platform(top, pattern)
    # a manifest list, none of whose platforms matches
    if chosen is None and options.filter_by_os is not None and _release_platform(top, PlatformPattern(".*")) is not None:
        raise ConfigError(f"{text} has no image matching {pattern}")
    return open_release(registries, text, chosen, root, manifest=raw)


def release_tags(directory: Path, repository: str = DISK_REPOSITORY) -> list[str]:
    """The tags in an on-disk mirror that name a release: `<version>-<arch>`, which no other tag extends
    as `<tag>-...` (each component's tag extends its release's)."""
    tags = DiskStore(directory).tags(repository)
    shaped = [tag for tag in tags if tag.rsplit("-", 1)[-1] in RELEASE_SUFFIXES and "-" in tag]
    return [tag for tag in shaped if not any(tag.startswith(other + "-") for other in shaped if other != tag)]


def _from_dir_release(options: MirrorOptions) -> str:
    """The `file://` reference of the release to upload from `--from-dir`: `--from`, or the one release there."""
    assert options.from_dir is not None
    if options.from_:
        if not options.from_.startswith(references.FILE_SCHEME):
            raise ConfigError(f"with --from-dir, --from must name the release in the directory "
                              f"(file://{DISK_REPOSITORY}:TAG), not {options.from_}")
        return options.from_
    if not (options.from_dir / "v2").is_dir():
        raise ConfigError(f"{options.from_dir} holds no mirror (no v2/ directory)")
    found = release_tags(options.from_dir)
    if len(found) == 1:
        return f"file://{DISK_REPOSITORY}:{found[0]}"
    if not found:
        raise ConfigError(f"{options.from_dir} holds no release in file://{DISK_REPOSITORY} (no <version>-<arch> tag): "
                          f"add --from file://REPOSITORY:TAG")
    raise ConfigError(f"{options.from_dir} holds {len(found)} releases ({', '.join(found)}): "
                      f"add --from file://{DISK_REPOSITORY}:TAG to choose one")


def read_mirror_index(directory: Path) -> MirrorIndexDocument | None:
    """The okd-release-mirror.json of a disk mirror, validated (a ConfigError naming the field); None when absent."""
    path = directory / DISK_INDEX
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    index = decode_json(data, MirrorIndexDocument, str(path), ConfigError)
    if not index.release.startswith(references.FILE_SCHEME):  # it names what is in the directory, never a network
        raise ConfigError(f"{path} is invalid at $.release: {index.release[:200]!r} is not a file:// reference")
    return index


def _original_source(options: MirrorOptions, release: ReleaseImage, text: str) -> str:
    """The pullspec the release was mirrored from, as okd-release-mirror.json says, when it is this release."""
    assert options.from_dir is not None
    path = options.from_dir / DISK_INDEX
    index = read_mirror_index(options.from_dir)
    if index is None:
        return ""  # written by oc, or by an older okd-release: the components' repositories still are known
    if index.release != text or index.digest != release.digest or not index.source:
        return ""
    try:
        source = references.parse(index.source)
    except OkdReleaseError:
        raise ConfigError(f"{path} is invalid at $.source: {index.source[:200]!r} is not an image reference") from None
    return "" if source.is_file else index.source


def _open_source(registries: Registries, options: MirrorOptions) -> tuple[ReleaseImage, str]:
    """The release to mirror and the pullspec it was originally published under ("" if unknown)."""
    if options.from_dir:
        text = _from_dir_release(options)
        release = _open(registries, text, options.from_dir, options)
        return release, _original_source(options, release, text)
    if not options.from_:
        raise ConfigError("give --from (a release image) or --from-dir (an on-disk mirror)")
    return _open(registries, options.from_, None, options), options.from_


def release_tag(release: ReleaseImage, keep_list: bool) -> str:
    """oc's tag: `<version>-<arch>` (x86_64, aarch64, ...), `<version>-multi` for a kept manifest list."""
    architecture = release.config.platform.architecture if release.config else "amd64"
    return f"{release.payload.version}-{'multi' if keep_list else ARCH_NAMES.get(architecture, architecture)}"


def _target(registries: Registries, options: MirrorOptions) -> tuple[ImageStore, Reference]:
    if options.to and options.to_dir and not options.to.startswith(references.FILE_SCHEME):
        raise ConfigError("use either --to or --to-dir (or --to file://REPOSITORY with --to-dir)")
    if not options.to and not options.to_dir:
        raise ConfigError("give --to (a repository) or --to-dir (a directory)")
    target = references.parse(options.to or f"file://{DISK_REPOSITORY}")
    if options.to and (target.digest or (target.tag and target.tag != "latest")
                       or options.to.rsplit("/", 1)[-1].count(":")):
        raise ConfigError("--to must be an image repository, without a tag or digest")
    if options.since is not None and not target.is_file:
        raise ConfigError("--since needs --to-dir: a differential mirror is written to a directory")
    if target.is_file:
        return disk_target(options.to_dir or Path.cwd(), options.since), target
    return open_store(target, registries), target


def _component_source(registries: Registries, release: ReleaseImage, pullspec: str, options: MirrorOptions,
                      known: dict[str, Endpoint]) -> Endpoint:
    """Where a component is read from; one Endpoint (and store) per repository, kept in `known`: a release's
    components mostly share one repository, and a plan of thousands of images need not hold a store each."""
    if options.from_dir:
        assert release.store is not None and release.reference is not None
        return Endpoint(release.store, release.reference.repository)
    reference = references.parse(pullspec)
    endpoint = known.get(reference.name)
    if endpoint is None:
        endpoint = known[reference.name] = Endpoint(open_store(reference, registries), reference.repository)
    return endpoint


def _check(options: MirrorOptions) -> None:
    if options.skip_release_image and options.to_release_image:
        raise ConfigError("--skip-release-image and --to-release-image may not both be specified")


def plan_mirror(registries: Registries, options: MirrorOptions) -> MirrorPlan:
    """Open the release and plan one `ImageCopy` per image (the release first, copied last).

    Raises ConfigError for options that do not name one source and one target, PayloadError (and the
    registry errors) when the release cannot be read, and ConfigError when an image is not referenced by digest.
    """
    _check(options)
    texts = release_texts(options)
    if len(texts) > 1:
        return _plan_several(registries, options, texts)
    if texts and texts[0] != options.from_:
        options = msgspec.structs.replace(options, from_=texts[0])
    return _plan_one(registries, options, _target(registries, options))


def _plan_several(registries: Registries, options: MirrorOptions, texts: list[str]) -> MirrorPlan:
    """One plan per release, into one target; copies, mirror sources and signatures are the run's."""
    if options.to_release_image:
        raise ConfigError("--to-release-image names one image: mirror several releases with --to")
    into = _target(registries, options)  # one store: what it records (a differential mirror's base) is the run's
    plans = [_plan_one(registries, msgspec.structs.replace(options, from_=text), into) for text in texts]
    first = plans[0]
    sources = {source.source for plan in plans for source in plan.sources}
    mirrors = list(first.sources[0].mirrors) if first.sources else []
    return msgspec.structs.replace(first, copies=PlannedCopies.chain([plan.copies for plan in plans]),
                               sources=mirror_sources(sources, mirrors), others=tuple(plans[1:]))


def release_texts(options: MirrorOptions) -> list[str]:
    """The releases to mirror: `--from`, more `--from`, `--from-file`'s lines; with `--from-dir` and none of
    them, those its index lists when one run wrote several. Empty: the one release `--from-dir` holds."""
    texts = [options.from_] if options.from_ else []
    texts += options.more_from
    if options.from_file is not None:
        texts += read_release_list(options.from_file)
    if not texts and options.from_dir is not None:
        texts = index_releases(options.from_dir)
    return list(dict.fromkeys(texts))


def _plan_one(registries: Registries, options: MirrorOptions, into: tuple[ImageStore, Reference]) -> MirrorPlan:
    release, original = _open_source(registries, options)
    store, target = into
    if options.from_dir:  # a differential mirror reads what it left to an earlier one at the target
        release = reading_through_target(release, options.from_dir, store, target.repository)
    keep_list = options.keep_manifest_list and release.index is not None
    tag = release_tag(release, keep_list)
    destination = Endpoint(store, target.repository)
    assert release.store is not None and release.reference is not None
    release_source = Endpoint(release.store, release.reference.repository)
    # without --filter-by-os a manifest list is copied whole, as oc does; with it, the one chosen image
    pattern = (PlatformPattern(options.filter_by_os) if options.filter_by_os is not None and not options.keep_manifest_list
               else None)
    release_digest = release.image.digest if pattern and release.image else release.digest
    update_image = f"{target.repository if target.is_file else target.name}:{tag}"
    copies: list[ImageCopy] = []  # the release's
    release_target = f"{target.name}:{tag}"
    prefixes = [options.to] if options.to else []
    if options.to_release_image:
        extra = references.parse(options.to_release_image)
        # the release last, and only once every component is in: its tag at the target means all of it is there
        copies.append(ImageCopy("release", release_source, release_digest,
                                Endpoint(open_store(extra, registries, options.to_dir), extra.repository),
                                (extra.tag,) if extra.tag else (), after_all=True))
        release_target = update_image = options.to_release_image
        prefixes.append(options.to_release_image)
    elif not options.skip_release_image:
        copies.append(ImageCopy("release", release_source, release_digest, destination, (tag,), after_all=True))
    known: dict[str, Endpoint] = {}

    def component(image: ImageTag) -> ImageCopy:
        digest = references.parse(image.pullspec).digest
        if not digest:
            raise ConfigError(f"image {image.name} is not referenced by digest ({image.pullspec}); a release must be")
        return ImageCopy(image.name, _component_source(registries, release, image.pullspec, options, known), digest,
                         destination, (f"{tag}-{image.name}",))

    tags = release.payload.image_references.tags
    for image in tags:  # every copy made once now, and dropped: what is wrong with one is told before any is made
        component(image)
    sources = {references.parse(t.pullspec).name for t in tags}
    if original and not original.startswith(references.FILE_SCHEME):
        sources.add(references.parse(original).name)
    mirrors = [references.parse(prefix).name for prefix in prefixes]
    to_disk = target.is_file
    return MirrorPlan(release, PlannedCopies(((tuple(copies), tags, component),)), release_target,
                      [] if to_disk else mirror_sources(sources, mirrors),
                      update_image, prefixes, to_disk, pattern, original)


def run_mirror(registries: Registries, options: MirrorOptions, progress: ProgressListener | None = None,
               pushed: Callable[[Endpoint, str, str], None] | None = None) -> MirrorResult:
    """Copy a release and every image it references to `options.to` or `options.to_dir`, each blob verified.

    Blobs the target has are skipped, so a rerun resumes; the release is pushed last, only when every image
    it references is complete.

    Args:
        registries: the registry clients (credentials, TLS, retry policy) to read and write with.
        options: source, target and limits; see `MirrorOptions`.
        progress: told of the plan, bytes and each image as it completes (nothing when None).
        pushed: told of each manifest put, as `(target, tag or digest, digest)` (what oc prints per image).

    Raises:
        ConfigError: the options do not name one source and one target, or a target has a tag.
        IncompleteTransfer: some images failed; the others were copied; `error.summary` says which.
        UnverifiedRelease: the release fails signature verification (unless `allow_unverified`); nothing copied.
        OkdReleaseError: any other failure reading the release (PayloadError, RegistryError, ...).
    """
    plan = plan_mirror(registries, options)
    signatures = check_mirrored_release(plan.release, registries.options, options.from_dir, options.allow_unverified)
    checks = [check_mirrored_release(other.release, registries.options, options.from_dir, options.allow_unverified)
              for other in plan.others]

    def transfer(listener: ProgressListener | None, dry_run: bool) -> Transfer:
        return Transfer(options.max_per_registry, listener, None, registries.options.retry, dry_run,
                        retries=registries.retries, pushed=pushed, platform_filter=plan.platform_filter,
                        keep_digests=False)  # what was pushed is told through `pushed`

    disk = next((copy.target.store.root for copy in plan.copies if isinstance(copy.target.store, DiskStore)), None)
    if disk and not options.dry_run:  # a directory is checked for room first; a registry manages its own
        summary = run_with_space_check(transfer, plan.copies, disk, progress)
    else:
        summary = transfer(progress, options.dry_run).run(plan.copies)
    release_copy = next((copy for copy in plan.copies if copy.name == "release"), None)
    store = release_copy.target.store if release_copy else None
    written = [w for w in map(_written_release, (plan, *plan.others)) if w is not None]
    if not options.dry_run and written and isinstance(store, DiskStore):
        write_index(store, written, options.since)
    directory = None if options.dry_run else signatures_dir(options.to_dir, options.release_image_signature_to_dir)
    more = [MirrorResult(other.release, other.copies, summary, other.release_target, plan.sources, other.update_image,
                         other.mirror_prefixes, other.to_disk, check, export_signatures(check, directory))
            for other, check in zip(plan.others, checks, strict=True)]
    return MirrorResult(plan.release, plan.copies, summary, plan.release_target, plan.sources, plan.update_image,
                        plan.mirror_prefixes, plan.to_disk, signatures, export_signatures(signatures, directory), more)


def _written_release(plan: MirrorPlan) -> WrittenRelease | None:
    """The release a plan writes into a directory, as the index names it (None: it writes no release tag)."""
    copy = next((copy for copy in plan.copies if copy.name == "release"), None)
    if copy is None or not copy.tags:
        return None
    return WrittenRelease(f"file://{copy.target.repository}:{copy.tags[0]}", plan.origin, plan.release.payload.version,
                          plan.release.digest)
