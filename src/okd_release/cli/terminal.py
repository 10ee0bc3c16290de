"""Progress on a terminal: rich bars of images, bytes, throughput and ETA (see `progress.make_progress`)."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.text import Text


class _BytesOnly:
    """A column shown only on the bytes bar (the images bar counts images, not bytes)."""

    def render(self, task: Task) -> Text:
        if task.fields.get("unit") != "bytes":
            return Text(f"{int(task.completed)}/{int(task.total or 0)}") if isinstance(self, DownloadColumn) else Text("")
        rendered: Text = super().render(task)  # type: ignore[misc]
        return rendered


class _Download(_BytesOnly, DownloadColumn):
    pass


class _Speed(_BytesOnly, TransferSpeedColumn):
    pass


class TerminalProgress:
    """Two bars on stderr: images done and bytes copied."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(), _Download(), _Speed(),
            TimeRemainingColumn(), console=Console(stderr=True), transient=False,
        )
        self._bytes: TaskID | None = None
        self._images: TaskID | None = None

    def __enter__(self) -> TerminalProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.__exit__(kind, error, tb)

    def planned(self, images: int, blobs: int, total_bytes: int) -> None:
        """Told again as a transfer learns more blobs: the bars' totals follow."""
        if self._images is None:
            self._images = self._progress.add_task("images", total=images, unit="images")
        else:
            self._progress.update(self._images, total=images)
        if blobs and self._bytes is None:
            self._bytes = self._progress.add_task(f"blobs ({blobs})", total=total_bytes, unit="bytes")
        elif blobs and self._bytes is not None:
            self._progress.update(self._bytes, description=f"blobs ({blobs})", total=total_bytes)

    def transferred(self, count: int) -> None:
        if self._bytes is not None:
            self._progress.advance(self._bytes, count)

    def blob_done(self, digest: str, size: int, outcome: str) -> None:  # noqa: ARG002 - the listener protocol
        if outcome != "copied" and self._bytes is not None:
            self._progress.advance(self._bytes, size)

    def image_done(self, name: str, ok: bool) -> None:
        if self._images is not None:
            self._progress.update(self._images, advance=1)
        if not ok:
            self._progress.console.print(f"[red]failed:[/red] {name}")
