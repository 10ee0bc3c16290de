"""The CLI teaches: every command's --help has examples, every option is described, usage errors are one
line with exit status 1, shell completion works, and the man pages cover every command and option."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from okd_release.cli.clicktree import cli
from okd_release.cli.manpage import pages
from tests.conftest import Result, invoke_main

MAN_DIR = Path(__file__).resolve().parent.parent / "docs" / "man"


def all_commands() -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command and subcommand, with its path below okd-release (the root's path is empty)."""
    found: list[tuple[tuple[str, ...], click.Command]] = []

    def walk(command: click.Command, path: tuple[str, ...], ctx: click.Context) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, f"okd-release {' '.join(path)} lists {name!r} but cannot load it"
                walk(sub, (*path, name), click.Context(sub, info_name=name, parent=ctx))

    walk(cli, (), click.Context(cli, info_name="okd-release"))
    return found


COMMANDS = all_commands()
IDS = [" ".join(("okd-release", *path)) for path, _ in COMMANDS]


def run(*args: str, env: dict[str, str | None] | None = None) -> Result:
    return Result(*invoke_main(list(args), env=env))


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_shows_examples_of_the_command(path: tuple[str, ...], command: click.Command) -> None:
    result = run(*path, "--help")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "  Examples:" in lines, f"okd-release {' '.join(path)} --help has no Examples section"
    start = lines.index("  Examples:") + 1  # in the help text, before Options: (or in the epilog, after them)
    end = next((i for i in range(start, len(lines)) if lines[i] and not lines[i].startswith(" ")), len(lines))
    examples = lines[start:end]
    invocation = " ".join(("okd-release", *path))
    # a group's examples may show its subcommands; each example is a comment and a command a user can type
    assert any(line.strip().startswith(invocation) for line in examples), examples
    assert any(line.strip().startswith("# ") for line in examples), examples


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_every_option_is_described(path: tuple[str, ...], command: click.Command) -> None:
    undescribed = [option.opts for option in command.params if isinstance(option, click.Option) and not option.help]
    assert undescribed == [], f"okd-release {' '.join(path)}: options without help"


@pytest.mark.parametrize(("args", "message"), [
    (["info", "--xyzzy"], "No such option '--xyzzy'. (see 'okd-release info --help')"),
    (["bogus"], "No such command 'bogus'. (see 'okd-release --help')"),
    (["image", "nope"], "No such command 'nope'. (see 'okd-release image --help')"),
    (["image", "info", "--xyzzy", "x"], "No such option '--xyzzy'. (see 'okd-release image info --help')"),
    (["mirror", "-o", "table"], "Invalid value for '-o' / '--output': 'table' is not one of 'json', 'yaml'. "
                                "(see 'okd-release mirror --help')"),
    (["completion"], "Missing argument 'SHELL'. Choose from: bash, zsh, fish (see 'okd-release completion --help')"),
    (["mirror", "--max-per-registry", "0"], "Invalid value for '--max-per-registry': 0 is not in the range 1<=x<=64. "
                                            "(see 'okd-release mirror --help')"),
], ids=["unknown option", "unknown command", "unknown subcommand", "subcommand option", "bad choice",
        "missing argument", "out of range"])
def test_a_usage_error_is_one_line_and_exits_1_like_oc(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 1
    assert result.stderr == f"error: {message}\n"
    assert result.stdout == ""


def test_a_group_without_a_command_shows_its_help_and_succeeds_like_oc() -> None:
    result = run("image")
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: okd-release image [OPTIONS] COMMAND [ARGS]...")
    assert "  mirror " in result.stdout


@pytest.mark.parametrize(("shell", "hook"), [
    ("bash", "complete -o nosort -F _okd_release_completion okd-release"),
    ("zsh", "#compdef okd-release"),
    ("fish", "complete --no-files --command okd-release"),
])
def test_completion_prints_the_script_for_each_shell(shell: str, hook: str) -> None:
    result = run("completion", shell)
    assert result.returncode == 0, result.stderr
    assert hook in result.stdout
    assert f"_OKD_RELEASE_COMPLETE={shell}_complete" in result.stdout  # it calls okd-release back


def test_completion_script_calls_back_for_the_commands_and_options_of_okd_release() -> None:
    commands = run(env={"_OKD_RELEASE_COMPLETE": "bash_complete", "COMP_WORDS": "okd-release mi", "COMP_CWORD": "1"})
    assert commands.stdout.splitlines() == ["plain,mirror"]
    options = run(env={"_OKD_RELEASE_COMPLETE": "bash_complete", "COMP_WORDS": "okd-release mirror --to-",
                       "COMP_CWORD": "2"})
    assert sorted(options.stdout.splitlines()) == ["plain,--to-dir", "plain,--to-image-stream", "plain,--to-mirror",
                                                  "plain,--to-release-image"]


def _troff(text: str) -> str:
    return text.replace("\\", "\\e").replace("-", "\\-")


def _section(page: str, title: str) -> list[str]:
    lines = page.split("\n")
    start = lines.index(f".SH {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(".SH ")), len(lines))
    return lines[start:end]


def _options_on(page: str) -> set[str]:
    """The option names of the OPTIONS section: each `.TP` is followed by `\\fB-o, --output [json|yaml]\\fR`."""
    options = _section(page, "OPTIONS")
    entries = [options[i + 1].removeprefix("\\fB").split("\\fR")[0].replace("\\-", "-")
               for i, line in enumerate(options) if line == ".TP"]
    return {part.split(" ")[0] for entry in entries for part in entry.replace(" / ", ", ").split(", ")}


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_the_man_page_of_a_command_names_every_option_and_shows_the_examples(path: tuple[str, ...],
                                                                           command: click.Command) -> None:
    page = pages(cli)[f"{'-'.join(('okd-release', *path))}.1"]
    assert page.startswith(f'.TH "{"-".join(("OKD-RELEASE", *path)).upper()}" "1"')
    expected = {name for option in command.params if isinstance(option, click.Option)
                for name in (*option.opts, *option.secondary_opts)} | {"-h", "--help"}
    assert _options_on(page) == expected
    examples = "\n".join(_section(page, "EXAMPLES"))
    assert _troff(" ".join(("okd-release", *path))) in examples


def test_a_man_page_for_every_command_and_no_other() -> None:
    assert sorted(pages(cli)) == sorted(f"{'-'.join(('okd-release', *path))}.1" for path, _ in COMMANDS)


def test_the_committed_man_pages_are_those_the_commands_generate() -> None:
    committed = {path.name: path.read_text() for path in MAN_DIR.glob("okd-release*.1")}
    assert committed == pages(cli), "docs/man is out of date with the commands' help: run dev/man"
