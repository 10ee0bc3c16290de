"""`okd-release extract`: manifests, one file, or the client and installer binaries."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from okd_release.cli.common import handle_errors, make_registries, registry_options
from okd_release.cli.history import extract_git_options
from okd_release.content import Platform
from okd_release.errors import ConfigError
from okd_release.release.extract.manifests import extract_manifests, manifest_file
from okd_release.release.extract.tools import extract_tools, select_targets
from okd_release.release.payload.source import open_payload_dir, open_release


@click.command("extract")
@click.argument("image", required=False)
@click.option("--from", "from_", help="The release image (instead of the IMAGE argument, as oc accepts).")
@click.option("--from-dir", type=click.Path(file_okay=False), help="Read the payload from a directory.")
@click.option("--to", "to", default=".", show_default=True, type=click.Path(file_okay=False), help="Directory to write to.")
@click.option("--file", "file_name", help="Write this one file of release-manifests to stdout.")
@click.option("--tools", is_flag=True, help="Write the client and installer archives for every OS and architecture.")
@click.option("--command", help="Write this binary (oc, openshift-install, ...).")
@click.option("--command-os", help="OS for --command: linux, mac, windows, linux/arm64, mac/arm64, or '*' for all.")
@click.option("--filter-by-os", help="For a multi-arch release, the platform whose payload to read (os/arch).")
@extract_git_options
@registry_options
@handle_errors
def extract_command(image: str | None, from_: str | None, from_dir: str | None, to: str, file_name: str | None, tools: bool,
                    command: str | None, command_os: str | None, filter_by_os: str | None,
                    registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Extract the contents of a release: its manifests (default), one file, or its tools.

    By default every file of the payload's release-manifests directory is written to --to. --file prints
    one of them. --command writes one binary (oc, openshift-install, ...) for --command-os, and --tools
    the client and installer archives for every OS with a sha256sum.txt; the installer is pinned to the
    release it came from, so it installs exactly that release. Nothing is written outside --to.

    \b
    Examples:
      # Write the release's manifests to a directory
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to manifests/

    \b
      # Print one file of the payload
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --file image-references

    \b
      # The installer for Linux, pinned to install this release
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --command openshift-install --command-os linux --to bin/

    \b
      # The client and installer archives for every OS and architecture
      okd-release extract quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --tools --to tools/
    """
    image = image or from_
    if not image and not from_dir:
        raise ConfigError("give a release image or --from-dir")
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        # extract --to streams the manifests from the payload layer: only --file needs them in memory
        release = open_payload_dir(Path(from_dir)) if from_dir else \
            open_release(registries, image or "", platform, with_manifests=bool(file_name))
        if file_name:
            sys.stdout.buffer.write(manifest_file(release, file_name))
            return
        if tools or command:
            targets, as_archives = select_targets(release, command, command_os)
            for tool in extract_tools(registries, release, targets, as_archives, Path(to)):
                for marker in tool.missing_markers:
                    click.echo(f"warning: {tool.path.name}: no {marker} marker to replace", err=True)
                click.echo(f"{tool.path}")
            return
        result = extract_manifests(release, Path(to))
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"info: extracted {len(result.written)} files to {to}", err=True)
