"""Writing a command's output: a line to stdout, or to stderr, flushed at once (as click's `echo` writes it)."""

from __future__ import annotations

import sys


def echo(message: object = None, err: bool = False, nl: bool = True) -> None:
    """Write `message` (nothing for None) and a newline unless `nl` is false; flushed, so that stdout and stderr
    come out in the order they were written."""
    stream = sys.stderr if err else sys.stdout
    if stream is None:  # no stream at all (a process started without one): nothing to write to
        return
    text = "" if message is None else str(message)
    stream.write(text + "\n" if nl else text)
    stream.flush()
