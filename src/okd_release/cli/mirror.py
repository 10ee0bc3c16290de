"""`okd-release mirror`: a release and its images to a registry or a directory, and back."""

from __future__ import annotations

from pathlib import Path

import click

from okd_release.cli.common import dump, handle_errors, make_registries, registry_options
from okd_release.cli.table import human_size
from okd_release.cli.terminal import make_progress
from okd_release.content import Platform
from okd_release.release.mirror.instructions import KINDS, cluster_resource, install_config, instructions_text
from okd_release.release.mirror.plan import MirrorOptions, MirrorResult, run_mirror
from okd_release.transfer import IncompleteTransfer


@click.command("mirror")
@click.option("--from", "from_", help="The release to mirror (or file://openshift/release:TAG with --from-dir).")
@click.option("--from-dir", type=click.Path(file_okay=False), help="Upload from this on-disk mirror.")
@click.option("--to", help="Repository to mirror every image into.")
@click.option("--to-release-image", help="Also push the release image here (default: TO:<version>-<arch>).")
@click.option("--to-dir", type=click.Path(file_okay=False), help="Mirror to this directory (for air-gapped transfer).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the bytes to copy; copy nothing.")
@click.option("--max-per-registry", type=click.IntRange(1, 64), default=6, show_default=True,
              help="Concurrent transfers per registry.")
@click.option("--keep-manifest-list", is_flag=True, help="Keep manifest lists whole (the default unless --filter-by-os).")
@click.option("--filter-by-os", help="Mirror only this platform (os/arch) of a multi-arch release.")
@click.option("--print-mirror-instructions", "instructions", type=click.Choice(KINDS), default="icsp", show_default=True,
              help="Print the mirror configuration as an ImageContentSourcePolicy (icsp), an ImageDigestMirrorSet (idms), "
                   "or not at all (none).")
@click.option("--write-mirror-instructions", "instructions_dir", type=click.Path(file_okay=False),
              help="Also write the install-config snippet and the cluster resource as files here.")
@click.option("-o", "--output", type=click.Choice(["json", "yaml"]), help="Print the summary in this format.")
@registry_options
@handle_errors
def mirror_command(from_: str | None, from_dir: str | None, to: str | None, to_release_image: str | None,
                   to_dir: str | None, dry_run: bool, max_per_registry: int, keep_manifest_list: bool,
                   filter_by_os: str | None, instructions: str, instructions_dir: str | None, output: str | None,
                   registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Copy a release and every image it references, resumably, each blob verified.

    Copies the release image and every image named by its image-references into one repository (--to) as
    <version>-<arch> and <version>-<arch>-<name>, or into a directory (--to-dir) in oc's file:// layout,
    which --from-dir later uploads to a registry. Each distinct blob is copied once; blobs the target
    already has are skipped, so running the same command again resumes an interrupted mirror. On success
    it prints the install-config imageContentSources snippet and the ImageContentSourcePolicy (or
    ImageDigestMirrorSet) that point a cluster at the mirror.

    \b
    Examples:
      # Mirror a release and every image it references into a registry
      okd-release mirror --from quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --to mirror.example.com/okd/release -a pull-secret.json

    \b
      # Show what would be copied, and how many bytes, without copying anything
      okd-release mirror --from quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --to mirror.example.com/okd/release --dry-run

    \b
      # Mirror to a directory, carry it across the air gap, then upload it from there
      okd-release mirror --from quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --to-dir /media/usb/okd
      okd-release mirror --from-dir /media/usb/okd --to mirror.internal/okd/release

    \b
      # Write an ImageDigestMirrorSet and the install-config snippet to files
      okd-release mirror --from quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --to mirror.example.com/okd/release --print-mirror-instructions idms --write-mirror-instructions ./mirror
    """
    options = MirrorOptions(
        from_=from_, from_dir=Path(from_dir) if from_dir else None, to=to, to_release_image=to_release_image,
        to_dir=Path(to_dir) if to_dir else None, dry_run=dry_run, max_per_registry=max_per_registry,
        filter_by_os=Platform.parse(filter_by_os) if filter_by_os else None,
    )
    with make_registries(registry_config, insecure, ca_file, loglevel, max_connections=max_per_registry * 2 + 4) \
            as registries:
        progress = make_progress(quiet=bool(output) or dry_run)
        try:
            with progress:
                result = run_mirror(registries, options, progress)
        except IncompleteTransfer as error:
            if output:  # what was copied and what failed, before the one-line error
                dump(error.summary.as_dict(), output)
            raise
    if output:
        dump(_summary(result), output)
        return
    if dry_run:
        _print_plan(result)
        return
    _print_summary(result)
    click.echo(f"\nSuccess\nUpdate image:  {result.release_target}")
    if to:
        click.echo(f"Mirror prefix: {to}")
        click.echo(instructions_text(result.sources, instructions), nl=False)
    if to_dir:
        click.echo("\nTo upload the mirror to a registry, run:\n\n"
                   f"    okd-release mirror --from-dir={to_dir} --to=REGISTRY/REPOSITORY\n")
    if instructions_dir and result.sources and instructions != "none":
        directory = Path(instructions_dir)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "install-config-mirrors.yaml").write_text(install_config(result.sources, instructions))
        name = "imagedigestmirrorset.yaml" if instructions == "idms" else "imagecontentsourcepolicy.yaml"
        (directory / name).write_text(cluster_resource(result.sources, instructions))
        click.echo(f"info: wrote mirror configuration to {directory}", err=True)


def _summary(result: MirrorResult) -> dict[str, object]:
    return {"release": result.release.pullspec, "releaseTarget": result.release_target, **result.summary.as_dict(),
            "mirrors": [{"source": s.source, "mirrors": list(s.mirrors)} for s in result.sources]}


def _print_plan(result: MirrorResult) -> None:
    for copy in result.copies:
        tags = ",".join(copy.tags)
        click.echo(f"{copy.source}@{copy.source_ref} -> {copy.target}{':' + tags if tags else ''}")
    summary = result.summary
    click.echo(f"dry run: {summary.images} images, {summary.blobs_missing} of {summary.blobs_total} blobs to copy, "
               f"{human_size(summary.bytes_missing)} of {human_size(summary.bytes_total)}")


def _print_summary(result: MirrorResult) -> None:
    s = result.summary
    rate = s.bytes_copied / s.seconds if s.seconds else 0
    click.echo(f"info: mirrored {s.images} images in {s.seconds:.1f}s: blobs {s.blobs_copied} copied, "
               f"{s.blobs_skipped} already present, {s.blobs_mounted} mounted; {human_size(s.bytes_copied)} copied "
               f"({human_size(int(rate))}/s), {s.retries} retries", err=True)
