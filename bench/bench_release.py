"""`new` and `info` on a large sample, against the bare registry work each needs, measured in the same run.

Reference for `new`: fetching every component's manifest and config with a plain parallel HTTP client
(what `new` cannot avoid). Reference for `info`: fetching the release's manifest, config and payload layer.

    .venv/bin/python -m bench.bench_release [--images 200] [--layer-mb 0]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from bench.harness import make_release, okd_release, parallel, ratio, start_registry

ACCEPT = {"Accept": "application/vnd.docker.distribution.manifest.v2+json"}


def fetch_components(host: str, stream: Path, workers: int = 8) -> float:
    tags = json.loads(stream.read_text())["spec"]["tags"]
    client = httpx.Client(limits=httpx.Limits(max_connections=workers + 2))

    def fetch(tag) -> None:
        repository, digest = tag["from"]["name"].split("/", 1)[1].split("@")
        manifest = client.get(f"http://{host}/v2/{repository}/manifests/{digest}", headers=ACCEPT).json()
        client.get(f"http://{host}/v2/{repository}/blobs/{manifest['config']['digest']}").read()

    started = time.monotonic()
    parallel(tags, fetch, workers)
    return time.monotonic() - started


def fetch_release(host: str, release: str) -> float:
    repository, digest = release.split("/", 1)[1].split("@")
    started = time.monotonic()
    with httpx.Client() as client:
        manifest = client.get(f"http://{host}/v2/{repository}/manifests/{digest}", headers=ACCEPT).json()
        client.get(f"http://{host}/v2/{repository}/blobs/{manifest['config']['digest']}").read()
        client.get(f"http://{host}/v2/{repository}/blobs/{manifest['layers'][-1]['digest']}").read()
    return time.monotonic() - started


def run(images: int, layer_mb: int) -> None:
    registry = start_registry("release")
    work = Path(tempfile.mkdtemp(prefix="okd-bench-"))
    try:
        release = make_release(registry, images, layer_mb, work)
        stream = work / f"stream-{images}.json"
        new, _ = okd_release("new", "--insecure", "-f", str(stream), "--to-image", f"{registry.host}/bench/release:again")
        new_reference = fetch_components(registry.host, stream)
        info, _ = okd_release("info", "--insecure", release)
        commits, _ = okd_release("info", "--insecure", "--commits", release)
        size, _ = okd_release("info", "--insecure", "--size", release)
        info_reference = fetch_release(registry.host, release)
        startup, _ = okd_release("--version")
        print(f"{images}-image release ({layer_mb} MB layers); process start-up alone: {startup.seconds:.2f}s")
        print(f"  new --to-image     {new.seconds:6.2f}s  vs fetching all manifests+configs {new_reference:6.2f}s"
              f"  ratio {ratio(new.seconds, new_reference)}  (peak RSS {new.peak_rss_mb:.0f} MB)")
        print(f"  info               {info.seconds:6.2f}s  vs fetching the release image     {info_reference:6.2f}s"
              f"  ratio {ratio(info.seconds, info_reference)}")
        print(f"  info --commits     {commits.seconds:6.2f}s  ratio to info {ratio(commits.seconds, info.seconds)}")
        print(f"  info --size        {size.seconds:6.2f}s  vs fetching all manifests+configs {new_reference:6.2f}s"
              f"  ratio {ratio(size.seconds, new_reference)}")
    finally:
        registry.remove()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, nargs="+", default=[200])
    parser.add_argument("--layer-mb", type=int, default=0)
    arguments = parser.parse_args()
    for images in arguments.images:
        run(images, arguments.layer_mb)


if __name__ == "__main__":
    main()
