"""Progress events from long work; the CLI renders them, the library only reports."""

from __future__ import annotations

from typing import Protocol


class ProgressListener(Protocol):
    """Called from the transfer's worker threads: implementations must be thread-safe."""

    def planned(self, images: int, blobs: int, total_bytes: int) -> None: ...

    def transferred(self, count: int) -> None:
        """`count` bytes moved; negative when an attempt that moved them failed and is redone (or abandoned),
        so that the sum never exceeds the bytes actually copied."""
        ...

    def blob_done(self, digest: str, size: int, outcome: str) -> None: ...

    def image_done(self, name: str, ok: bool) -> None: ...


class SilentProgress:
    """Reports nothing."""

    def planned(self, images: int, blobs: int, total_bytes: int) -> None:
        pass

    def transferred(self, count: int) -> None:
        pass

    def blob_done(self, digest: str, size: int, outcome: str) -> None:
        pass

    def image_done(self, name: str, ok: bool) -> None:
        pass
