"""Reading a command line from the commands' declarations (`cli.declare`), without click.

`parse` understands a command line that click would take: options in any order among the arguments,
`--name value`, `--name=value`, `-o value`, `-ovalue`, `--` before arguments, repeated options, and every
value checked by its type. It gives up (returns None) on anything else: a help or version request, an unknown
option or command, a value its type refuses, a missing argument, no command at all. Click then reads the same
command line from the same declarations and prints the help or the usage error, so that every message stays
click's. A test compares the values both read for generated command lines of every command.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from okd_release.cli.declare import Argument, Command, Group, Option, Parameter, Refused

Lookup = Callable[[str], Command | None]


class Invocation:
    """A parsed command line: the command to call, with its keyword arguments and its unexposed option values."""

    def __init__(self, command: Command, values: dict[str, Any], unexposed: dict[str, Any]) -> None:
        self.command, self.values, self.unexposed = command, values, unexposed


def parse(lookup: Lookup, args: Sequence[str]) -> Invocation | None:
    """The invocation of `args` (without the program's name); `lookup` finds a top-level command by name."""
    if not args or args[0].startswith("-"):
        return None
    found = lookup(args[0])
    rest = list(args[1:])
    while isinstance(found, Group):  # a group's own options come before its subcommand; ours have none
        if found.params or not rest or rest[0] not in found.commands:
            return None
        found, rest = found.commands[rest[0]], rest[1:]
    if found is None:
        return None
    return _command_line(found, rest)


def _command_line(command: Command, args: list[str]) -> Invocation | None:
    options = [param for param in command.params if isinstance(param, Option)]
    by_flag = {flag: option for option in options for flag in option.flags}
    flags: set[str] = set()  # the flags given
    texts: dict[str, list[str]] = {}  # the values given, by option
    positional: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional.extend(args[index:])
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        if arg.startswith("--"):
            flag, equals, value = arg.partition("=")
            has_value = bool(equals)
        else:
            flag, value = arg[:2], arg[2:]
            has_value = bool(value)
        option = by_flag.get(flag)
        if option is None:
            return None
        if option.is_flag:
            if has_value:  # `--insecure=x`, or short flags run together (`-ab`): click's to read or refuse
                return None
            flags.add(option.name)
            continue
        if not has_value:
            if index >= len(args):
                return None
            value = args[index]
            index += 1
        given = texts.setdefault(option.name, [])
        if not option.multiple:
            given.clear()  # the last one counts, as in click
        given.append(value)
    return _values(command, options, flags, texts, positional)


def _values(command: Command, options: list[Option], flags: set[str], texts: dict[str, list[str]],
            positional: list[str]) -> Invocation | None:
    values: dict[str, Any] = {}
    unexposed: dict[str, Any] = {}
    try:
        for option in options:
            value = _option_value(option, option.name in flags, texts.get(option.name))
            if value is _MISSING:
                return None
            (values if option.expose_value else unexposed)[option.name] = value
        for argument in (param for param in command.params if isinstance(param, Argument)):
            value = _argument_value(argument, positional)
            if value is _MISSING:
                return None
            values[argument.name] = value
    except Refused:
        return None
    if positional:  # more arguments than declared: click's error
        return None
    return Invocation(command, values, unexposed)


_MISSING = object()


def _option_value(option: Option, flagged: bool, given: list[str] | None) -> Any:
    if option.is_flag:
        return flagged
    if given is not None:
        converted = [option.type.convert(text) for text in given]
        return tuple(converted) if option.multiple else converted[0]
    if option.required:
        return _MISSING
    return _default(option)


def _argument_value(argument: Argument, positional: list[str]) -> Any:
    if argument.nargs == -1:
        taken = [argument.type.convert(text) for text in positional]
        positional.clear()
        return tuple(taken)
    if not positional:
        return _MISSING if argument.required else _default(argument)
    return argument.type.convert(positional.pop(0))


def _default(param: Parameter) -> Any:
    """The declared default, checked by its type as click checks it (a default path must still be readable)."""
    if param.multiple:
        return tuple(param.type.convert(text) for text in param.default or ())
    if param.default is None:
        return None
    return param.type.convert(param.default) if isinstance(param.default, str) else param.default
