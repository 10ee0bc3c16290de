"""Log messages that cost no import: `logging` is loaded by whoever wants messages (the CLI's --loglevel, or a
program using the library that configured it). A message is dropped while nobody has loaded it: nobody can have
set up a handler to receive it, and without one logging would show it only at WARNING and above."""

from __future__ import annotations

import sys


def debug(logger: str, message: str, *args: object) -> None:
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(logger).debug(message, *args)


def info(logger: str, message: str, *args: object) -> None:
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.getLogger(logger).info(message, *args)
