"""The `okd-release` entry point: a click group with one module per command."""

from __future__ import annotations

import click

from okd_release import __version__
from okd_release.cli.demo import demo_command
from okd_release.cli.extract import extract_command
from okd_release.cli.image import image_group
from okd_release.cli.info import info_command
from okd_release.cli.mirror import mirror_command
from okd_release.cli.release_new import new_command, sample_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="okd-release")
def cli() -> None:
    """Inspect, build, extract and mirror OKD/OpenShift release payloads."""


cli.add_command(image_group)
cli.add_command(new_command)
cli.add_command(info_command)
cli.add_command(extract_command)
cli.add_command(mirror_command)
cli.add_command(demo_command)
cli.add_command(sample_command)


def main() -> None:
    cli()
