"""`okd-release mirror`: a release and its images to a registry or a directory, and back."""

from __future__ import annotations

from pathlib import Path

from okd_release import reference as references
from okd_release.cli import declare
from okd_release.cli.common import dump, handle_errors, make_registries, mirror_config_options, registry_options
from okd_release.cli.output import echo
from okd_release.cli.progress import make_progress
from okd_release.cli.table import human_size
from okd_release.errors import ConfigError
from okd_release.release.mirror.instructions import KINDS, cluster_resource, install_config, instructions_text
from okd_release.release.mirror.plan import MirrorOptions, MirrorResult, plan_mirror, run_mirror
from okd_release.transfer import Endpoint, IncompleteTransfer

# oc's flags that need a cluster or that okd-release does not do: each is refused in one line
_REFUSED = {
    "to_image_stream": "--to-image-stream imports into an image stream on a cluster, which okd-release does not do; "
                       "use --to",
    "overwrite": "--overwrite applies to --apply-release-image-signature (a cluster), which okd-release does not do",
    "apply_release_image_signature": "--apply-release-image-signature needs a cluster, which okd-release does not use",
}


@declare.command("mirror")
@declare.argument("release", required=False)
@declare.option("--from", "from_", multiple=True,
                help="The release to mirror (or file://openshift/release:TAG with --from-dir); repeat it to mirror "
                     "several releases (an upgrade path) in one run: each blob once, one mirror configuration.")
@declare.option("--from-file", type=declare.Path(dir_okay=False, exists=True),
                help="A file naming releases to mirror, one a line (# starts a comment), as --from repeated.")
@declare.option("--from-dir", type=declare.Path(file_okay=False),
                help="Upload from this on-disk mirror (written by okd-release or by oc).")
@declare.option("--to", help="Repository to mirror every image into (or file://REPOSITORY with --to-dir).")
@declare.option("--to-release-image", help="Push the release image here instead of TO:<version>-<arch>.")
@declare.option("--to-dir", type=declare.Path(file_okay=False), help="Mirror to this directory (for air-gapped transfer).")
@declare.option("--since", type=declare.Path(exists=True),
                help="With --to-dir: write only what this earlier disk mirror (its directory, or its "
                     "okd-release-mirror.json) lacks; --from-dir later checks the target holds the rest.")
@declare.option("--skip-release-image", is_flag=True, help="Do not push the release image.")
@declare.option("--to-mirror", is_flag=True, help="Print the source and target of each image instead of mirroring.")
@declare.option("--dry-run", is_flag=True, help="Print what would be mirrored and the bytes to copy; copy nothing.")
@declare.option("--max-per-registry", type=declare.IntRange(1, 64), default=6, show_default=True,
                help="Concurrent transfers per registry.")
@declare.option("--keep-manifest-list", is_flag=True,
                help="Tag a multi-arch release <version>-multi, copying every manifest list whole.")
@declare.option("--filter-by-os",
                help="A regular expression over os/arch[/variant]: copy each manifest list as its one matching image; "
                     "it also chooses the release image whose payload is read (default: this machine's platform).")
@declare.option("--print-mirror-instructions", "instructions", type=declare.Choice(KINDS), default="icsp", show_default=True,
                help="Print the mirror configuration as an ImageContentSourcePolicy (icsp), an ImageDigestMirrorSet (idms), "
                     "or not at all (none).")
@declare.option("--write-mirror-instructions", "instructions_dir", type=declare.Path(file_okay=False),
                help="Also write the install-config snippet and the cluster resource as files here.")
@declare.option("--release-image-signature-to-dir", "signature_dir", type=declare.Path(file_okay=False),
                help="Export the release's verified signatures here as a ConfigMap file, as oc does "
                     "(default: <to-dir>/config with --to-dir).")
@declare.option("--allow-unverified", is_flag=True,
                help="Mirror a release whose signatures fail verification (by default that stops the mirror).")
@declare.option("--to-image-stream", help="oc's import into a cluster's image stream: refused (use --to).")
@declare.option("--overwrite", is_flag=True, help="oc's update of a signature ConfigMap on a cluster: refused.")
@declare.option("--apply-release-image-signature", is_flag=True,
                help="oc's creation of the signature ConfigMap on a cluster: refused.")
@declare.option("-o", "--output", type=declare.Choice(["json", "yaml"]), help="Print the summary in this format.")
@mirror_config_options
@registry_options
@handle_errors
def mirror_command(release: str | None, from_: tuple[str, ...], from_file: str | None, from_dir: str | None,
                   to: str | None, to_release_image: str | None, to_dir: str | None, since: str | None,
                   skip_release_image: bool, to_mirror: bool,
                   dry_run: bool, max_per_registry: int, keep_manifest_list: bool, filter_by_os: str | None,
                   instructions: str, instructions_dir: str | None, signature_dir: str | None, allow_unverified: bool,
                   to_image_stream: str | None, overwrite: bool,
                   apply_release_image_signature: bool, output: str | None, registry_config: str | None,
                   insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Copy a release and every image it references, resumably, each blob verified.

    Copies the release image and every image named by its image-references into one repository (--to) as
    <version>-<arch> and <version>-<arch>-<name>, or into a directory (--to-dir) in oc's file:// layout,
    which --from-dir (here or in oc) later uploads to a registry; okd-release uploads directories oc wrote
    too. Each distinct blob is copied once; blobs the target already has are skipped, so running the same
    command again resumes an interrupted mirror, and the release is pushed last, once every image it
    references is complete. Prints each image as it is pushed, then, as oc does, the install-config
    imageContentSources snippet and the ImageContentSourcePolicy (or ImageDigestMirrorSet) that point a
    cluster at the mirror.

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
    for name, value in (("to_image_stream", to_image_stream), ("overwrite", overwrite),
                        ("apply_release_image_signature", apply_release_image_signature)):
        if value:
            raise ConfigError(_REFUSED[name])
    if release and from_:
        raise ConfigError("you may not specify an argument and --from")
    releases = [*from_, *([release] if release else [])]
    options = MirrorOptions(
        from_=releases[0] if releases else None, more_from=tuple(releases[1:]),
        from_file=Path(from_file) if from_file else None, since=Path(since) if since else None,
        from_dir=Path(from_dir) if from_dir else None, to=to,
        to_release_image=to_release_image, to_dir=Path(to_dir) if to_dir else None,
        skip_release_image=skip_release_image, dry_run=dry_run, max_per_registry=max_per_registry,
        keep_manifest_list=keep_manifest_list, filter_by_os=filter_by_os,
        release_image_signature_to_dir=Path(signature_dir) if signature_dir else None, allow_unverified=allow_unverified,
    )
    with make_registries(registry_config, insecure, ca_file, loglevel, max_connections=max_per_registry * 2 + 4) \
            as registries:
        if to_mirror:
            plan = plan_mirror(registries, options)
            for index, copy in enumerate(plan.copies):
                source = (str(references.parse(options.from_)) if index == 0 and copy.name == "release"
                          and options.from_ and not options.more_from else
                          f"{copy.source.store.reference_name(copy.source.repository)}@{copy.source_ref}")
                target = copy.target.store.reference_name(copy.target.repository)
                echo(f"{source} {target}{':' + copy.tags[0] if copy.tags else ''}")
            return
        progress = make_progress(quiet=bool(output) or dry_run)
        try:
            with progress:
                result = run_mirror(registries, options, progress, None if output else _print_pushed)
        except IncompleteTransfer as error:
            if output:  # what was copied and what failed, before the one-line error
                dump(error.summary.as_dict(), output)
            raise
    if output:
        dump(_summary(result), output)
        return
    if dry_run:
        _print_plan(result)
    else:
        _print_summary(result)
    echo(_success_text(result, instructions, to_dir), nl=False)
    for each in [result, *result.more]:
        _print_signatures(each)
    if result.to_disk and not dry_run:
        echo("info: okd-release uploads it with: okd-release mirror "
                   f"--from-dir={to_dir or '.'} --to=REGISTRY/REPOSITORY", err=True)
    if instructions_dir and result.sources and instructions != "none":
        directory = Path(instructions_dir)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "install-config-mirrors.yaml").write_text(install_config(result.sources, instructions))
        name = "imagedigestmirrorset.yaml" if instructions == "idms" else "imagecontentsourcepolicy.yaml"
        (directory / name).write_text(cluster_resource(result.sources, instructions))
        echo(f"info: wrote mirror configuration to {directory}", err=True)


def _print_signatures(result: MirrorResult) -> None:
    """oc's lines for exported signatures (stdout), and why a release is unverified (stderr)."""
    if result.signatures is not None and result.signatures.warning:
        echo(f"warning: {result.signatures.warning}", err=True)
    if result.signature_file is not None:
        if not result.to_disk:
            echo(f"\n\nTo apply signature configmaps use 'oc apply' on files found in {result.signature_file.parent}\n")
        echo(f"Configmap signature file {result.signature_file} created")


def _print_pushed(target: Endpoint, reference: str, digest: str) -> None:
    """oc's line per manifest pushed: `<digest> <repository>:<tag>`, or `<digest> <repository>` by digest."""
    name = target.store.reference_name(target.repository)
    echo(f"{digest} {name}" if reference == digest else f"{digest} {name}:{reference}")


def _success_text(result: MirrorResult, instructions: str, to_dir: str | None) -> str:
    """What oc prints once the mirror is done (and after a dry run)."""
    text = "\nSuccess\n" + "".join(f"Update image:  {each.update_image}\n" for each in [result, *result.more])
    text += "".join(f"Mirror prefix: {prefix}\n" for prefix in result.mirror_prefixes)
    if result.to_disk:
        where = f"--from-dir={to_dir} " if to_dir else ""
        return text + ("\nTo upload local images to a registry, run:\n\n"
                       f"    oc image mirror {where}'file://{result.update_image}*' REGISTRY/REPOSITORY\n\n")
    return text + instructions_text(result.sources, instructions)


def _summary(result: MirrorResult) -> dict[str, object]:
    return {"release": result.release.pullspec, "releaseTarget": result.release_target, **result.summary.as_dict(),
            "mirrors": [{"source": s.source, "mirrors": list(s.mirrors)} for s in result.sources]}


def _print_plan(result: MirrorResult) -> None:
    """A dry run's plan, on stderr as oc prints its plan: each image's source and target, and what is missing."""
    for copy in result.copies:
        tags = ",".join(copy.tags)
        echo(f"{copy.source}@{copy.source_ref} -> {copy.target}{':' + tags if tags else ''}", err=True)
    summary = result.summary
    echo(f"dry run: {summary.images} images, {summary.blobs_missing} of {summary.blobs_total} blobs to copy, "
               f"{human_size(summary.bytes_missing)} of {human_size(summary.bytes_total)}", err=True)


def _print_summary(result: MirrorResult) -> None:
    s = result.summary
    rate = s.bytes_copied / s.seconds if s.seconds else 0
    present = f" ({s.images_present} already complete)" if s.images_present else ""
    echo(f"info: mirrored {s.images} images{present} in {s.seconds:.1f}s: blobs {s.blobs_copied} copied, "
               f"{s.blobs_skipped} already present, {s.blobs_mounted} mounted; {human_size(s.bytes_copied)} copied "
               f"({human_size(int(rate))}/s), {s.retries} retries", err=True)
