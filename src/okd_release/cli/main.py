"""The `okd-release` entry point: an ordinary command line is read from the declarations and the command called;
help, version, completion and usage errors go to click (`cli.clicktree`), which is imported only for them."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from okd_release.cli import declare, program
from okd_release.cli.commands import lookup
from okd_release.cli.completion import COMPLETE_VAR
from okd_release.cli.parse import parse


def main(args: Sequence[str] | None = None, prog_name: str | None = None) -> None:
    """Run the command of `args` (the process's arguments when None); `prog_name` names the program in help."""
    argv = list(sys.argv[1:] if args is None else args)
    # a shell's completion script calling back for completions: click answers
    invocation = None if COMPLETE_VAR in os.environ else parse(lookup, argv)
    if invocation is None:
        from okd_release.cli.clicktree import cli  # noqa: PLC0415 - click only for help, completion and errors

        cli(argv, prog_name=prog_name)
        return
    program.started()
    declare.record_unexposed(invocation.unexposed)  # on click's way, its root group starts them afresh
    invocation.command.function(**invocation.values)
