"""Progress on a terminal (rich bars: images, bytes, throughput, ETA); quiet when not a TTY."""

from __future__ import annotations

import sys
import threading
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from okd_release.progress import SilentProgress


class TerminalProgress:
    """Two bars on stderr: images done and bytes copied."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
            TimeRemainingColumn(), console=Console(stderr=True), transient=False,
        )
        self._bytes: TaskID | None = None
        self._images: TaskID | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> TerminalProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, error, tb)

    def planned(self, images: int, blobs: int, total_bytes: int) -> None:
        self._images = self._progress.add_task(f"images (0/{images})", total=images)
        self._bytes = self._progress.add_task(f"blobs  ({blobs})", total=total_bytes)
        self._image_total = images
        self._images_done = 0

    def transferred(self, count: int) -> None:
        if self._bytes is not None:
            self._progress.advance(self._bytes, count)

    def blob_done(self, digest: str, size: int, outcome: str) -> None:
        if outcome != "copied" and self._bytes is not None:
            self._progress.advance(self._bytes, size)

    def image_done(self, name: str, ok: bool) -> None:
        with self._lock:
            self._images_done += 1
            done = self._images_done
        if self._images is not None:
            self._progress.update(self._images, advance=1, description=f"images ({done}/{self._image_total})")
        if not ok:
            self._progress.console.print(f"[red]failed:[/red] {name}")


class LineProgress(SilentProgress):
    """Not a terminal: one line per failed image, nothing else; the summary follows at the end."""

    def __enter__(self) -> LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def image_done(self, name: str, ok: bool) -> None:
        if not ok:
            print(f"failed: {name}", file=sys.stderr)


def make_progress(quiet: bool = False) -> TerminalProgress | LineProgress:
    if not quiet and sys.stderr.isatty():
        return TerminalProgress()
    return LineProgress()
