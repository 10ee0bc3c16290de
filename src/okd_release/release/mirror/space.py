"""Free space before a mirror to a directory: one that cannot hold what it lacks of the release fails before
copying anything, naming both numbers, instead of filling the disk and failing hours later."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from okd_release.errors import OkdReleaseError
from okd_release.listener import ProgressListener, SilentProgress
from okd_release.transfer import ImageCopy, Transfer, TransferSummary


class NotEnoughSpace(OkdReleaseError):
    """The mirror directory's file system has less free space than the blobs still to be written."""


class _MayNotFit(Exception):
    """The plan's total is more than the free space: what is missing has to be measured."""

    def __init__(self, free: int) -> None:
        super().__init__(free)
        self.free = free


def free_bytes(directory: Path) -> int:
    """The free space (for this user) of the file system `directory` is, or will be, on."""
    path = directory.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


class _SpaceCheck:
    """A progress listener that, told of the plan, stops the transfer before it copies anything when the plan's
    whole byte total would not fit; otherwise it passes everything on."""

    def __init__(self, inner: ProgressListener, directory: Path) -> None:
        self._inner = inner
        self._directory = directory

    def planned(self, images: int, blobs: int, total_bytes: int) -> None:
        free = free_bytes(self._directory)
        if total_bytes > free:
            raise _MayNotFit(free)
        self._inner.planned(images, blobs, total_bytes)

    def transferred(self, count: int) -> None:
        self._inner.transferred(count)

    def blob_done(self, digest: str, size: int, outcome: str) -> None:
        self._inner.blob_done(digest, size, outcome)

    def image_done(self, name: str, ok: bool) -> None:
        self._inner.image_done(name, ok)


def run_with_space_check(make: Callable[[ProgressListener, bool], Transfer], copies: list[ImageCopy], directory: Path,
                         progress: ProgressListener | None) -> TransferSummary:
    """Run the transfer that `make(listener, dry_run)` builds into `directory`, once it is known to fit.

    Usually the plan's whole total fits, and that costs nothing. When it does not, a dry run measures the
    blobs the directory lacks (a resumed mirror needs only those), and they are compared with the free space.
    """
    listener = progress or SilentProgress()
    try:
        return make(_SpaceCheck(listener, directory), False).run(copies)
    except _MayNotFit:
        missing = make(SilentProgress(), True).run(copies).bytes_missing
        free = free_bytes(directory)
        if missing > free:
            raise NotEnoughSpace(
                f"not enough free space for the mirror in {directory}: it needs {_size(missing)} more, and "
                f"{_size(free)} are free") from None
    return make(listener, False).run(copies)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit} ({count} bytes)"
    return f"{count} bytes"
