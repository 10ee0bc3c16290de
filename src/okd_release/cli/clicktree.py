"""The click side of the command line: help, version, shell completion, man pages and usage errors.

Its commands are built from the declarations (`cli.declare`) when first looked up. `cli.main` comes here only
for a command line its own parser gives up on, so click is not loaded for an ordinary run of a command.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from okd_release import __version__
from okd_release.cli import declare, program
from okd_release.cli.commands import COMMANDS, lookup

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
    """The root group: its commands are the declared ones (`cli.commands`), each imported when looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's signature
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:  # noqa: ARG002
        declared = lookup(name)
        return None if declared is None else to_click(declared)

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        with _usage_errors_exit_1():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        with _usage_errors_exit_1():  # also the subcommands': their options are parsed in here
            return super().invoke(ctx)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:  # noqa: ARG002
        """The table's one-line summaries, so that `--help` imports no command."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, _, summary) in COMMANDS.items()])


HELP = {"help_option_names": ["-h", "--help"]}


@click.group(cls=LazyGroup, context_settings=HELP)
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
    declare.record_unexposed({})  # the subcommand's options are parsed after this, each recorded as it is


_BUILT: dict[declare.Command, click.Command] = {}


def to_click(command: declare.Command) -> click.Command:
    """The click command of a declared one (built once): the same options, arguments, types and function."""
    built = _BUILT.get(command)
    if built is None:
        params = [_parameter(param) for param in command.params]
        # -h as well as --help, also in a context without the root's (click keeps the first help option it makes)
        attrs = {"context_settings": HELP, **command.attrs}
        if isinstance(command, declare.Group):
            built = click.Group(command.name, commands={name: to_click(sub) for name, sub in command.commands.items()},
                                callback=command.function, params=params, help=command.help, **attrs)
        else:
            built = click.Command(command.name, callback=command.function, params=params, help=command.help, **attrs)
        _BUILT[command] = built
    return built


def _parameter(param: declare.Parameter) -> click.Parameter:
    attrs = dict(param.attrs)
    if "type" in attrs:
        attrs["type"] = _type(attrs["type"])
    if isinstance(param, declare.Argument):
        return click.Argument(param.decls, **attrs)
    if not attrs.get("expose_value", True):
        attrs["callback"] = _remember
    return click.Option(param.decls, **attrs)


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:  # noqa: ARG001 - click's signature
    """An unexposed option's value, kept for `declare.given` (the command reads it there, not from its arguments)."""
    if param.name:
        declare.remember(param.name, value)
    return value


def _type(declared: declare.ParamType) -> click.ParamType:  # type: ignore[type-arg]  # generic from click 8.2
    if isinstance(declared, declare.Choice):
        return click.Choice(declared.choices)
    if isinstance(declared, declare.IntRange):
        return click.IntRange(declared.min, declared.max)
    if isinstance(declared, declare.Path):
        return click.Path(exists=declared.exists, file_okay=declared.file_okay, dir_okay=declared.dir_okay)
    return _DeclaredType(declared)


class _DeclaredType(click.ParamType):  # type: ignore[type-arg]  # generic only from click 8.2 on
    """A type of our own (a duration): its conversion, and its refusal as click's usage error."""

    def __init__(self, declared: declare.ParamType) -> None:
        self.declared = declared
        self.name = declared.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.declared.convert(str(value))
        except declare.Refused as refused:
            self.fail(str(refused), param, ctx)
