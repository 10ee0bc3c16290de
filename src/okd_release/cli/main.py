"""The `okd-release` entry point: a click group whose commands are imported only when they run."""

from __future__ import annotations

import importlib
from typing import Any

import click

from okd_release import __version__

# name -> (module, attribute, one-line help): `okd-release info` imports only what info needs.
COMMANDS = {
    "info": ("okd_release.cli.info", "info_command", "Show a release: metadata, components, images, or what changed."),
    "new": ("okd_release.cli.new", "new_command", "Build a release payload and push it or write it to disk."),
    "extract": ("okd_release.cli.extract", "extract_command", "Write a release's manifests, one file, or its tools."),
    "mirror": ("okd_release.cli.mirror", "mirror_command", "Copy a release and its images to a registry or a directory."),
    "image": ("okd_release.cli.image", "image_group", "Inspect or copy one image or manifest list."),
    "sample": ("okd_release.cli.sample", "sample_command", "Push a synthetic sample release's images (for demos and tests)."),
    "demo": ("okd_release.cli.demo", "demo_command", "Run info, new, extract and mirror on a throwaway local registry."),
}


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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, _, summary) in COMMANDS.items()]
        rows += [(name, command.get_short_help_str()) for name in sorted(super().list_commands(ctx))
                 if (command := super().get_command(ctx, name)) is not None]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okd-release")
def cli() -> None:
    """Inspect, build, extract and mirror OKD/OpenShift release payloads."""


def main(args: Any = None) -> None:
    cli(args)
