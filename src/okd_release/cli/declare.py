"""The commands' declarations: their options, arguments and value types, written as click's decorators are.

Declaring a command imports nothing but this module. `cli.parse` reads a command line from these declarations
on the way to the command; `cli.clicktree` builds click commands from the same declarations for everything
else (help, completion, man pages and usage errors), so that click is loaded only when one of those runs.
A declaration keeps click's keyword arguments as written; the few that the parser reads are properties here.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_UNEXPOSED: dict[str, Any] = {}
"""This command line's values of the options declared with `expose_value=False`: read with `given`."""


def given(name: str) -> Any:
    """The value of an option that is not passed to the command function (`expose_value=False`); None when absent."""
    return _UNEXPOSED.get(name)


def record_unexposed(values: dict[str, Any]) -> None:
    """Replace the values `given` answers with: one command line's, set when it is parsed."""
    _UNEXPOSED.clear()
    _UNEXPOSED.update(values)


def remember(name: str, value: Any) -> None:
    """Record one unexposed option's value (click's callback does, as it reads the option)."""
    _UNEXPOSED[name] = value


class Refused(ValueError):
    """A value its type does not accept; the message says why (click's type says it for a usage error)."""


class ParamType:
    """A value type: `convert` turns the command line's text into the value, or raises `Refused`."""

    name = "text"

    def convert(self, text: str) -> Any:
        return text


class Choice(ParamType):
    name = "choice"

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)

    def convert(self, text: str) -> str:
        if text not in self.choices:
            raise Refused(f"{text!r} is not one of {', '.join(map(repr, self.choices))}")
        return text


class IntRange(ParamType):
    name = "integer range"

    def __init__(self, min: int, max: int) -> None:  # noqa: A002 - click's names
        self.min, self.max = min, max

    def convert(self, text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise Refused(f"{text!r} is not a valid integer range") from None
        if not self.min <= number <= self.max:
            raise Refused(f"{number} is not in the range {self.min}<=x<={self.max}")
        return number


class Path(ParamType):
    """A path, checked as click's Path checks it: existence when asked, a file or a directory, readable."""

    name = "path"

    def __init__(self, exists: bool = False, file_okay: bool = True, dir_okay: bool = True) -> None:
        self.exists, self.file_okay, self.dir_okay = exists, file_okay, dir_okay

    def convert(self, text: str) -> str:
        try:  # "-" too is a file's name here: no declaration asks for click's stdin dash (allow_dash)
            found = os.stat(text)
        except OSError:
            if self.exists:
                raise Refused(f"path {text!r} does not exist") from None
            return text
        if not self.file_okay and stat.S_ISREG(found.st_mode):
            raise Refused(f"{text!r} is a file")
        if not self.dir_okay and stat.S_ISDIR(found.st_mode):
            raise Refused(f"{text!r} is a directory")
        if not os.access(text, os.R_OK):
            raise Refused(f"{text!r} is not readable")
        return text


_TEXT = ParamType()


class Parameter:
    """An option or argument as declared: `decls` and click's keyword arguments (`attrs`).

    Only the keyword arguments that `cli.parse` reads as click does (or that only help shows) are accepted:
    one it did not know (a count, an environment variable, a callback) would make the two read a command line
    differently, so it is refused where it is declared."""

    KNOWN: frozenset[str] = frozenset()

    def __init__(self, decls: tuple[str, ...], attrs: dict[str, Any]) -> None:
        unknown = set(attrs) - self.KNOWN
        if unknown:
            raise TypeError(f"{decls}: {', '.join(sorted(unknown))} not supported by cli.parse")
        if not isinstance(attrs.get("type") or _TEXT, ParamType):
            raise TypeError(f"{decls}: type must be a cli.declare type")
        self.decls, self.attrs = decls, attrs
        self.type: ParamType = attrs.get("type") or _TEXT
        self.multiple: bool = attrs.get("multiple", False)
        self.default: Any = attrs.get("default")


class Option(Parameter):
    KNOWN = frozenset({"type", "help", "is_flag", "multiple", "default", "metavar", "show_default", "required",
                       "expose_value", "hidden"})

    def __init__(self, decls: tuple[str, ...], attrs: dict[str, Any]) -> None:
        super().__init__(decls, attrs)
        self.flags = tuple(decl for decl in decls if decl.startswith("-"))
        names = [decl for decl in decls if not decl.startswith("-")]
        long = [flag for flag in self.flags if flag.startswith("--")]
        self.name: str = names[0] if names else (long or self.flags)[0].lstrip("-").replace("-", "_").lower()
        self.is_flag: bool = attrs.get("is_flag", False)
        if self.is_flag and {"default", "multiple", "type"} & set(attrs):
            raise TypeError(f"{decls}: a flag is false unless given (click turns a flag defaulting to true around)")
        self.required: bool = attrs.get("required", False)
        self.expose_value: bool = attrs.get("expose_value", True)


class Argument(Parameter):
    KNOWN = frozenset({"type", "nargs", "required", "metavar", "default"})

    def __init__(self, decls: tuple[str, ...], attrs: dict[str, Any]) -> None:
        super().__init__(decls, attrs)
        self.name = decls[0].replace("-", "_").lower()
        self.nargs: int = attrs.get("nargs", 1)
        if self.nargs not in (1, -1):
            raise TypeError(f"{decls}: cli.parse reads one value or all that are left (nargs 1 or -1)")
        self.required: bool = attrs.get("required", self.nargs > 0 and "default" not in attrs)


class Command:
    """A command: its name, its function (called with the parsed values) and its parameters in order."""

    def __init__(self, name: str, function: Callable[..., Any], params: list[Parameter],
                 attrs: dict[str, Any]) -> None:
        self.name, self.function, self.params, self.attrs = name, function, params, attrs
        self.help: str | None = function.__doc__


class Group(Command):
    """A command whose first argument names one of its subcommands."""

    def __init__(self, name: str, function: Callable[..., Any], params: list[Parameter],
                 attrs: dict[str, Any]) -> None:
        super().__init__(name, function, params, attrs)
        self.commands: dict[str, Command] = {}

    def command(self, name: str, **attrs: Any) -> Callable[[Callable[..., Any]], Command]:
        """Declare a subcommand, as click's `group.command` does."""

        def declare(function: Callable[..., Any]) -> Command:
            declared = command(name, **attrs)(function)
            self.commands[name] = declared
            return declared

        return declare


def _params(function: Callable[..., Any]) -> list[Parameter]:
    # decorators run bottom-up: the list is reversed into the order in which they are written
    return list(reversed(getattr(function, "__okd_params__", [])))


def command(name: str, **attrs: Any) -> Callable[[Callable[..., Any]], Command]:
    def declare(function: Callable[..., Any]) -> Command:
        return Command(name, function, _params(function), attrs)

    return declare


def group(name: str, **attrs: Any) -> Callable[[Callable[..., Any]], Group]:
    def declare(function: Callable[..., Any]) -> Group:
        return Group(name, function, _params(function), attrs)

    return declare


def _adding(parameter: Parameter) -> Callable[[F], F]:
    def add(function: F) -> F:
        if not hasattr(function, "__okd_params__"):
            function.__okd_params__ = []  # type: ignore[attr-defined]
        function.__okd_params__.append(parameter)  # type: ignore[attr-defined]
        return function

    return add


def option(*decls: str, **attrs: Any) -> Callable[[F], F]:
    return _adding(Option(decls, attrs))


def argument(*decls: str, **attrs: Any) -> Callable[[F], F]:
    return _adding(Argument(decls, attrs))


def options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several `option`/`argument` decorators as one, declaring their parameters in the order given (as if
    written one above the other): for a set of options that several commands share."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply
