"""The demo's contributor's loop: find an image's source, change it, rebuild the image, swap it into a release,
and read the changelog between the two releases. The upstream repository is a local one made here."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable
from pathlib import Path

import click

from okd_release.cli.output import echo
from okd_release.image.build import image_config, push_image
from okd_release.image.layer import LayerEntry, build_layer
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.release.payload.model import ANNOTATION_COMMIT, ANNOTATION_SOURCE
from okd_release.stores import RegistryStore

_IDENTITY = {"GIT_AUTHOR_NAME": "Demo Contributor", "GIT_AUTHOR_EMAIL": "demo@example.com",
             "GIT_COMMITTER_NAME": "Demo Contributor", "GIT_COMMITTER_EMAIL": "demo@example.com",
             "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}


def _git(directory: Path, *args: str, shown: bool = True) -> str:
    if shown:
        click.secho(f"\n$ git -C {shlex.quote(directory.name)} {shlex.join(args)}", bold=True)
    completed = subprocess.run(["git", *args], cwd=directory, env={**os.environ, **_IDENTITY}, check=True,
                               capture_output=True, text=True)
    return completed.stdout.strip()


def _push_console(host: str, upstream: str, commit: str, work: Path) -> str:
    """The console image as a build would make it: its program, and labels naming its source and commit."""
    layer = build_layer([LayerEntry.file("opt/bridge/bin/bridge", f"console built from {commit}\n".encode(), 0o755)], work)
    config = image_config([layer], {ANNOTATION_SOURCE: upstream, ANNOTATION_COMMIT: commit}, "2024-01-01T00:00:00Z")
    with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
        manifest = push_image(RegistryStore(registries.client(host)), "okd/console-dev", commit[:12], [layer], config)
    layer.path.unlink()
    echo(f"(built and pushed {host}/okd/console-dev:{commit[:12]}, labelled with its source and commit)")
    return f"{host}/okd/console-dev@{manifest.digest}"


def contributor_loop(run: Callable[..., str], work: Path, host: str, release: str) -> None:
    """source → clone at the release's commit → change, merged as a pull request → rebuild → new → changelog."""
    click.secho("\nThe contributor's loop: from an image to its code, and a changed image back into a release", bold=True)
    upstream = work / "upstream" / "console"
    upstream.mkdir(parents=True)
    _git(upstream, "init", "--quiet", "--initial-branch=main", shown=False)
    (upstream / "login.ts").write_text("redirect('/old')\n")
    _git(upstream, "add", "login.ts", shown=False)
    _git(upstream, "commit", "--quiet", "-m", "Console login", shown=False)
    first = _git(upstream, "rev-parse", "HEAD", shown=False)
    url = f"file://{upstream}"
    built = run("new", "--insecure", "--from-release", release, "--name", "4.15.1", "--to-image",
                f"{host}/okd/release:4.15.1", f"console={_push_console(host, url, first, work)}")
    base = f"{host}/okd/release@{built.split()[0]}"  # new prints `sha256:D NAME CREATED`, as oc
    run("source", "--insecure", "console", base)
    clone = work / "console"
    _git(work, "clone", "--quiet", url, "console")
    _git(clone, "checkout", "--quiet", "--detach", first)
    _git(clone, "checkout", "--quiet", "-b", "fix-login")
    (clone / "login.ts").write_text("redirect('/console')\n")
    _git(clone, "commit", "--quiet", "-am", "Fix the login redirect")
    _git(clone, "push", "--quiet", "origin", "fix-login")
    echo("(the pull request is reviewed and merged upstream)")
    _git(upstream, "merge", "--quiet", "--no-ff", "fix-login", "-m", "Merge pull request #42 from demo/fix-login",
         "-m", "OCPBUGS-42: fix the login redirect", shown=False)
    merged = _git(upstream, "rev-parse", "HEAD", shown=False)
    built = run("new", "--insecure", "--from-release", base, "--name", "4.15.2", "--previous", "4.15.1",
                "--to-image", f"{host}/okd/release:4.15.2", f"console={_push_console(host, url, merged, work)}")
    changed = f"{host}/okd/release@{built.split()[0]}"
    run("info", "--insecure", "--changes-from", base, changed, "--changelog", str(work / "sources"))
    run("info", "--insecure", "--changes-from", base, changed, "--bugs", str(work / "sources"))
