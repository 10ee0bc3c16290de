"""Mirror benchmark: okd-release mirror against `skopeo copy` of the same images and against the copy limit.

The copy limit is the same unique blobs streamed GET→PUT by the simplest parallel copier (no HEAD checks,
no digest verification, no retries), then the manifests. Each contender copies into a fresh registry.

    .venv/bin/python -m bench.bench_mirror [--images 60 200] [--layer-mb 8] [--workers 6]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import Measured, make_release, okd_release, parallel, ratio, run_measured, start_registry
from okd_release.content import RawManifest
from okd_release.image import manifest as manifests
from okd_release.image.manifest import ImageManifest


def _release_images(host: str, release: str) -> list[tuple[str, str]]:
    """(name, digest) of every image to copy: the release and its components, all in bench/* repositories."""
    _, out = okd_release("info", "--insecure", "-o", "json", release)
    info = json.loads(out)
    images = [("release", info["digest"], "bench/release")]
    images += [(i["name"], i["digest"], i["pullspec"].split("/", 1)[1].split("@")[0]) for i in info["images"]]
    return images


def skopeo_copy(source: str, target: str, images, workers: int) -> Measured:
    def copy(item) -> Measured:
        name, digest, repository = item
        measured, _ = run_measured(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-tls-verify=false",
                                    "--preserve-digests", f"docker://{source}/{repository}@{digest}",
                                    f"docker://{target}/skopeo/mirror:{name}"])
        return measured

    started = time.monotonic()
    results = parallel(images, copy, workers)
    return Measured(time.monotonic() - started, max(r.peak_rss_mb for r in results))


def copy_limit(source: str, target: str, images, workers: int) -> float:
    """The simplest parallel GET→PUT copier of the same unique blobs, then the manifests."""
    client = httpx.Client(limits=httpx.Limits(max_connections=workers * 2 + 4), timeout=300)
    parsed: list[tuple[str, ImageManifest]] = []
    for name, digest, repository in images:
        response = client.get(f"http://{source}/v2/{repository}/manifests/{digest}",
                               headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        raw = RawManifest(response.content, response.headers["Content-Type"], digest)
        parsed.append((name, manifests.parse(raw)))
    blobs = {}
    for (_, _, repository), (_, manifest) in zip(images, parsed, strict=True):
        for blob in manifest.blobs():
            blobs.setdefault(blob.digest, (repository, blob.size))

    def copy_blob(item) -> None:
        digest, (repository, size) = item
        start = client.post(f"http://{target}/v2/limit/mirror/blobs/uploads/")
        location = httpx.URL(start.headers["Location"]).copy_add_param("digest", digest)
        with client.stream("GET", f"http://{source}/v2/{repository}/blobs/{digest}") as response:
            client.put(location if location.host else f"http://{target}{location}", content=response.iter_bytes(1 << 20),
                       headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})

    started = time.monotonic()
    parallel(list(blobs.items()), copy_blob, workers)
    for name, manifest in parsed:
        client.put(f"http://{target}/v2/limit/mirror/manifests/{name}", content=manifest.raw.data,
                   headers={"Content-Type": manifest.raw.media_type})
    return time.monotonic() - started


def run(images: int, layer_mb: int, workers: int) -> None:
    source = start_registry("source")
    work = Path(tempfile.mkdtemp(prefix="okd-bench-"))
    try:
        release = make_release(source, images, layer_mb, work)
        listed = _release_images(source.host, release)
        total = sum(1 for _ in listed)
        results = {}
        for contender in ("okd-release", "skopeo", "limit"):
            target = start_registry(contender)
            try:
                if contender == "okd-release":
                    results[contender], _ = okd_release("mirror", "--insecure", "--from", release, "--to",
                                                        f"{target.host}/okd/mirror", "--max-per-registry", str(workers),
                                                        "--print-mirror-instructions", "none")
                elif contender == "skopeo":
                    results[contender] = skopeo_copy(source.host, target.host, listed, workers)
                else:
                    results[contender] = Measured(copy_limit(source.host, target.host, listed, workers), 0.0)
            finally:
                target.remove()
        ours, skopeo, limit = results["okd-release"], results["skopeo"], results["limit"]
        print(f"mirror of {total} images ({images}-image sample, {layer_mb} MB layers), {workers} concurrent:")
        print(f"  okd-release  {ours.seconds:7.2f}s  peak RSS {ours.peak_rss_mb:6.1f} MB")
        print(f"  skopeo copy  {skopeo.seconds:7.2f}s  peak RSS {skopeo.peak_rss_mb:6.1f} MB (largest process)")
        print(f"  copy limit   {limit.seconds:7.2f}s")
        print(f"  okd-release / skopeo: {ratio(ours.seconds, skopeo.seconds)}   okd-release / limit: "
              f"{ratio(ours.seconds, limit.seconds)}")
    finally:
        source.remove()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[60, 200])
    parser.add_argument("--layer-mb", type=int, default=8)
    parser.add_argument("--workers", type=int, default=6)
    arguments = parser.parse_args()
    for images in arguments.images:
        run(images, arguments.layer_mb, arguments.workers)


if __name__ == "__main__":
    main()
