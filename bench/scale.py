"""Scale: a fresh mirror of synthetic releases of 1,000 and 5,000 images (small layers), with peak RSS and time.

Peak RSS should stay constant as the release grows (blobs are streamed, nothing per image is held beyond
what the payload must hold) and time should grow linearly with the work (images, blobs and bytes): the table
prints time per image and per MB so the sizes can be compared, and each tree's growth of peak RSS from the
smallest release to the largest.

    .venv/bin/python -m bench.scale [--images 1000 5000] [--workers 6] [--rounds 1] [--before /path/to/old/src]

Each release is built once (with this tree) and mirrored into a fresh target registry by each tree in turn,
round after round. `--before` adds another copy of the project's src/ (a "before" tree) as a second contender.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.harness import Measured, Release, make_release, okd_release, start_registry
from okd_release.testing import localregistry


def mirror(release: Release, src: str | None, workers: int) -> tuple[Measured, dict[str, int]]:
    """One fresh mirror of `release` by the tree `src` (None: this one) into a new registry."""
    target = start_registry("scale-target")
    try:
        measured, out = okd_release("mirror", "--insecure", "--from", release.pullspec, "--to",
                                    f"{target.host}/okd/mirror", "--max-per-registry", str(workers),
                                    "--print-mirror-instructions", "none", "-o", "json", src=src)
    finally:
        target.remove()
    summary = json.loads(out[out.index("{"):])
    return measured, summary.get("summary", summary)


def row(tree: str, images: int, runs: list[tuple[Measured, dict[str, int]]]) -> str:
    megabytes = runs[0][1]["bytesCopied"] / 1e6
    seconds = " / ".join(f"{m.seconds:.1f} s" for m, _ in runs)
    cpu = " / ".join(f"{m.cpu:.1f} s" for m, _ in runs)
    rss = " / ".join(f"{m.rss_mb:.1f} MB" for m, _ in runs)
    per_image = " / ".join(f"{m.cpu / images * 1e3:.1f} ms" for m, _ in runs)
    return (f"| {tree} | {images} | {runs[0][1]['blobsCopied']} | {megabytes:.0f} MB | {seconds} | {cpu} | {rss} "
            f"| {per_image} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--before", help="also mirror with this copy of src/ (a tree from before a change)")
    arguments = parser.parse_args()
    trees: dict[str, str | None] = {"after": None}
    if arguments.before:
        trees = {"before": arguments.before, **trees}
    source: localregistry.LocalRegistry = start_registry("scale-source")
    work = Path(tempfile.mkdtemp(prefix="okd-bench-scale-"))
    runs: dict[tuple[str, int], list[tuple[Measured, dict[str, int]]]] = {}
    try:
        releases = {images: make_release(source, images, 0, work, workers=8) for images in arguments.images}
        for _ in range(arguments.rounds):
            for release in releases.values():
                for tree, src in trees.items():
                    runs.setdefault((tree, len(release.images)), []).append(mirror(release, src, arguments.workers))
    finally:
        source.remove()
        shutil.rmtree(work, ignore_errors=True)
    print("| tree | images | blobs copied | bytes | wall | CPU | peak RSS | CPU per image |")
    print("|---|---|---|---|---|---|---|---|")
    for (tree, images), measured in runs.items():
        print(row(tree, images, measured))
    for tree in trees:
        sizes = sorted(images for name, images in runs if name == tree)
        smallest = max(m.rss_mb for m, _ in runs[(tree, sizes[0])])
        largest = max(m.rss_mb for m, _ in runs[(tree, sizes[-1])])
        print(f"{tree}: peak RSS {smallest:.1f} MB at {sizes[0]} images, {largest:.1f} MB at {sizes[-1]} "
              f"({largest / smallest - 1:+.0%}; the highest of the rounds)")


if __name__ == "__main__":
    main()
