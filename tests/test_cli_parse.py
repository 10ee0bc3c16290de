"""The command-line parser of our own (`cli.parse`) reads every command line it takes as click reads it from the
same declarations, and leaves every other one (help, errors, what it does not know) to click."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from okd_release.cli import declare
from okd_release.cli.clicktree import to_click
from okd_release.cli.commands import COMMANDS, lookup
from okd_release.cli.parse import Invocation, parse


def _leaves() -> list[tuple[tuple[str, ...], declare.Command]]:
    found: list[tuple[tuple[str, ...], declare.Command]] = []
    for name in COMMANDS:
        command = lookup(name)
        assert command is not None
        if isinstance(command, declare.Group):
            found += [((name, sub_name), sub) for sub_name, sub in command.commands.items()]
        else:
            found.append(((name,), command))
    return found


LEAVES = _leaves()
IDS = [" ".join(path) for path, _ in LEAVES]


def _as_click(path: tuple[str, ...], args: list[str]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(values, unexposed values) as click reads `args` for the command at `path`; None when click refuses them."""
    command = lookup(path[0])
    assert command is not None
    for name in path[1:]:
        assert isinstance(command, declare.Group)
        command = command.commands[name]
    declare.record_unexposed({})
    try:
        context = to_click(command).make_context(path[-1], list(args))
    except (click.ClickException, click.exceptions.Exit):
        return None
    unexposed = {param.name: declare.given(param.name) for param in command.params
                 if isinstance(param, declare.Option) and not param.expose_value}
    return context.params, unexposed


def _values(tmp: Path, param: declare.Parameter) -> st.SearchStrategy[str]:
    """Texts for a parameter's value: good and bad ones for its type, some that look like options."""
    kind = param.type
    tricky = st.sampled_from(["-", "--", "-x", "--insecure", "a=b", "", " ", "x y"])
    if isinstance(kind, declare.Choice):
        return st.one_of(st.sampled_from(kind.choices), st.text(max_size=5), tricky)
    if isinstance(kind, declare.IntRange):
        return st.one_of(st.integers(kind.min - 2, kind.max + 2).map(str), st.sampled_from(["1_0", " 5", "x"]))
    if isinstance(kind, declare.Path):
        return st.sampled_from([str(tmp / "file"), str(tmp / "dir"), str(tmp / "absent"), "-", "."])
    if kind.name == "duration":
        return st.sampled_from(["30s", "2m", "1h30m", "500ms", "5", "0", "0s", "x", "-1"])
    return st.one_of(st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8), tricky)


@st.composite
def _command_line(draw: st.DrawFn, command: declare.Command, tmp: Path) -> list[str]:
    options = [param for param in command.params if isinstance(param, declare.Option)]
    args: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        choice = draw(st.integers(0, 9))
        if choice == 0:
            args.append(draw(st.sampled_from(["-h", "--help", "--xyzzy", "-Z", "--", "-"])))
            continue
        if choice <= 2 or not options:
            args.append(draw(_values(tmp, declare.Parameter(("x",), {}))))  # an argument
            continue
        option = draw(st.sampled_from(options))
        flag = draw(st.sampled_from(option.flags))
        if option.is_flag:
            args.append(flag if draw(st.integers(0, 9)) else f"{flag}=true")
            continue
        value = draw(_values(tmp, option))
        form = draw(st.integers(0, 2))
        if form == 0:
            args += [flag, value]
        elif form == 1 and flag.startswith("--"):
            args.append(f"{flag}={value}")
        elif form == 1:
            args.append(flag + value)
        else:
            args.append(flag)  # a value left out, or taken from whatever comes next
    return args


@pytest.fixture(scope="module")
def paths(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("paths")
    (tmp / "file").write_text("x")
    (tmp / "dir").mkdir()
    return tmp


@pytest.mark.parametrize(("path", "command"), LEAVES, ids=IDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_command_line_our_parser_takes_is_read_as_click_reads_it(path: tuple[str, ...], command: declare.Command,
                                                                 paths: Path, data: st.DataObject) -> None:
    args = data.draw(_command_line(command, paths))
    ours = parse(lookup, [*path, *args])
    theirs = _as_click(path, args)
    if ours is not None:
        assert theirs is not None, f"click refuses what our parser took: {args}"
        assert (ours.values, ours.unexposed) == theirs, args


# Ordinary command lines, each of which our parser must read itself (click would be loaded otherwise).
ORDINARY = [
    ["info", "--insecure", "reg.example/okd/release:4.15"],
    ["info", "reg.example/a:1", "reg.example/a:2", "--commits", "-o", "json"],
    ["info", "-ojson", "--request-timeout=2m", "--retries", "3", "reg.example/a:1"],
    ["extract", "--command", "oc", "--to", ".", "--insecure", "reg.example/a:1"],
    ["extract", "--file", "image-references", "reg.example/a:1"],
    ["new", "-f", "-", "--to-file", "payload.tar", "--name", "4.15.0"],
    ["new", "--from-release", "reg.example/a:1", "cli=reg.example/cli@sha256:" + "0" * 64, "--to-image", "r/x:1"],
    ["mirror", "--from", "reg.example/a:1", "--to", "mirror.example/okd", "--max-per-registry", "8", "--dry-run"],
    ["image", "info", "-o", "yaml", "reg.example/a:1"],
    ["completion", "bash"],
    ["info", "--", "-odd-looking-argument"],
]


@pytest.mark.parametrize("argv", ORDINARY, ids=[" ".join(argv[:2]) for argv in ORDINARY])
def test_an_ordinary_command_line_is_read_without_click_as_click_reads_it(argv: list[str]) -> None:
    ours = parse(lookup, argv)
    assert isinstance(ours, Invocation), argv
    path = tuple(argv[:2]) if argv[0] == "image" else tuple(argv[:1])
    assert (ours.values, ours.unexposed) == _as_click(path, argv[len(path):])


@pytest.mark.parametrize("argv", [
    [], ["--version"], ["-h"], ["info", "--help"], ["info", "-h"], ["image"], ["image", "nope"], ["bogus"],
    ["info", "--xyzzy"], ["info", "--insecure=yes", "x"], ["mirror", "-o", "table"], ["completion"],
    ["completion", "bash", "extra"], ["mirror", "--max-per-registry", "0"], ["info", "--request-timeout", "0", "x"],
    ["info", "--output"], ["--insecure", "info"],
])
def test_help_version_and_every_usage_error_are_left_to_click(argv: list[str]) -> None:
    assert parse(lookup, argv) is None


_CLICK_AT_EXIT = ("import atexit, sys\n"
                  "atexit.register(lambda: print('click loaded' if 'click' in sys.modules else 'no click'))\n"
                  "from okd_release.cli.main import main\n"
                  "main(sys.argv[1:])\n")


@pytest.mark.parametrize(("args", "loaded"), [
    (["extract", "--file", "release-metadata", "--from-dir", "{empty}"], "no click"),  # ours, up to its error
    (["extract", "--xyzzy"], "click loaded"),  # a usage error: click says it
])
def test_click_is_loaded_only_when_our_parser_leaves_the_command_line_to_it(args: list[str], loaded: str,
                                                                           tmp_path: Path) -> None:
    argv = [arg.format(empty=tmp_path) for arg in args]
    completed = subprocess.run([sys.executable, "-c", _CLICK_AT_EXIT, *argv], capture_output=True, text=True,
                               check=False)
    assert completed.returncode == 1
    assert completed.stderr.startswith("error: ") and completed.stderr.count("\n") == 1, completed.stderr
    assert completed.stdout == loaded + "\n"


@pytest.mark.parametrize("declaration", [
    lambda: declare.option("--verbose", count=True),
    lambda: declare.option("--token", envvar="TOKEN"),
    lambda: declare.option("--limit", type=int),
    lambda: declare.argument("pair", nargs=2),
    lambda: declare.option("--verify", is_flag=True, default=True),
], ids=["count", "envvar", "python type", "nargs 2", "flag true by default"])
def test_a_declaration_our_parser_would_read_unlike_click_is_refused_where_it_is_written(declaration: Any) -> None:
    with pytest.raises(TypeError):
        declaration()
