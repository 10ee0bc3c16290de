"""`okd-release completion SHELL`: print the script that makes the shell complete okd-release's commands and options.

The script is click's own (what `_OKD_RELEASE_COMPLETE=bash_source okd-release` prints); it calls okd-release
back with `_OKD_RELEASE_COMPLETE=<shell>_complete` to get the completions, so they follow the installed version.
"""

from __future__ import annotations

from okd_release.cli import declare
from okd_release.cli.output import echo

PROG_NAME = "okd-release"
COMPLETE_VAR = "_OKD_RELEASE_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


@declare.command("completion")
@declare.argument("shell", type=declare.Choice(SHELLS), metavar="SHELL")
def completion_command(shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Load it into the running shell, or save it where the shell looks for completions. bash needs
    version 4.4 or later.

    \b
    Examples:
      # Complete okd-release in this bash session
      source <(okd-release completion bash)

    \b
      # ... and in every new bash session
      okd-release completion bash > ~/.local/share/bash-completion/completions/okd-release

    \b
      # zsh (a directory of your $fpath) and fish
      okd-release completion zsh > ~/.zfunc/_okd-release
      okd-release completion fish > ~/.config/fish/completions/okd-release.fish
    """
    from click.shell_completion import get_completion_class  # noqa: PLC0415 - click writes the script

    from okd_release.cli.clicktree import cli  # noqa: PLC0415

    completion = get_completion_class(shell)
    assert completion is not None  # click knows every shell of SHELLS
    echo(completion(cli, {}, PROG_NAME, COMPLETE_VAR).source(), nl=False)
