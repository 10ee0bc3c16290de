"""Scale: a fresh mirror of synthetic releases of 1,000 and 5,000 images (small layers), with peak RSS and time.

Peak RSS should stay constant as the release grows (blobs are streamed, nothing per image is held beyond
its manifest) and time should grow linearly with the work (images, blobs and bytes): the table prints
time per image and per MB so the two sizes can be compared.

    .venv/bin/python -m bench.scale [--images 1000 5000] [--workers 6] [--src /path/to/other/src]

`--src` runs the mirror from another copy of the project's src/ (a "before" tree); the releases are still
built with this one.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

from bench.harness import make_release, okd_release, start_registry


def run(images: int, workers: int, src: str | None = None) -> str:
    source = start_registry("scale-source")
    target = start_registry("scale-target")
    work = Path(tempfile.mkdtemp(prefix="okd-bench-scale-"))
    try:
        release = make_release(source, images, 0, work, workers=8)
        measured, out = okd_release("mirror", "--insecure", "--from", release.pullspec, "--to",
                                    f"{target.host}/okd/mirror", "--max-per-registry", str(workers),
                                    "--print-mirror-instructions", "none", "-o", "json", src=src)
        summary = json.loads(out[out.index("{"):])
        summary = summary.get("summary", summary)
        megabytes = summary["bytesCopied"] / 1e6
        return (f"| {len(release.images)} | {summary['blobsCopied']} | {megabytes:.0f} MB | {measured.seconds:.1f} s | "
                f"{measured.cpu:.1f} s | {measured.rss_mb:.1f} MB | {measured.seconds / len(release.images) * 1e3:.1f} ms "
                f"| {measured.seconds / megabytes * 1e3:.1f} ms |")
    finally:
        source.remove()
        target.remove()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--src", help="run the mirror from this copy of src/ instead of the installed one")
    arguments = parser.parse_args()
    rows = [run(images, arguments.workers, arguments.src) for images in arguments.images]
    print("| images | blobs copied | bytes | wall | CPU | peak RSS | per image | per MB |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
