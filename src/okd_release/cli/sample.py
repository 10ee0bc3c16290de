"""`okd-release sample`: push a synthetic release's component images and write an ImageStream for `new`."""

from __future__ import annotations

from pathlib import Path

from okd_release import reference as references
from okd_release.cli import declare
from okd_release.cli.common import handle_errors, make_registries, registry_options
from okd_release.cli.output import echo
from okd_release.cli.progress import make_progress
from okd_release.stores import open_store
from okd_release.testing.sample import push_sample, write_image_stream


@declare.command("sample")
@declare.option("--to", "to", required=True, help="Repository to push the component images to (REGISTRY/REPO).")
@declare.option("--images", type=declare.IntRange(0, 10000), default=0, help="Total images (default: the core set of 15).")
@declare.option("--layer-mb", type=declare.IntRange(0, 4096), default=0, help="Extra MB of data in each image's own layer.")
@declare.option("--version", "version", default="4.15.0-0.okd-sample", show_default=True,
                help="Version named by the image stream.")
@declare.option("--image-stream-file", default="sample-image-stream.json", show_default=True,
                type=declare.Path(dir_okay=False), help="Where to write the ImageStream for `new -f`.")
@registry_options
@handle_errors
def sample_command(to: str, images: int, layer_mb: int, version: str, image_stream_file: str,
                   registry_config: str | None, insecure: bool, ca_file: str | None, loglevel: int) -> None:
    """Push a synthetic but realistic set of release component images and write an ImageStream for them.

    The images carry what real component images carry (operator manifests, build labels, component
    versions, oc and openshift-install binaries with their markers), so that `new -f` builds a release that
    info, extract and mirror treat like a real one. For demos, tests and benchmarks.

    \b
    Examples:
      # Push the sample images to a local registry and build a release from them
      okd-release sample --insecure --to localhost:5000/okd/content --image-stream-file stream.json
      okd-release new --insecure -f stream.json --to-image localhost:5000/okd/release:4.15.0-0.okd-sample

    \b
      # A larger release for benchmarks: 200 images with 10 MB each
      okd-release sample --insecure --to localhost:5000/okd/content --images 200 --layer-mb 10
    """
    target = references.parse(to)
    with make_registries(registry_config, insecure, ca_file, loglevel) as registries:
        with make_progress() as progress:
            sample = push_sample(open_store(target, registries), target.repository, images, layer_mb, version=version,
                                 progress=progress)
    write_image_stream(sample.stream, Path(image_stream_file))
    echo(f"info: pushed {len(sample.stream.tags)} images to {target.name}", err=True)
    echo(image_stream_file)
