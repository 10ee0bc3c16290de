"""Differential disk mirrors: `mirror --to-dir NEW --since OLD` writes only what OLD lacks, and an index saying
what NEW builds on; `mirror --from-dir NEW` checks that the target already holds that, then reads the rest there.

okd-release writes `okd-release-mirror.json` beside `v2/` (oc ignores it): the releases of the run, what the
directory holds (`contents`: manifest digests, blob digests and sizes) so that a later `--since` needs only
this file, and, for a differential mirror, `buildsOn`: the releases of OLD and the manifests and blobs NEW's
images need but left to OLD. Everything in it is untrusted input: each digest is checked before use.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import msgspec
from msgspec import Struct
from msgspec.structs import replace

from okd_release import names
from okd_release import reference as references
from okd_release.content import RawManifest
from okd_release.documents import decode_json
from okd_release.errors import ConfigError, OkdReleaseError
from okd_release.image.disk import DiskStore, atomic_write
from okd_release.image.readthrough import ReadThroughStore
from okd_release.image.store import ImageStore
from okd_release.release.payload.source import ReleaseImage

DISK_INDEX = "okd-release-mirror.json"


class Contents(msgspec.Struct, frozen=True):
    """Manifests (by digest) and blobs (digest: size) a directory holds, or a differential mirror relies on."""

    manifests: list[str] = []
    blobs: dict[str, int] = {}


class IndexedRelease(msgspec.Struct, frozen=True):
    release: str
    source: str = ""
    version: str = ""
    digest: str = ""


class BuildsOn(Contents, frozen=True):
    """What a differential mirror left to the mirror it was made `--since`: that mirror's releases, and the
    manifests and blobs of this one's images that only it holds."""

    releases: list[str] = []


class DiskMirrorIndex(msgspec.Struct, frozen=True, rename={"builds_on": "buildsOn"}):
    """okd-release-mirror.json. `release`/`source`/`version`/`digest`: the (first) release, as older
    okd-release wrote it; `releases`: every release of the run."""

    release: str
    source: str = ""
    version: str = ""
    digest: str = ""
    releases: list[IndexedRelease] = []
    contents: Contents | None = None
    builds_on: BuildsOn | None = None


def read_index(path: Path) -> DiskMirrorIndex | None:
    """The index at `path` (a directory's, or the file itself), checked; None when a directory has none."""
    file = path / DISK_INDEX if path.is_dir() else path
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        if path.is_dir():
            return None
        raise ConfigError(f"{path} is neither a disk mirror directory nor its {DISK_INDEX}") from None
    except OSError as error:
        raise ConfigError(f"cannot read {file}: {error.strerror or error}") from None
    index = decode_json(data, DiskMirrorIndex, str(file), ConfigError)
    for part, contents in (("contents", index.contents), ("buildsOn", index.builds_on)):
        if contents is not None:
            _check_digests(contents, f"{file} at $.{part}")
    return index


def _check_digests(contents: Contents, where: str) -> None:
    try:
        for digest in [*contents.manifests, *contents.blobs]:
            names.check_digest(digest)
    except OkdReleaseError as error:
        raise ConfigError(f"{where}: {error}") from None


def scan(directory: Path) -> Contents:
    """What a disk mirror holds: every manifest and blob file under `v2/` named by digest (symlinks not followed)."""
    manifests: set[str] = set()
    blobs: dict[str, int] = {}
    for folder, _, files in os.walk(directory / "v2"):
        kind = os.path.basename(folder)
        for name in files:
            if not name.startswith("sha256:") or not names.DIGEST.fullmatch(name):
                continue
            if kind == "manifests":
                manifests.add(name)
            elif kind == "blobs":
                blobs[name] = os.lstat(os.path.join(folder, name)).st_size
    return Contents(sorted(manifests), dict(sorted(blobs.items())))


def available_in(since: Path) -> tuple[Contents, list[str]]:
    """What a target that received the mirror `since` holds (its contents and what it built on), and its releases."""
    index = read_index(since)
    if index is None and not (since / "v2").is_dir():
        raise ConfigError(f"--since {since}: no disk mirror there (no v2/ directory, no {DISK_INDEX})")
    contents = index.contents if index is not None and index.contents is not None else scan(since)
    below = index.builds_on if index is not None and index.builds_on is not None else BuildsOn()
    releases = [r.digest or r.release for r in index.releases] if index is not None and index.releases else \
        ([index.digest or index.release] if index is not None else [])
    return Contents(sorted({*contents.manifests, *below.manifests}), {**below.blobs, **contents.blobs}), releases


class DifferentialDiskStore(DiskStore):
    """A disk mirror written `--since` another: what the base holds counts as present and is not written, and
    is recorded in `used` (what this mirror builds on)."""

    def __init__(self, root: Path, base: Contents) -> None:
        super().__init__(root)
        self._base_manifests = frozenset(base.manifests)
        self._base_blobs = base.blobs
        self._used_manifests: set[str] = set()
        self._used_blobs: dict[str, int] = {}
        self._recording = threading.Lock()

    @property
    def used(self) -> Contents:
        with self._recording:
            return Contents(sorted(self._used_manifests), dict(sorted(self._used_blobs.items())))

    def has_manifest(self, repository: str, digest: str) -> bool:
        if super().has_manifest(repository, digest):
            return True
        if digest in self._base_manifests:
            with self._recording:
                self._used_manifests.add(digest)
            return True
        return False

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        # an image the base holds keeps no tag here: the upload tags it at the target, from the release
        if raw.digest in self._base_manifests and not super().has_manifest(repository, raw.digest):
            with self._recording:
                self._used_manifests.add(raw.digest)
            return
        super().put_manifest(repository, reference, raw)

    def blob_size(self, repository: str, digest: str) -> int | None:
        size = super().blob_size(repository, digest)
        if size is None and digest in self._base_blobs:
            with self._recording:
                self._used_blobs[digest] = self._base_blobs[digest]
            return self._base_blobs[digest]
        return size


def disk_target(directory: Path, since: Path | None) -> DiskStore:
    """The store a `--to-dir` mirror writes: the directory, differential when `since` is given."""
    if since is None:
        return DiskStore(directory)
    if since.resolve() == directory.resolve():
        raise ConfigError(f"--since {since} is the --to-dir itself: give the previous mirror")
    return DifferentialDiskStore(directory, available_in(since)[0])


class WrittenRelease(Struct, frozen=True):
    """A release a disk mirror holds: its `file://` reference, where it came from, its version and digest."""

    release: str
    source: str
    version: str
    digest: str


def write_index(store: DiskStore, releases: Iterable[WrittenRelease], since: Path | None = None) -> None:
    """Write okd-release-mirror.json for what `store` now holds (after the transfer)."""
    written = [IndexedRelease(r.release, r.source, r.version, r.digest) for r in releases]
    first = written[0]
    builds_on = None
    if isinstance(store, DifferentialDiskStore) and since is not None:
        used = store.used
        builds_on = BuildsOn(used.manifests, used.blobs, available_in(since)[1])
    document: dict[str, object] = {"release": first.release, "source": first.source, "version": first.version,
                                   "digest": first.digest}
    if len(written) > 1:
        document["releases"] = msgspec.to_builtins(written)
    document["contents"] = msgspec.to_builtins(scan(store.root))
    if builds_on is not None:
        document["buildsOn"] = msgspec.to_builtins(builds_on)
    atomic_write(store.root / DISK_INDEX, [json.dumps(document, indent=2).encode()])


def index_releases(directory: Path) -> list[str]:
    """The `file://` releases a disk mirror's index lists when one run wrote several (else none)."""
    index = read_index(directory)
    return [r.release for r in index.releases] if index is not None and len(index.releases) > 1 else []


def read_release_list(path: Path) -> list[str]:
    """`--from-file`: release pullspecs, one a line; blank lines and `#` comments skipped; each checked."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--from-file {path}: cannot read it ({getattr(error, 'strerror', None) or error})") from None
    releases = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    releases = [line for line in releases if line]
    for number, line in enumerate(releases, 1):
        try:
            references.parse(line)
        except OkdReleaseError as error:
            raise ConfigError(f"--from-file {path}: release {number}: {error}") from None
    if not releases:
        raise ConfigError(f"--from-file {path} names no release")
    return releases


def reading_through_target(release: ReleaseImage, from_dir: Path, target: ImageStore, repository: str) -> ReleaseImage:
    """For an upload from a differential mirror: check that the target holds what it builds on, then read
    what the directory lacks from the target. Other directories: `release` unchanged.

    Raises ConfigError naming the mirror to upload first, and how much is missing, when the target lacks any.
    """
    index = read_index(from_dir)
    if index is None or index.builds_on is None or release.store is None:
        return release
    builds_on = index.builds_on
    missing = _missing_at(target, repository, builds_on)
    if missing:
        manifests = sum(1 for kind, _ in missing if kind == "manifest")
        shown = ", ".join(builds_on.releases[:3]) or "an earlier mirror"
        raise ConfigError(
            f"{from_dir} is a differential mirror that builds on {shown}, but {target.describe(repository)} lacks "
            f"{manifests} of its {len(builds_on.manifests)} manifests and {len(missing) - manifests} of its "
            f"{len(builds_on.blobs)} blobs (first: {missing[0][1]}): upload that mirror there first")
    home = release.store
    return replace(release, store=ReadThroughStore(home, lambda where: [(home, where), (target, repository)]))


def _missing_at(target: ImageStore, repository: str, builds_on: BuildsOn) -> list[tuple[str, str]]:
    def absent(item: tuple[str, str]) -> bool:
        kind, digest = item
        if kind == "manifest":
            return not target.has_manifest(repository, digest)
        return target.blob_size(repository, digest) is None

    items = [("manifest", d) for d in builds_on.manifests] + [("blob", d) for d in builds_on.blobs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        flags = list(pool.map(absent, items))
    return [item for item, gone in zip(items, flags, strict=True) if gone]
