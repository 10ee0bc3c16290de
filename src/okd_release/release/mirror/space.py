"""Free space before a mirror to a directory: one that cannot hold what it lacks of the release fails before
copying anything, naming both numbers, instead of filling the disk and failing hours later."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Collection
from pathlib import Path

from okd_release.errors import OkdReleaseError
from okd_release.listener import ProgressListener, SilentProgress
from okd_release.transfer import ImageCopy, Transfer, TransferSummary


class NotEnoughSpace(OkdReleaseError):
    """The mirror directory's file system has less free space than the blobs still to be written."""


def free_bytes(directory: Path) -> int:
    """The free space (for this user) of the file system `directory` is, or will be, on."""
    path = directory.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def run_with_space_check(make: Callable[[ProgressListener, bool], Transfer], copies: Collection[ImageCopy], directory: Path,
                         progress: ProgressListener | None) -> TransferSummary:
    """Run the transfer that `make(listener, dry_run)` builds into `directory`, once it is known to fit.

    A first pass measures the blobs the directory lacks (a resumed mirror needs room only for those; an
    image whose tags already name it is not even read, a blob is one `stat`), and they are compared with
    the free space before anything is written. It reads each other image's manifests once more than the
    run alone would, and holds no more than the run does.
    """
    missing = make(SilentProgress(), True).measure(copies).bytes_missing
    free = free_bytes(directory)
    if missing > free:
        raise NotEnoughSpace(
            f"not enough free space for the mirror in {directory}: it needs {_size(missing)} more, and "
            f"{_size(free)} are free")
    return make(progress or SilentProgress(), False).run(copies)


def _size(count: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= scale:
            return f"{count / scale:.1f} {unit} ({count} bytes)"
    return f"{count} bytes"
