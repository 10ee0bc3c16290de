"""`okd-release demo`: the whole tool on a throwaway local registry, each step shown as the command a user runs."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from okd_release.cli import declare
from okd_release.cli.common import handle_errors
from okd_release.cli.demo_loop import contributor_loop
from okd_release.cli.output import echo
from okd_release.errors import OkdReleaseError
from okd_release.testing import localregistry

NUL = b"\x00"


def _run(*args: str, show_lines: int = 40) -> str:
    click.secho(f"\n$ okd-release {shlex.join(args)}", bold=True)
    completed = subprocess.run([sys.executable, "-m", "okd_release", *args], capture_output=True, text=True)
    lines = (completed.stdout + completed.stderr).rstrip().splitlines()
    for line in lines[:show_lines]:
        echo(line)
    if len(lines) > show_lines:
        echo(f"... ({len(lines) - show_lines} more lines)")
    if completed.returncode != 0:
        raise OkdReleaseError(f"demo step failed: okd-release {shlex.join(args)}")
    return completed.stdout.strip()


@declare.command("demo")
@declare.option("--keep", is_flag=True, help="Leave the registries running and the files in place at the end.")
@handle_errors
def demo_command(keep: bool) -> None:
    """Start a throwaway registry, push a sample release, then run info, new, extract and mirror on it.

    Each step is shown as the command a user would type, with its output. Needs the docker-registry
    program (Debian package docker-registry).

    \b
    Examples:
      # Run the demo, and clean up afterwards
      okd-release demo

    \b
      # Run it and leave the registries and files for exploring
      okd-release demo --keep
    """
    work = Path(tempfile.mkdtemp(prefix="okd-release-demo-"))
    source = localregistry.start(work / "source")
    mirror = localregistry.start(work / "mirror")
    echo(f"Started docker-registry on {source.host} (source) and {mirror.host} (mirror); files in {work}")
    try:
        stream = work / "image-stream.json"
        _run("sample", "--insecure", "--to", f"{source.host}/okd/content", "--image-stream-file", str(stream))
        built = _run("new", "--insecure", "-f", str(stream), "--to-image", f"{source.host}/okd/release:4.15.0-0.okd-sample",
                     "--name", "4.15.0-0.okd-sample", "--previous", "4.14.0")
        release = f"{source.host}/okd/release@{built.split()[0]}"  # new prints `sha256:D NAME CREATED`, as oc
        _run("info", "--insecure", release)
        _run("info", "--insecure", "--commit-urls", release, show_lines=12)
        _run("extract", "--insecure", release, "--to", str(work / "manifests"))
        _run("extract", "--insecure", release, "--command", "openshift-install", "--command-os", "linux",
             "--to", str(work / "bin"))
        pinned = (work / "bin" / "openshift-install").read_bytes()
        start = pinned.index(release.encode())
        value = pinned[start:pinned.index(NUL, start)].decode()
        echo(f"openshift-install now installs: {value}")
        _run("mirror", "--insecure", "--from", release, "--to", f"{mirror.host}/mirror/okd", "--print-mirror-instructions",
             "idms", show_lines=60)
        _run("mirror", "--insecure", "--from", release, "--to", f"{mirror.host}/mirror/okd", "-o", "json", show_lines=20)
        _run("mirror", "--insecure", "--from", release, "--to-dir", str(work / "disk"))
        _run("info", "--insecure", f"{mirror.host}/mirror/okd:4.15.0-0.okd-sample-x86_64", "-o", "pullspec")
        contributor_loop(_run, work, source.host, release)
        click.secho("\nDemo complete.", bold=True)
    finally:
        if keep:
            echo(f"Registries left running on {source.host} and {mirror.host}; files in {work}")
        else:
            source.remove()
            mirror.remove()
            shutil.rmtree(work, ignore_errors=True)
