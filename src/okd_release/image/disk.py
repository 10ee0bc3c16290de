"""An on-disk mirror in oc's `file://` layout: `v2/<repository>/{blobs,manifests}/`.

As oc writes it (so that each tool reads the other's directories): files are 0600; a manifest is a blob
(`blobs/<digest>`) hard-linked as `manifests/<digest>`; a tag is a symlink `manifests/<tag> -> <digest>`.

Every file is written under a temporary name and renamed into place only once its digest is verified,
so a file present under its final name is always complete. Every repository, tag and digest is checked
(`okd_release.names`) before it becomes a path, and every path is checked to stay under `v2/` once its
symlinks are resolved: the names come from releases, which are untrusted.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from okd_release import digest as digests
from okd_release import logs, mediatypes, names
from okd_release.content import CHUNK, Descriptor, RawManifest
from okd_release.errors import DigestMismatch, ManifestError, NotFound, UnsafeName
from okd_release.image.store import LocalRetry

PARTIAL_PREFIX = ".partial-"
FILE_MODE = 0o644  # before the umask, which the kernel applies when the file is created
MIRROR_FILE_MODE = 0o600  # oc's mode for every file of a file:// mirror


def _create_partial(directory: Path, mode: int = FILE_MODE) -> tuple[int, Path]:
    """A new temporary file in `directory`, open for writing and locked for as long as it is open.

    The lock tells `remove_stale_partials` that a live writer owns the file; the kernel drops it when the
    writer dies, even by kill -9. The mode is `mode` less the umask, applied by the kernel: the
    process-wide umask is never changed (another thread could create files while it was 0).
    """
    while True:
        path = directory / f"{PARTIAL_PREFIX}{os.urandom(8).hex()}"
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
        except FileExistsError:
            continue
        fcntl.flock(handle, fcntl.LOCK_EX)
        if os.fstat(handle).st_nlink:  # else a sweeper took it for stale between the open and the lock
            return handle, path
        os.close(handle)


def atomic_write(path: Path, chunks: Iterable[bytes], digest: str | None = None, what: str = "file",
                 mode: int = FILE_MODE) -> None:
    """Write `chunks` to `path` via a temporary file (created with `mode`); verify `digest` before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _create_partial(path.parent, mode)
    try:
        with os.fdopen(handle, "wb") as out:
            source = digests.verified(chunks, digest, what) if digest else chunks
            for chunk in source:
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
            os.replace(temporary, path)  # while still locked, so no sweeper removes it first
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def remove_stale_partials(tree: Path) -> int:
    """Delete the `.partial-*` files under `tree` that no live writer holds; how many were deleted.

    Only our own prefix, only regular files, never through a symlink: a killed run's temporary files would
    otherwise stay in a mirror directory and be carried to the air-gapped side. A `.partial-*` symlink (a tag
    a killed run did not rename into place) is removed itself, never what it points to.
    """
    removed = 0
    for directory, _, files in os.walk(tree):
        for name in files:
            if not name.startswith(PARTIAL_PREFIX):
                continue
            path = Path(directory) / name
            if path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
            elif _remove_if_unlocked(path):
                removed += 1
    return removed


def _link_into_place(path: Path, make: Callable[[Path], None]) -> None:
    """Create a link at a temporary name with `make` and rename it to `path`, so `path` is never half-made."""
    while True:
        temporary = path.parent / f"{PARTIAL_PREFIX}{os.urandom(8).hex()}"
        try:
            make(temporary)
            break
        except FileExistsError:
            continue
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _remove_if_unlocked(path: Path) -> bool:
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False  # gone, or a symlink: not ours to remove
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            return False
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        with contextlib.suppress(FileNotFoundError):
            if os.lstat(path).st_ino == status.st_ino:
                os.unlink(path)
                return True
        return False
    finally:
        os.close(handle)


def inside(root: Path, path: Path, what: str) -> Path:
    """`path` if, once its symlinks are resolved, it is `root` or under it (both resolved); else UnsafeName."""
    resolved, top = path.resolve(), root.resolve()
    if resolved != top and not resolved.is_relative_to(top):
        raise UnsafeName(f"{path} leads outside {what} {root}")
    return path


class DiskStore(LocalRetry):
    """Images under `root/v2/<repository>/`: blobs by digest, manifests by digest and tag.

    The first write through a store removes the temporary files that killed runs left under `v2/`.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.key = f"disk:{self.root.resolve()}"
        self.mounts_across_repositories = True  # a hard link between repositories of one directory
        self._swept = False
        self._sweep_lock = threading.Lock()

    def _repository(self, repository: str) -> Path:
        names.check_repository(repository)
        return inside(self.root / "v2", self.root / "v2" / repository, "the mirror directory")

    def _manifest(self, repository: str, reference: str) -> Path:
        directory = self._repository(repository) / "manifests"
        return inside(self.root / "v2", directory / names.check_reference(reference), "the mirror directory")

    def _blob(self, repository: str, digest: str) -> Path:
        directory = self._repository(repository) / "blobs"
        return inside(self.root / "v2", directory / digests.validate(digest), "the mirror directory")

    def _writing(self) -> None:
        with self._sweep_lock:
            if self._swept:
                return
            self._swept = True
            removed = remove_stale_partials(self.root / "v2")
        if removed:
            logs.info(__name__, "removed %d temporary files left by an interrupted run in %s", removed, self.root)

    def describe(self, repository: str) -> str:
        return f"file://{repository} in {self.root}"

    def reference_name(self, repository: str) -> str:
        return f"file://{repository}"

    def _tagged_digest(self, repository: str, tag: str, path: Path) -> str | None:
        """The digest a tag symlink names (oc's layout; oc reads the link's last component), else None."""
        try:
            target = os.readlink(path)
        except OSError:
            return None  # not a symlink: a tag written as a copy of the manifest (older okd-release)
        try:
            return digests.validate(os.path.basename(target))
        except UnsafeName:
            raise UnsafeName(f"tag {tag} of file://{repository} in {self.root} is a symlink to {target[:200]!r}, "
                             "not to a manifest digest") from None

    def get_manifest(self, repository: str, reference: str) -> RawManifest:
        path = self._manifest(repository, reference)
        expected = reference if reference.startswith("sha256:") else self._tagged_digest(repository, reference, path)
        if expected is not None:  # read the manifest by its digest, never through the link
            path = self._manifest(repository, expected)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            missing = "" if expected is None or expected == reference else f" (its tag points to {expected}, which is missing)"
            raise NotFound(f"image file://{repository}:{reference} not found in {self.root}{missing}") from None
        actual = digests.of(data)
        if expected is not None and actual != expected:
            raise DigestMismatch(f"manifest {path} does not match its digest (got {actual})")
        media_type = mediatypes.sniff(data)
        if media_type is None:
            raise ManifestError(f"manifest {path} is not a valid manifest")
        return RawManifest(data, media_type, actual)

    def has_manifest(self, repository: str, digest: str) -> bool:
        return self._manifest(repository, digests.validate(digest)).is_file()

    def unknown_repository(self, repository: str) -> bool:  # noqa: ARG002 - part of the store protocol
        return False  # a manifest's file is as cheap to look for

    def tag_digest(self, repository: str, tag: str) -> str | None:
        path = self._manifest(repository, tag)
        digest = self._tagged_digest(repository, tag, path)
        if digest is None:  # a tag written as a copy of the manifest (older okd-release), or none at all
            try:
                digest = digests.of(path.read_bytes())
            except (FileNotFoundError, IsADirectoryError):
                return None
        return digest if self._manifest(repository, digest).is_file() else None

    def tags(self, repository: str) -> list[str]:
        """The tags of `repository`, sorted: oc's symlinks, and the manifest copies older okd-release wrote."""
        directory = self._repository(repository) / "manifests"
        try:
            entries = list(directory.iterdir())
        except FileNotFoundError:
            return []
        return sorted(entry.name for entry in entries
                      if not entry.name.startswith(("sha256:", PARTIAL_PREFIX)) and (entry.is_symlink() or entry.is_file()))

    def put_manifest(self, repository: str, reference: str, raw: RawManifest) -> None:
        digest = digests.validate(raw.digest)
        as_blob = self._blob(repository, digest)
        by_digest = self._manifest(repository, digest)
        by_reference = self._manifest(repository, reference)
        self._writing()
        if not as_blob.is_file():
            atomic_write(as_blob, [raw.data], digest, "manifest", MIRROR_FILE_MODE)
        if not by_digest.is_file() or by_digest.is_symlink():
            by_digest.parent.mkdir(parents=True, exist_ok=True)
            inside(self.root / "v2", by_digest.parent, "the mirror directory")  # mkdir may have met a symlink
            try:
                _link_into_place(by_digest, lambda temporary: os.link(as_blob, temporary))
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                atomic_write(by_digest, [raw.data], digest, "manifest", MIRROR_FILE_MODE)  # no hard links here
        if reference != digest:
            _link_into_place(by_reference, lambda temporary: os.symlink(digest, temporary))

    def blob_size(self, repository: str, digest: str) -> int | None:
        try:
            return self._blob(repository, digest).stat().st_size
        except FileNotFoundError:
            return None

    @contextlib.contextmanager
    def open_blob(self, repository: str, blob: Descriptor) -> Iterator[Iterator[bytes]]:
        digest, size = blob.digest, blob.size
        path = self._blob(repository, digest)
        try:
            handle = open(path, "rb")
        except FileNotFoundError:
            raise NotFound(f"blob {digest} of file://{repository} not found in {self.root}") from None
        with handle:
            yield digests.verified(iter(lambda: handle.read(CHUNK), b""), digest, f"blob {digest} in {path.parent}", size)

    def put_blob(self, repository: str, blob: Descriptor, chunks: Iterable[bytes]) -> None:
        path = self._blob(repository, blob.digest)
        self._writing()
        atomic_write(path, chunks, blob.digest, f"blob {blob.digest}", MIRROR_FILE_MODE)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        source = self._blob(from_repository, digest)
        target = self._blob(repository, digest)
        if not source.is_file():
            return False
        self._writing()
        target.parent.mkdir(parents=True, exist_ok=True)
        inside(self.root / "v2", target.parent, "the mirror directory")  # mkdir may have met a symlink
        try:
            os.link(source, target)
        except FileExistsError:
            pass
        except OSError:
            return False
        return True
