"""`okd-release new`: build a release payload and push or write it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from okd_release import reference as references
from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, registry_options
from okd_release.cli.output import echo
from okd_release.cli.progress import make_progress
from okd_release.errors import ConfigError
from okd_release.release.new.plan import NewOptions, plan_release
from okd_release.release.new.publish import check_reproduced, push_release, release_digest, write_to_dir, write_to_file


def _split(values: tuple[str, ...]) -> list[str]:
    return [item for value in values for item in value.split(",") if item]


@declare.command("new")
@declare.argument("replacements", nargs=-1, metavar="[NAME=IMAGE ...]")
@declare.option("-f", "--from-image-stream-file", type=declare.Path(dir_okay=False), help="Build from this ImageStream file.")
@declare.option("--from-release", help="Build from an existing release image (its image-references).")
@declare.option("--from-dir", type=declare.Path(file_okay=False),
                help="Build from a directory: one subdirectory of manifests per operator, and image-references.")
@declare.option("--mapping-file", "mapping_files", multiple=True, type=declare.Path(dir_okay=False),
                help="File of NAME=IMAGE mappings (space separated, # comments).")
@declare.option("--to-image", help="Push the release image here.")
@declare.option("--to-file", type=declare.Path(dir_okay=False), help="Write the payload as a tar.gz file.")
@declare.option("--to-dir", type=declare.Path(file_okay=False), help="Write the release-manifests to this directory.")
@declare.option("--dry-run", is_flag=True, help="Build everything, write and push nothing; print the digest.")
@declare.option("--name", help="The release version (semver); default 0.0.1-<build time>, or the input release's.")
@declare.option("--previous", multiple=True, help="Versions this release upgrades from (comma separated).")
@declare.option("--next", "next_", multiple=True, help="Versions that upgrade from this release (comma separated).")
@declare.option("--metadata", help="JSON object stored as release-metadata's metadata.")
@declare.option("--reference-mode", default="public", show_default=True,
                help="How -f's images are named: 'public' through the stream's status.publicDockerImageRepository, "
                     "'source' where they were imported from.")
@declare.option("--component-versions", help="Additional component versions, key=version[,key=version] (checked as oc does).")
@declare.option("--component-versions-display-names",
                help="Display names of the component versions, key=name[,key=name].")
@declare.option("--include", multiple=True, help="Keep these images even if no operator references them.")
@declare.option("--exclude", multiple=True, help="Leave these images out.")
@declare.option("--allow-missing-images", is_flag=True, help="Skip images that cannot be found.")
@declare.option("--skip-manifest-check", is_flag=True,
                help="Ignore errors when an operator includes a yaml/yml/json file that is not parseable.")
@declare.option("--to-image-base", help="Base image for the release (default: the cluster-version-operator image).")
@declare.option("--to-image-base-tag", default="cluster-version-operator", show_default=True,
                help="The image of the input whose layers the release image is built on (unless --to-image-base); "
                     "always kept in the release.")
@declare.option("--keep-manifest-list", is_flag=True,
                help="Read a multi-arch input release for linux/amd64, and base the release on it when none of its "
                     "images is its base.")
@declare.option("--release-manifest", is_flag=True, help="Accepted for oc compatibility; oc does nothing with it either.")
@registry_options
@handle_errors
def new_command(replacements: tuple[str, ...], from_image_stream_file: str | None, from_release: str | None,
                from_dir: str | None, mapping_files: tuple[str, ...], to_image: str | None, to_file: str | None,
                to_dir: str | None, dry_run: bool, name: str | None, previous: tuple[str, ...], next_: tuple[str, ...],
                metadata: str | None, reference_mode: str, component_versions: str | None,
                component_versions_display_names: str | None, include: tuple[str, ...], exclude: tuple[str, ...],
                allow_missing_images: bool, skip_manifest_check: bool, to_image_base: str | None, to_image_base_tag: str,
                keep_manifest_list: bool, release_manifest: bool,  # noqa: ARG001 - oc accepts --release-manifest and ignores it
                registry_config: str | None, insecure: bool,
                ca_file: str | None, loglevel: int) -> None:
    """Build a release payload and push it, write it to a file or a directory.

    The payload is built from an ImageStream file (-f), an existing release (--from-release) or a
    directory (--from-dir), with NAME=IMAGE arguments (or --mapping-file) replacing or adding component
    images. Every image is resolved and referenced by digest; the operators' manifests are copied from
    their images with placeholder pullspecs rewritten. The payload and the image are written as oc writes
    them. The build time is now, or SOURCE_DATE_EPOCH when set, so the same inputs and build time give the
    same digest; --from-release with no changes keeps the release's build time and fails unless it
    rebuilds that release exactly. Pushing prints `DIGEST NAME CREATED`, as oc does.

    \b
    Examples:
      # Build a release from an ImageStream of component images and push it
      okd-release new -f image-stream.json --to-image registry.example.com/okd/release:4.15.0-0.okd-custom

    \b
      # Rebuild an existing release with one component replaced
      okd-release new --from-release quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 \\
        --to-image registry.example.com/okd/release:custom cli=registry.example.com/me/cli:fix

    \b
      # A new version with upgrade edges, written as a payload file instead of pushed
      okd-release new -f image-stream.json --name 4.15.1 --previous 4.15.0 --to-file release.tar.gz

    \b
      # Print the digest the release would have; push nothing
      okd-release new --from-release quay.io/openshift/okd:4.15.0-0.okd-2024-03-10-010116 --dry-run
    """
    if not (to_image or to_file or to_dir or dry_run):
        raise ConfigError("nothing to do: give --to-image, --to-file, --to-dir or --dry-run")
    if to_image:
        references.parse(to_image)
    options = NewOptions(
        from_image_stream_file=Path(from_image_stream_file) if from_image_stream_file else None,
        from_release=from_release, from_dir=Path(from_dir) if from_dir else None,
        replacements=list(replacements), mapping_file=[Path(p) for p in mapping_files], name=name,
        previous=_split(previous), next=_split(next_), metadata=metadata, reference_mode=reference_mode,
        include=_split(include), exclude=_split(exclude), allow_missing_images=allow_missing_images,
        skip_manifest_check=skip_manifest_check, component_versions=component_versions,
        component_versions_display_names=component_versions_display_names, keep_manifest_list=keep_manifest_list,
        to_image_base=to_image_base, to_image_base_tag=to_image_base_tag,
    )
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries, \
            tempfile.TemporaryDirectory(prefix="okd-new-") as work:
        with make_progress() as progress:
            plan = plan_release(registries, options, progress)
        payload = plan.payload
        for line in plan.info:
            echo(line, err=True)
        if plan.reproduce:
            echo(f"info: Release {plan.reproduce} built from {len(payload.image_references.tags)} images", err=True)
        for missing in plan.missing:
            echo(f"warning: image {missing!r} not found, left out of the release", err=True)
        echo(f"info: {payload.version}: {len(payload.image_references.tags)} images, "
                   f"{len(payload.manifests)} manifests", err=True)
        if dry_run:
            digest = release_digest(registries, plan, Path(work)) if plan.base_pullspec or plan.reproduce else ""
            check_reproduced(plan, digest)
            echo(f"{digest} {payload.version} {plan.created_text}" if digest else
                       f"dry run: release {payload.version} has no base image to build an image on")
            return
        if to_dir:
            write_to_dir(payload, Path(to_dir))
            echo(f"info: wrote release-manifests to {to_dir}", err=True)
        if to_file:
            write_to_file(payload, Path(to_file))
            echo(f"info: wrote payload to {to_file}", err=True)
        if to_image:
            published = push_release(registries, plan, to_image, Path(work))
            echo(f"info: Pushed to {to_image}", err=True)
            echo(f"{published.digest} {payload.version} {plan.created_text}")
            check_reproduced(plan, published.digest)
