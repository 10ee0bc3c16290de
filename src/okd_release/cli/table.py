"""Plain aligned columns, like Go's tabwriter output that oc prints (no borders, script-friendly)."""

from __future__ import annotations

from collections.abc import Sequence


def columns(rows: Sequence[Sequence[str]], indent: str = "  ", gap: int = 1) -> list[str]:
    if not rows:
        return []
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(max(len(r) for r in rows))]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append((indent + (" " * gap).join(cells)).rstrip())
    return lines


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.4g}{unit}"
        value /= 1000
    return f"{value:.4g}TB"
