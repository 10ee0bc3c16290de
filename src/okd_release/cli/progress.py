"""The progress a command shows: rich bars on a terminal, else one line per failed image.

rich is imported only when the bars are shown: a command whose output is redirected never loads it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from okd_release.listener import SilentProgress

if TYPE_CHECKING:
    from okd_release.cli.terminal import TerminalProgress


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
        from okd_release.cli.terminal import TerminalProgress  # noqa: PLC0415 - rich only for a terminal

        return TerminalProgress()
    return LineProgress()
