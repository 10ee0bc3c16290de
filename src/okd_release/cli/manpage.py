"""Man pages (troff, man(7) macros) generated from the click commands themselves, so they say what --help says.

One page per command: okd-release(1), okd-release-info(1), okd-release-image-mirror(1), ... `dev/man` writes them
to docs/man/. A help text's plain paragraphs become the DESCRIPTION, its `\\b` paragraphs from "Examples:" on
(in the help or the epilog) become EXAMPLES, each option is listed as --help shows it (metavar, help, default).
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import click

from okd_release import __version__

VERBATIM = "\b"


def _escape(text: str) -> str:
    """Text safe in troff: backslashes and hyphens escaped, no line starting with a control character."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + line if line.startswith((".", "'")) else line for line in text.split("\n"))


def _paragraphs(help_text: str) -> tuple[list[str], list[str]]:
    """(description paragraphs, example lines) of a click help text."""
    description: list[str] = []
    examples: list[str] = []
    for block in help_text.split("\n\n"):
        # rstrip: Python 3.13 dedents docstrings itself and leaves the closing line's indent, 3.11 does not
        lines = block.rstrip().strip("\n").split("\n")
        if lines and lines[0].strip() == VERBATIM:
            lines = lines[1:]
            if examples or (lines and lines[0].strip() == "Examples:"):
                if examples:
                    examples.append("")
                # each block dedented on its own: how much indent a docstring keeps depends on the Python version
                body = ["" if line.strip() == VERBATIM else line for line in lines if line.strip() != "Examples:"]
                examples.extend(textwrap.dedent("\n".join(body)).split("\n"))
                continue
            description.append("\n".join(lines))
        elif block.strip():
            description.append(" ".join(line.strip() for line in lines))
    return description, examples


def _page(command: click.Command, ctx: click.Context, see_also: list[str]) -> str:
    path = ctx.command_path
    title = path.replace(" ", "-")
    # examples are in the help text (printed before the options, as oc does) or in the epilog (after them)
    description, examples = _paragraphs("\n\n".join(filter(None, (command.help, command.epilog))))
    summary = command.get_short_help_str(limit=200)
    if description and description[0].rstrip(".") == summary.rstrip("."):
        description = description[1:]  # NAME says it already
    out = [
        f'.TH "{title.upper()}" "1" "" "okd-release {__version__}" "okd-release Manual"',
        ".SH NAME",
        f"{_escape(title)} \\- {_escape(summary)}",
        ".SH SYNOPSIS",
        f".B {_escape(path)}",
        _escape(" ".join(command.collect_usage_pieces(ctx))),
    ]
    if description:
        out.append(".SH DESCRIPTION")
        for paragraph in description:
            out += [".PP", _escape(paragraph)] if "\n" not in paragraph else [".PP", ".nf", _escape(paragraph), ".fi"]
    if isinstance(command, click.Group):
        out.append(".SH COMMANDS")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                out += [".TP", f"\\fB{_escape(name)}\\fR", _escape(sub.get_short_help_str(limit=200))]
    options = [record for param in command.get_params(ctx)
               if isinstance(param, click.Option) and (record := param.get_help_record(ctx))]
    if options:
        out.append(".SH OPTIONS")
        for names, help_text in options:
            out += [".TP", f"\\fB{_escape(names)}\\fR", _escape(help_text)]
    if examples:
        out += [".SH EXAMPLES", ".PP", ".nf", ".RS 4", _escape("\n".join(examples)), ".RE", ".fi"]
    if see_also:
        out += [".SH SEE ALSO", ", ".join(f"\\fB{_escape(name)}\\fR(1)" for name in see_also)]
    return "\n".join(out) + "\n"


def pages(root: click.Command, name: str = "okd-release") -> dict[str, str]:
    """Every command's page, as {file name: troff text}: `okd-release.1`, `okd-release-info.1`, ..."""
    found: list[tuple[click.Command, click.Context]] = []

    def walk(command: click.Command, ctx: click.Context) -> None:
        found.append((command, ctx))
        if isinstance(command, click.Group):
            for sub_name in command.list_commands(ctx):
                sub = command.get_command(ctx, sub_name)
                if sub is not None:
                    walk(sub, click.Context(sub, info_name=sub_name, parent=ctx, **sub.context_settings))

    walk(root, click.Context(root, info_name=name, **root.context_settings))
    titles = [ctx.command_path.replace(" ", "-") for _, ctx in found]
    result = {}
    for (command, ctx), title in zip(found, titles, strict=True):
        related = [t for t in titles if t != title and (t.startswith(title + "-") or title.startswith(t + "-")
                                                        or t == name)]
        result[f"{title}.1"] = _page(command, ctx, related)
    return result


def write_pages(directory: Path) -> list[Path]:
    """Write every page into `directory`, removing pages of commands that no longer exist."""
    from okd_release.cli.clicktree import cli

    directory.mkdir(parents=True, exist_ok=True)
    generated = pages(cli)
    for stale in directory.glob("okd-release*.1"):
        if stale.name not in generated:
            stale.unlink()
    written = []
    for file_name, text in sorted(generated.items()):
        (directory / file_name).write_text(text)
        written.append(directory / file_name)
    return written


if __name__ == "__main__":
    for path in write_pages(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/man")):
        print(path)
