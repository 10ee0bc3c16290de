"""Log messages that cost no import: `logging` is loaded by whoever wants messages (the CLI's --loglevel, or a
program using the library that configured it). A message is dropped while nobody has loaded it: nobody can have
set up a handler to receive it, and without one logging would show it only at WARNING and above. So is one sent
while another thread is still importing logging: the module is in sys.modules before it has its functions."""

from __future__ import annotations

import sys
from types import ModuleType


def _loaded_logging() -> ModuleType | None:
    logging = sys.modules.get("logging")
    if logging is None or getattr(getattr(logging, "__spec__", None), "_initializing", False):
        return None
    return logging


def debug(logger: str, message: str, *args: object) -> None:
    logging = _loaded_logging()
    if logging is not None:
        logging.getLogger(logger).debug(message, *args)


def info(logger: str, message: str, *args: object) -> None:
    logging = _loaded_logging()
    if logging is not None:
        logging.getLogger(logger).info(message, *args)
