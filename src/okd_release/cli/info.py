"""`okd-release info`: the views of a release payload, and what changed between two."""

from __future__ import annotations

from pathlib import Path

import click

from okd_release.cli.common import dump, handle_errors, make_registries, registry_options
from okd_release.cli.table import columns, human_size
from okd_release.content import Platform
from okd_release.errors import ConfigError
from okd_release.registry.session import Registries
from okd_release.release.info.describe import ReleaseInfo, describe
from okd_release.release.info.diff import ReleaseDiff, diff_releases
from okd_release.release.payload.source import ReleaseImage, open_payload_dir, open_release


def _open(registries: Registries, text: str | None, from_dir: str | None, platform: Platform | None) -> ReleaseImage:
    if from_dir:
        return open_payload_dir(Path(from_dir))
    assert text is not None
    return open_release(registries, text, platform)


@click.command("info")
@click.argument("images", nargs=-1, metavar="[RELEASE] [OTHER]")
@click.option("--from-dir", type=click.Path(file_okay=False), help="Read the payload from a directory.")
@click.option("--changes-from", help="Show what changed from this older release.")
@click.option("--pullspecs", is_flag=True, help="Show each image's pull spec.")
@click.option("--commits", is_flag=True, help="Show each image's source repository and commit.")
@click.option("--commit-urls", is_flag=True, help="Show a link to each image's commit.")
@click.option("--size", is_flag=True, help="Show each image's size and the total (shared layers counted once).")
@click.option("--contents", is_flag=True, help="Show every file of release-manifests (with --changes-from: diffs).")
@click.option("--image-for", help="Print the pull spec of this image of the release.")
@click.option("--filter-by-os", help="For a multi-arch release, the platform to show (os/arch).")
@click.option("-o", "--output", type=click.Choice(["json", "yaml", "name", "pullspec", "digest"]),
              help="Print the release (or the changes) as json or yaml, or only its name, pullspec or digest.")
@registry_options
@handle_errors
def info_command(images: tuple[str, ...], from_dir: str | None, changes_from: str | None, pullspecs: bool,
                 commits: bool, commit_urls: bool, size: bool, contents: bool, image_for: str | None,
                 filter_by_os: str | None, output: str | None, registry_config: str | None, insecure: bool,
                 ca_file: str | None, loglevel: int) -> None:
    """Show a release payload: metadata, component versions, images; or the differences between two.

    Shows the release's name, digest, creation time, OS/arch, release metadata (version, the versions it
    upgrades from) and the component versions it declares, then each image with its digest. --pullspecs,
    --commits, --commit-urls and --size change the image table; --contents prints every file of the payload.
    Given two releases (or --changes-from), it shows what changed between them: images, component versions
    and manifests. A multi-arch release shows its manifest list; --filter-by-os chooses the payload shown.

    \b
    Examples:
      # Show a release
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # Show the source repository and commit of each image, as links
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --commit-urls

    \b
      # Show what changed between two releases
      okd-release info quay.io/openshift/okd:4.14.0-0.okd-2024-01-26-175629 \\
        quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116

    \b
      # Print the pull spec of one image of the release
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --image-for cli

    \b
      # The release as JSON, for scripts
      okd-release info quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 -o json
    """
    if len(images) > 2 or (not images and not from_dir):
        raise ConfigError("give one release (or --from-dir), or two releases to compare")
    if len(images) == 2:
        changes_from, images = images[0], images[1:]
    platform = Platform.parse(filter_by_os) if filter_by_os else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        release = _open(registries, images[0] if images else None, from_dir, platform)
        info = describe(release, registries, commits=commits or commit_urls or bool(changes_from), sizes=size,
                        contents=contents)
        if image_for:
            click.echo(info.image(image_for).pullspec)
            return
        if changes_from:
            old_release = open_release(registries, changes_from, platform)
            old = describe(old_release, registries, commits=True)
            difference = diff_releases(old, info, old_release.payload.files(), release.payload.files(), contents)
            _print_diff(difference, output)
            return
    _print_info(info, output, pullspecs, commits, commit_urls, size, contents)


def _print_info(info: ReleaseInfo, output: str | None, pullspecs: bool, commits: bool, commit_urls: bool,
                size: bool, contents: bool) -> None:
    if output in ("json", "yaml"):
        value = info.as_dict()
        if contents:
            value["files"] = {name: data.decode(errors="replace") for name, data in info.files.items()}
        dump(value, output)
        return
    if output:
        click.echo({"name": info.version, "pullspec": info.pull_from, "digest": info.digest}[output])
        return
    if contents:
        for name, data in sorted(info.files.items()):
            click.echo(f"# {name}")
            click.echo(data.decode(errors="replace").rstrip("\n"))
        return
    for line in _header(info):
        click.echo(line)
    click.echo("\nImages:")
    if size:
        rows = [["NAME", "LAYERS", "SIZE"]] + [[i.name, str(len(i.layers)), human_size(i.size or 0)] for i in info.images]
    elif commit_urls:
        rows = [["NAME", "URL"]] + [[i.name, i.commit_url] for i in info.images]
    elif commits:
        rows = [["NAME", "REPO", "COMMIT"]] + [[i.name, i.source, i.commit] for i in info.images]
    elif pullspecs:
        rows = [["NAME", "PULL SPEC"]] + [[i.name, i.pullspec] for i in info.images]
    else:
        rows = [["NAME", "DIGEST"]] + [[i.name, i.digest] for i in info.images]
    for line in columns(rows):
        click.echo(line)
    if size and info.total_size is not None:
        layers = len({d for i in info.images for d, _ in i.layers})
        click.echo(f"\n  {human_size(info.total_size)} across {layers} layers")
    if info.warnings:
        click.echo("\nWarnings:")
        for warning in info.warnings:
            click.echo(f"* {warning}")


def _header(info: ReleaseInfo) -> list[str]:
    lines = columns([["Name:", info.version], ["Digest:", info.digest], ["Created:", info.created],
                     ["OS/Arch:", info.platform], ["Manifests:", str(info.manifests)]], indent="")
    lines += ["", f"Pull From: {info.pull_from}"]
    if info.platforms:
        lines += ["", "Manifest List:"] + columns([[p, d] for p, d in info.platforms])
    lines += ["", "Release Metadata:"]
    lines += columns([["Version:", info.version], ["Upgrades:", ", ".join(info.upgrades) or "<none>"]])
    if info.metadata:
        lines.append("  Metadata:")
        lines += columns([[f"{k}:", str(v)] for k, v in sorted(info.metadata.items())], indent="    ")
    if info.component_versions:
        lines += ["", "Component Versions:"]
        lines += columns([[v.name, v.version, v.display_name] for v in info.component_versions])
    return lines


def _print_diff(difference: ReleaseDiff, output: str | None) -> None:
    if output in ("json", "yaml"):
        dump(difference.as_dict(), output)
        return
    click.echo(f"# {difference.new_version} (changes from {difference.old_version})")
    click.echo(f"\nFrom: {difference.old}\nTo:   {difference.new}")
    if difference.versions_changed:
        click.echo("\nComponent Versions:")
        for line in columns([[v.name, v.old or "<none>", "->", v.new or "<none>"] for v in difference.versions_changed]):
            click.echo(line)
    click.echo("\nImages:")
    if not (difference.images_added or difference.images_removed or difference.images_changed):
        click.echo("  no changes")
    for name in difference.images_added:
        click.echo(f"  added    {name}")
    for name in difference.images_removed:
        click.echo(f"  removed  {name}")
    rows = [[c.name, c.old_digest, "->", c.new_digest, c.compare_url or c.commit_url] for c in difference.images_changed]
    if rows:
        click.echo("  changed:")
        for line in columns(rows, indent="    "):
            click.echo(line)
    click.echo("\nManifests:")
    if not (difference.manifests_added or difference.manifests_removed or difference.manifests_changed):
        click.echo("  no changes")
    for label, names in (("added", difference.manifests_added), ("removed", difference.manifests_removed),
                         ("changed", difference.manifests_changed)):
        for name in names:
            click.echo(f"  {label:<8} {name}")
    for text in difference.manifest_diffs.values():
        click.echo(f"\n{text.rstrip()}")
