"""Aligned text as oc prints it: Go's text/tabwriter (oc's tables are made with it), and sizes and times as oc writes them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime


class TabWriter:
    """Go's `tabwriter.Writer` with a space pad character and no flags (all oc uses), cell for cell.

    Text is written in pieces; `\\t` ends a cell. A column's cells are padded to its widest cell plus
    `padding`, within a block of consecutive lines that all have that column; the last cell of a line (after
    its last tab) is never padded and ends no column. A line without a tab ends every block, so the text
    buffered so far is laid out and passed to `out` (as Go flushes). `flush` lays out what is left.
    """

    def __init__(self, out: Callable[[str], None], minwidth: int = 0, padding: int = 1) -> None:
        self._out = out
        self._minwidth = minwidth
        self._padding = padding
        self._lines: list[list[str]] = [[]]
        self._cell = ""

    def write(self, text: str) -> None:
        start = 0
        for index, char in enumerate(text):
            if char not in "\t\n":
                continue
            self._cell += text[start:index]
            start = index + 1
            self._lines[-1].append(self._cell)
            self._cell = ""
            if char == "\n":
                cells = len(self._lines[-1])
                self._lines.append([])
                if cells == 1:  # a line without tabs: nothing after it can change what came before
                    self._flush()
        self._cell += text[start:]

    def flush(self) -> None:
        if self._cell:
            self._lines[-1].append(self._cell)
            self._cell = ""
        self._flush()

    def _flush(self) -> None:
        self._format(0, len(self._lines), [])
        self._lines = [[]]

    def _format(self, line0: int, line1: int, widths: list[int]) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(self._lines[this]) - 1:
                this += 1
                continue
            self._write_lines(line0, this, widths)
            line0 = this
            width = self._minwidth
            while this < line1 and column < len(self._lines[this]) - 1:
                width = max(width, len(self._lines[this][column]) + self._padding)
                this += 1
            self._format(line0, this, [*widths, width])
            line0 = this
        self._write_lines(line0, line1, widths)

    def _write_lines(self, line0: int, line1: int, widths: list[int]) -> None:
        for number in range(line0, line1):
            line = self._lines[number]
            parts = [cell + " " * (widths[j] - len(cell)) if j < len(widths) else cell for j, cell in enumerate(line)]
            self._out("".join(parts) + ("" if number + 1 == len(self._lines) else "\n"))


def tabulate(text: str, padding: int = 1) -> str:
    """`text` laid out by one TabWriter."""
    out: list[str] = []
    writer = TabWriter(out.append, padding=padding)
    writer.write(text)
    writer.flush()
    return "".join(out)


def columns(rows: Sequence[Sequence[str]], indent: str = "  ", gap: int = 1) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(max(len(r) for r in rows))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append((indent + (" " * gap).join(cells)).rstrip())
    return lines


def human_size(size: float) -> str:
    """Decimal units with four significant digits, as go-units' HumanSize (which oc prints)."""
    value = float(size)
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    index = 0
    while value >= 1000 and index < len(units) - 1:
        value /= 1000
        index += 1
    return f"{value:.4g}{units[index]}"


def rfc3339(value: str | None) -> str:
    """A timestamp as oc prints it: UTC, whole seconds (Go's zero time when absent)."""
    if not value:
        return "0001-01-01T00:00:00Z"
    text = re.sub(r"(\.\d+)", "", value.strip()).replace("z", "Z").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
