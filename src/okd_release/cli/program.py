"""The program `okd-release` (the console script and `python -m okd_release`): start-up, the command, the exit.

Start-up runs with the cyclic garbage collector off. Importing the command makes about 30,000 objects the
collector tracks, nearly all of which live until the program ends: the collections among them while they
were made (11-17 during `info`'s imports) freed a few hundred objects and cost 8-10 ms of a 110 ms `info`.
Once the command is chosen and its modules are in, those objects are moved out of every later collection
(`gc.freeze`) and collection is turned on for the command's own work.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
from typing import Any

_starting = False


def run() -> None:
    """`main`, then an exit that skips the interpreter's teardown, which frees every object and module one by
    one (about 15 ms after `info`, a tenth of its time) and which nothing needs once the command is done: its
    files are closed and its threads have ended. What the ordinary exit would do first is done: the exit
    handlers run (logging's flush among them) and the output is flushed. The ordinary exit is taken whenever
    something may still need it: a thread still running, a profiler or coverage measuring the process, or
    output that cannot be flushed."""
    global _starting  # noqa: PLW0603 - one flag for the one start-up of the process
    if gc.isenabled():
        _starting = True
        gc.disable()
    from okd_release.cli.main import main  # noqa: PLC0415 - imported with collection off, as the command is

    try:
        main()
        status: Any = 0
    except SystemExit as done:
        status = done.code
    if status is None:
        status = 0
    import threading  # noqa: PLC0415 - mostly loaded long since; here for the count of threads alive

    if not isinstance(status, int) or threading.active_count() > 1 or _watched():
        sys.exit(status)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # an interpreter without it: its own exit runs them
        sys.exit(status)
    run_exit_handlers()  # as the ordinary exit does; it reports a handler's error and goes on
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a reader that left, or a closed stream: as the ordinary exit reports it
        sys.exit(status)
    os._exit(status)


def started() -> None:
    """The command's modules are loaded: the objects made so far are kept out of later collections and the
    collector runs again. Nothing is changed when `run` did not turn the collector off (tests, an importer)."""
    global _starting  # noqa: PLW0603
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()


def _watched() -> bool:
    """Whether a tracer, profiler or coverage watches the process: they report from the interpreter's exit."""
    if sys.gettrace() is not None or sys.getprofile() is not None or "coverage" in sys.modules:
        return True
    monitoring = getattr(sys, "monitoring", None)  # Python 3.12+: cProfile and coverage may use it instead
    return monitoring is not None and any(monitoring.get_tool(tool) is not None for tool in range(6))
