"""The copy limit: the least a mirror must do, done as simply as Python can, with no project code.

Reads every image's manifest, then streams each distinct blob GET→PUT (one monolithic upload each), then
puts every manifest by digest and by tag; each phase on `--workers` threads, each thread with its own
keep-alive connection to each registry, blobs 1 MiB at a time. No HEAD checks, no digest verification, no retries: what
is left is the network, the registries and the bytes. Standard library only (http.client, threads, json),
so the benchmark's reference does not move when the project changes.

With `--verify`, each blob is also hashed (SHA-256) as it streams, and the copy fails unless its digest is the
one asked for: the least a mirror that checks every blob it reads must do.

    python bench/copylimit.py SOURCE_HOST TARGET_HOST/REPOSITORY IMAGES.json [--workers 6] [--verify]

IMAGES.json: `[[repository, digest, tag], ...]` of the source; the summary is one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import queue
import threading
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

READ = 1 << 20
ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json",
])


class Connections(threading.local):
    """One keep-alive connection per thread and host."""

    def __init__(self) -> None:
        self.open: dict[str, http.client.HTTPConnection] = {}

    def get(self, host: str) -> http.client.HTTPConnection:
        if host not in self.open:
            self.open[host] = http.client.HTTPConnection(host, timeout=300)
        return self.open[host]


CONNECTIONS = Connections()


def request(host: str, method: str, path: str, body: object = None, headers: dict[str, str] | None = None,
            ok: tuple[int, ...] = (200,)) -> http.client.HTTPResponse:
    connection = CONNECTIONS.get(host)
    connection.request(method, path, body=body, headers=headers or {})  # type: ignore[arg-type]
    response = connection.getresponse()
    if response.status not in ok:
        raise SystemExit(f"{method} {host}{path}: {response.status} {response.read()[:200]!r}")
    return response


def blobs_of(manifest: dict[str, Any]) -> list[tuple[str, int]]:
    config = manifest.get("config")
    layers = manifest.get("layers") or []
    return [(d["digest"], d["size"]) for d in ([config] if config else []) + list(layers)]


def copy_blob(source: str, target: str, repository: str, target_repository: str, digest: str, size: int,
              verify: bool = False) -> None:
    start = request(target, "POST", f"/v2/{target_repository}/blobs/uploads/", ok=(202,))
    start.read()
    location = urllib.parse.urlsplit(start.headers["Location"])
    query = (location.query + "&" if location.query else "") + urllib.parse.urlencode({"digest": digest})
    upstream = request(source, "GET", f"/v2/{repository}/blobs/{digest}")

    hashed = hashlib.sha256()

    def body() -> Iterator[bytes]:  # http.client sends an iterable body chunk by chunk, with our Content-Length
        while chunk := upstream.read(READ):
            if verify:
                hashed.update(chunk)
            yield chunk
        if verify and f"sha256:{hashed.hexdigest()}" != digest:
            raise SystemExit(f"blob {digest}: digest mismatch")

    done = request(target, "PUT", f"{location.path}?{query}", body=body(), ok=(201,),
                   headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"})
    done.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("source")
    parser.add_argument("target")
    parser.add_argument("images")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--verify", action="store_true", help="hash every blob as it streams and check its digest")
    arguments = parser.parse_args()
    target_host, target_repository = arguments.target.split("/", 1)
    with open(arguments.images) as handle:
        images = json.load(handle)
    started = time.monotonic()

    def fetch(image: list[str]) -> tuple[str, str, str, bytes, str]:
        repository, digest, tag = image
        response = request(arguments.source, "GET", f"/v2/{repository}/manifests/{digest}", headers={"Accept": ACCEPT})
        return tag, digest, response.headers["Content-Type"], response.read(), repository

    with ThreadPoolExecutor(arguments.workers) as pool:
        manifests = list(pool.map(fetch, images))
    jobs: queue.Queue[tuple[str, str, int]] = queue.Queue()
    seen: set[str] = set()
    total = 0
    for _, _, _, data, repository in manifests:
        for digest, size in blobs_of(json.loads(data)):
            if digest not in seen:
                seen.add(digest)
                total += size
                jobs.put((repository, digest, size))
    failures: list[BaseException] = []

    def work() -> None:
        try:
            while True:
                try:
                    repository, digest, size = jobs.get_nowait()
                except queue.Empty:
                    return
                copy_blob(arguments.source, target_host, repository, target_repository, digest, size, arguments.verify)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work) for _ in range(arguments.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"copy limit failed: {failures[0]}")

    def put(manifest: tuple[str, str, str, bytes, str]) -> None:
        tag, digest, media_type, data, _ = manifest
        for reference in (digest, tag):
            request(target_host, "PUT", f"/v2/{target_repository}/manifests/{reference}", body=data,
                    headers={"Content-Type": media_type}, ok=(201,)).read()

    with ThreadPoolExecutor(arguments.workers) as pool:
        list(pool.map(put, manifests))
    print(json.dumps({"blobs": len(seen), "bytes": total, "seconds": round(time.monotonic() - started, 3)}))


if __name__ == "__main__":
    main()
