"""The `okd-release` entry point: a click group whose commands are imported only when they run."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import click

from okd_release import __version__
from okd_release.cli import program

# name -> (module, attribute, one-line help): `okd-release info` imports only what info needs.
COMMANDS = {
    "info": ("okd_release.cli.info", "info_command", "Show a release: metadata, components, images, or what changed."),
    "new": ("okd_release.cli.new", "new_command", "Build a release payload and push it or write it to disk."),
    "extract": ("okd_release.cli.extract", "extract_command", "Write a release's manifests, one file, or its tools."),
    "mirror": ("okd_release.cli.mirror", "mirror_command", "Copy a release and its images to a registry or a directory."),
    "plan": ("okd_release.cli.plan", "plan_command", "The order in which the CVO applies a release, and what an update changes."),
    "lint": ("okd_release.cli.plan", "lint_command", "Find manifests the CVO would reject or mishandle."),
    "verify": ("okd_release.cli.verify", "verify_command", "Check a release's signatures as the cluster-version operator does."),
    "source": ("okd_release.cli.source", "source_command", "Show the source of one image of a release and how to get it."),
    "image": ("okd_release.cli.image", "image_group", "Inspect or copy one image or manifest list."),
    "sample": ("okd_release.cli.sample", "sample_command", "Push a synthetic sample release's images (for demos and tests)."),
    "demo": ("okd_release.cli.demo", "demo_command", "Run info, new, extract and mirror on a throwaway local registry."),
    "completion": ("okd_release.cli.completion", "completion_command", "Print the shell completion script (bash, zsh, fish)."),
}

# click >= 8.2 raises this for a group called without a command; older versions print the help and exit 0.
_NO_ARGS_IS_HELP: Any = getattr(click.exceptions, "NoArgsIsHelpError", None)


class OneLineUsageError(click.UsageError):
    """A usage error as the standard asks and oc exits: status 1, one line naming the problem."""

    exit_code = 1

    def show(self, file: Any = None) -> None:  # noqa: ARG002 - click's signature; the line goes to stderr
        where = f" (see '{self.ctx.command_path} --help')" if self.ctx else ""
        click.echo(f"error: {self.format_message()}{where}", err=True)


@contextlib.contextmanager
def _usage_errors_exit_1() -> Iterator[None]:
    """click prints usage errors as several lines and exits 2; we print one line and exit 1, like oc."""
    try:
        yield
    except OneLineUsageError:
        raise
    except click.UsageError as error:
        if _NO_ARGS_IS_HELP is not None and isinstance(error, _NO_ARGS_IS_HELP) and error.ctx is not None:
            click.echo(error.ctx.get_help())  # a group without a command: its help, as oc shows it
            raise click.exceptions.Exit(0) from None
        raise OneLineUsageError(" ".join(error.format_message().split()), error.ctx) from None


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is looked up, not at start-up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS) + sorted(super().list_commands(ctx))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return super().get_command(ctx, name)
        module, attribute, _ = COMMANDS[name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_exit_1():  # also the subcommands': their options are parsed in here
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, _, summary) in COMMANDS.items()]
        rows += [(name, command.get_short_help_str()) for name in sorted(super().list_commands(ctx))
                 if (command := super().get_command(ctx, name)) is not None]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okd-release")
def cli() -> None:
    """Inspect, build, extract and mirror OKD/OpenShift release payloads.

    Each command keeps oc adm release's flag names where oc has the feature. Registry access: -a/--registry-config
    FILE (a pull secret), else REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json;
    TLS is verified (--certificate-authority FILE adds a CA; --insecure allows plain HTTP). Errors are one line
    on stderr with a non-zero exit.

    \b
    Examples:
      # Show a release, then mirror it into a registry
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116
      okd-release mirror --from quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to mirror.example.com/okd/release

    \b
      # Every command's own examples
      okd-release mirror --help

    \b
      # Complete commands and options in bash
      source <(okd-release completion bash)
    """
    program.started()  # click calls the group once the command is found and imported, before it parses


def main(args: Any = None) -> None:
    cli(args)
