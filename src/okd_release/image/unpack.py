"""Safe extraction of layer entries to a directory: nothing is ever written outside the target.

Absolute paths and `..` are refused, links may only point inside the target, device files and FIFOs are
skipped; each refusal is reported as a warning and the rest of the extraction goes on. Entries are staged
in the target and moved into place only when the whole layer is read and verified, and only when none of
them would replace a directory or a symlink of the user's: nothing of the user's is ever removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import filecmp
import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from msgspec import Struct, field

from okd_release.errors import ConfigError, ManifestError
from okd_release.image.disk import atomic_write
from okd_release.image.layer import COPY_BUFFER, layer_tar
from okd_release.names import check_path_component

STAGING_PREFIX = ".okd-unpack-"


class UnpackResult(Struct):
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _inside(root: Path, path: Path) -> bool:
    return path == root or str(path).startswith(str(root) + os.sep)


def _clean(name: str) -> str | None:
    """A member name as a safe relative path, or None if it is absolute or climbs with `..`."""
    if name.startswith("/") or "\\" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _member_chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    handle = tar.extractfile(member)
    assert handle is not None
    while chunk := handle.read(COPY_BUFFER):
        yield chunk


def unpack(chunks: Iterator[bytes], target: Path, select: Callable[[str], str | None], what: str = "layer",
           limit: int | None = None) -> UnpackResult:
    """Extract the members `select` maps to a relative path (None: not wanted) from a streamed tar layer.

    Entries land in a staging directory inside `target` and are moved into place only once the whole
    layer has been read and its digest verified, so a corrupt layer leaves nothing behind. Regular files
    adding up to more than `limit` bytes are a ManifestError naming `what` (a small layer can inflate to
    gigabytes). See `_move_into_place` for what happens to files already in `target`.
    """
    target.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    with _staging(target) as staging:
        result = _unpack_into(chunks, staging, select, what, limit)
        _move_into_place(staging, target.resolve())
    return result


def place_files(files: dict[str, bytes], target: Path) -> UnpackResult:
    """Write files held in memory, each named by one file-name component, under `target` as `unpack` does."""
    return place_each(sorted(files.items()), target)


def place_each(files: Iterable[tuple[str, bytes]], target: Path) -> UnpackResult:
    """Write files made one at a time (each is written before the next is asked for, so only one is held),
    each named by one file-name component, under `target` as `unpack` does: staged, and moved into place
    only once `files` is exhausted without an error. A name given twice keeps its last bytes."""
    target.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target)
    written: dict[str, None] = {}
    with _staging(target) as staging:
        for name, data in files:
            atomic_write(staging / check_path_component(name, "payload file name"), [data])
            written[name] = None
        _move_into_place(staging, target.resolve())
    return UnpackResult(written=list(written))


@contextlib.contextmanager
def _staging(target: Path) -> Iterator[Path]:
    """A new staging directory in `target`, locked while we use it so that no other run takes it for stale."""
    while True:
        staging = Path(tempfile.mkdtemp(dir=target, prefix=STAGING_PREFIX))
        handle = os.open(staging, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(handle, fcntl.LOCK_EX)
        with contextlib.suppress(FileNotFoundError):
            if os.stat(staging, follow_symlinks=False).st_ino == os.fstat(handle).st_ino:
                break
        os.close(handle)  # another run removed it between its creation and our lock
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        os.close(handle)


def remove_stale_staging(target: Path) -> int:
    """Remove the staging directories that killed runs left directly in `target`; how many were removed.

    Only directories with our own prefix, never through a symlink, and only when no live run holds them.
    """
    removed = 0
    with os.scandir(target) as entries:
        stale = [e for e in entries if e.name.startswith(STAGING_PREFIX) and e.is_dir(follow_symlinks=False)]
    for entry in stale:
        try:
            handle = os.open(entry.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(entry.path)
            removed += 1
        except BlockingIOError:
            pass  # a live run is unpacking into it
        finally:
            os.close(handle)
    return removed


def _move_into_place(staging: Path, target: Path) -> None:
    """Move the staged entries into `target`, after checking all of them, so that a refusal moves nothing.

    An existing directory is kept and filled; an existing regular file with the same bytes is left as it
    is (extracting again changes nothing); an existing regular file with other bytes is replaced, as oc
    overwrites files. Anything else in the way, a directory where a file goes, a symlink, a file where a
    directory goes, is a ConfigError naming the path: nothing of the user's is ever removed.
    """
    entries = sorted(staging.rglob("*"), key=lambda p: len(p.parts))
    for path in entries:
        _check_destination(path, target / path.relative_to(staging), target)
    for path in entries:
        destination = target / path.relative_to(staging)
        if path.is_dir() and not path.is_symlink():
            destination.mkdir(exist_ok=True)
        elif not path.is_symlink() and destination.is_file() and not destination.is_symlink() \
                and filecmp.cmp(path, destination, shallow=False):
            continue
        elif not (path.is_symlink() and destination.is_symlink()):
            os.replace(path, destination)


def _check_destination(staged: Path, destination: Path, target: Path) -> None:
    if not destination.parent.resolve().is_relative_to(target):
        raise ConfigError(f"refusing to write {destination}: it leads outside {target}")
    try:
        existing = os.lstat(destination)
    except FileNotFoundError:
        return
    if staged.is_symlink():
        if stat.S_ISLNK(existing.st_mode) and os.readlink(destination) == os.readlink(staged):
            return
        raise ConfigError(f"refusing to replace {destination} with a symlink: it exists already")
    if stat.S_ISLNK(existing.st_mode):
        raise ConfigError(f"refusing to write through {destination}: it is a symlink")
    if staged.is_dir():
        if not stat.S_ISDIR(existing.st_mode):
            raise ConfigError(f"refusing to replace {destination} with a directory: it is a file")
    elif stat.S_ISDIR(existing.st_mode):
        raise ConfigError(f"refusing to replace the directory {destination} with a file")
    elif not stat.S_ISREG(existing.st_mode):
        raise ConfigError(f"refusing to replace {destination}: it is not a regular file")


def _unpack_into(chunks: Iterator[bytes], target: Path, select: Callable[[str], str | None], what: str,
                 limit: int | None) -> UnpackResult:
    root = target.resolve()
    result = UnpackResult()
    total = 0
    with layer_tar(chunks, what) as tar:
        for member in tar:
            raw = member.name
            cleaned = _clean(raw)
            if cleaned is None:
                if select(raw.lstrip("/")) is not None or select(posixpath.normpath(raw.lstrip("/"))) is not None:
                    result.warnings.append(f"skipped {raw!r}: absolute path or '..' is not allowed")
                continue
            relative = select(cleaned)
            if relative is None:
                continue
            relative = _clean(relative)
            if relative is None:
                continue
            if member.isreg():
                total += member.size
                if limit is not None and total > limit:
                    raise ManifestError(f"{what}: its files add up to more than {limit} bytes")
            link = _clean(member.linkname) if member.islnk() else None
            _unpack_member(tar, member, root, relative, select(link) if link else None, result)
    return result


def _unpack_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, relative: str, link_source: str | None,
                   result: UnpackResult) -> None:
    destination = root / relative
    parent = destination.parent.resolve()
    if not _inside(root, parent):
        result.warnings.append(f"skipped {member.name!r}: its directory leads outside the target")
        return
    destination = parent / destination.name
    if member.isdir():
        destination.mkdir(parents=True, exist_ok=True)
    elif member.isreg():
        if destination.is_symlink():
            destination.unlink()
        atomic_write(destination, _member_chunks(tar, member))
        os.chmod(destination, (member.mode & 0o777) | 0o400)
        result.written.append(relative)
    elif member.issym():
        link = (parent / member.linkname).resolve() if not member.linkname.startswith("/") else Path(member.linkname)
        if member.linkname.startswith("/") or not _inside(root, link):
            result.warnings.append(f"skipped symlink {member.name!r} -> {member.linkname!r}: it points outside the target")
            return
        if destination.is_symlink() or destination.exists():
            destination.unlink()
        os.symlink(member.linkname, destination)
        result.written.append(relative)
    elif member.islnk():
        source = _clean(link_source) if link_source else None
        source_path = (root / source).resolve() if source else None
        if source_path is None or not _inside(root, source_path) or not source_path.is_file():
            result.warnings.append(f"skipped hard link {member.name!r} -> {member.linkname!r}: it points outside the target")
            return
        if destination.exists() or destination.is_symlink():
            destination.unlink()
        os.link(source_path, destination)
        result.written.append(relative)
    else:
        result.warnings.append(f"skipped {member.name!r}: device files and FIFOs are not extracted")
