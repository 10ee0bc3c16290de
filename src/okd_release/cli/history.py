"""The contributor's loop in `info` and `extract`: oc's --changelog, --bugs, --rpmdb, --rpmdb-diff and --git.

`info_history_options` and `extract_git_options` add the flags to those commands and take the run over
when one is given (okd_release.cli.history_run, imported only then); otherwise the command runs as it did.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from okd_release.cli import declare
from okd_release.cli.common import handle_errors
from okd_release.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

INFO_HISTORY = ("changelog", "bugs", "skip_bug_check", "rpmdb", "rpmdb_cache", "rpmdb_image", "rpmdb_diff",
                "summary")


# -- info --------------------------------------------------------------------------------------------
def info_history_options(command: F) -> F:
    """oc's --changelog, --bugs, --skip-bug-check, --rpmdb, --rpmdb-cache, --rpmdb-image and --rpmdb-diff; our --summary."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        wanted = {name: kwargs.pop(name) for name in INFO_HISTORY}
        if not any(wanted.values()):
            return command(*args, **kwargs)
        from okd_release.cli.history_run import info_history  # imported only when a flag asks for it

        return info_history(**kwargs, **wanted)

    return declare.options(  # type: ignore[return-value]  # functools.wraps makes its own type
        declare.option("--changelog", type=declare.Path(file_okay=False),
                       help="Print the pull requests merged between the two releases (Markdown, or -o json), from git "
                            "clones of their sources in this directory (cloned or fetched as needed; needs git)."),
        declare.option("--bugs", type=declare.Path(file_okay=False),
                       help="Print the bug references (Bugzilla ids, OCPBUGS keys) of the pull requests between the two "
                            "releases, from git clones in this directory; trackers are not contacted (--skip-bug-check "
                            "is implied)."),
        declare.option("--skip-bug-check", is_flag=True,
                       help="Accepted for oc compatibility: --bugs never contacts a bug tracker."),
        declare.option("--rpmdb", is_flag=True, help="List the RPM packages of the OS image (needs --rpmdb-cache)."),
        declare.option("--rpmdb-cache", type=declare.Path(file_okay=False),
                       help="Cache the rpm database contents of image layers in this directory, by layer digest."),
        declare.option("--rpmdb-image", help="The image whose RPM packages to read (default: the machine-os component's)."),
        declare.option("--rpmdb-diff", is_flag=True,
                       help="Print the RPM packages changed, removed and added between the two releases' OS images."),
        declare.option("--summary", is_flag=True,
                       help="Print one line per image changed between the two releases: its commits old→new, or "
                            "rebuilt, moved, added, removed; with --changelog DIR, the commits, pull requests and bugs "
                            "of its code (from the clones in DIR); with --rpmdb-cache DIR, the RPM packages added, "
                            "removed and changed in the OS image (-o json for the same as data)."),
    )(wrapper)


# -- extract -----------------------------------------------------------------------------------------
def extract_git_options(command: F) -> F:
    """oc's --git DIR and -o commit."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        git, output = kwargs.pop("git"), kwargs.pop("output")
        if not git:
            if output:
                return _usage("--output is only supported with --git")
            return command(*args, **kwargs)
        from okd_release.cli.history_run import extract_git  # imported only when --git asks for it

        return extract_git(git=git, output=output, **kwargs)

    return declare.options(  # type: ignore[return-value]  # functools.wraps makes its own type
        declare.option("--git", type=declare.Path(file_okay=False),
                       help="Clone the source of every image into DIR/<host>/<path> and check out the release's commit "
                            "(one clone per repository; an existing clone is reused and fetched only when it lacks a "
                            "commit; needs git)."),
        declare.option("-o", "--output", type=declare.Choice(["commit"]),
                       help="With --git, print '<clone directory> <commit>' per repository instead of checking out."),
    )(wrapper)


@handle_errors
def _usage(message: str) -> None:
    raise ConfigError(message)


