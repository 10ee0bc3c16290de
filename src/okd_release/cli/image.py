"""`okd-release image info|mirror`: one image or image list."""

from __future__ import annotations

from pathlib import Path

from okd_release import reference as references
from okd_release.cli import declare
from okd_release.cli.common import dump, handle_errors, make_registries, registry_options
from okd_release.cli.output import echo
from okd_release.cli.progress import make_progress
from okd_release.image.inspect import inspect
from okd_release.stores import open_store
from okd_release.transfer import Endpoint, ImageCopy, Transfer


@declare.group("image")
def image_group() -> None:
    """Inspect and copy single images.

    \b
    Examples:
      # Show an image, or the platforms of a manifest list
      okd-release image info quay.io/openshift/okd-content@sha256:0123...

    \b
      # Copy an image with all of its blobs to another registry
      okd-release image mirror quay.io/openshift/okd-content@sha256:0123... mirror.example.com/okd/content:cli
    """


@image_group.command("info")
@declare.argument("ref")
@declare.option("-o", "--output", type=declare.Choice(["json", "yaml"]), help="Machine-readable output.")
@registry_options
@handle_errors
def info_command(ref: str, output: str | None, registry_config: str | None, insecure: bool, ca_file: str | None,
                 loglevel: int) -> None:
    """Show an image: digest, media type, platform, created, labels, layers; or a list's platforms.

    \b
    Examples:
      # Show an image by tag
      okd-release image info registry.example.com/okd/content:cli

    \b
      # The same as JSON
      okd-release image info registry.example.com/okd/content:cli -o json
    """
    reference = references.parse(ref)
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        result = inspect(open_store(reference, registries), reference)
    if output:
        dump(result.as_dict(), output)
        return
    echo(f"Name:       {result.reference}")
    echo(f"Digest:     {result.digest}")
    echo(f"Media Type: {result.media_type}")
    if result.platforms:
        echo("Manifests:")
        for platform, digest in result.platforms:
            echo(f"  {platform:<16} {digest}")
        return
    echo(f"Created:    {result.created}")
    echo(f"OS/Arch:    {result.platform}")
    echo(f"Size:       {result.size} bytes in {len(result.layers)} layers")
    echo("Layers:")
    for layer in result.layers:
        echo(f"  {layer.digest} {layer.size:>12}")
    if result.labels:
        echo("Labels:")
        for key, value in sorted(result.labels.items()):
            echo(f"  {key}={value}")


@image_group.command("mirror")
@declare.argument("source")
@declare.argument("target")
@declare.option("--max-per-registry", type=declare.IntRange(1, 64), default=6, help="Concurrent requests per registry.")
@declare.option("--dir", "directory", type=declare.Path(file_okay=False), help="Root for file:// references.")
@declare.option("-o", "--output", type=declare.Choice(["json", "yaml"]), help="Print the summary in this format.")
@registry_options
@handle_errors
def mirror_command(source: str, target: str, max_per_registry: int, directory: str | None, output: str | None,
                   registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Copy one image or image list, with all of its blobs, by digest (and TARGET's tag if given).

    Prints the target by digest. Blobs the target has are skipped; SOURCE or TARGET may be a file://
    reference, under --dir.

    \b
    Examples:
      # Copy an image to another registry under a tag
      okd-release image mirror quay.io/openshift/okd-content@sha256:0123... mirror.example.com/okd/content:cli

    \b
      # Copy an image into a directory (oc's file:// layout), and print what was copied as JSON
      okd-release image mirror registry.example.com/okd/content:cli file://okd/content:cli --dir /media/usb -o json
    """
    src, dst = references.parse(source), references.parse(target)
    root = Path(directory) if directory else None
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        copy = ImageCopy(
            str(src), Endpoint(open_store(src, registries, root), src.repository), src.identifier,
            Endpoint(open_store(dst, registries, root), dst.repository), (dst.tag,) if dst.tag else (),
        )
        progress = make_progress(quiet=bool(output))
        with progress:
            summary = Transfer(max_per_registry, progress, retries=registries.retries).run([copy])
    if output:
        dump(summary.as_dict() | {"digest": summary.digests.get(str(src))}, output)
    else:
        echo(f"{dst.name}@{summary.digests[str(src)]}")
