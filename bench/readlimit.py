"""The read limit of `new -f`: the least building a release from an ImageStream must ask of the registry, done as
simply as Python can, with no project code.

For every image of the stream (each named by digest): GET its manifest, then its config; for each image whose
config labels it an operator, GET its top layer, hash it as it streams (SHA-256, checked against the digest)
and read its manifests/ files with tarfile. Then push the smallest release image: the base image's layers
mounted into the target repository, a payload layer (the operators' files, gzip), a config and the manifest.
Every read is on `--workers` threads, each with its own keep-alive connection. No retries, no HEAD checks,
no rewriting of the manifests: what is left is the requests, the registry and the bytes. Standard library only
(http.client, threads, json, tarfile), so the benchmark's reference does not move when the project does.

    python bench/readlimit.py HOST STREAM.json TARGET_REPOSITORY:TAG [--workers 8] [--base cluster-version-operator]

STREAM.json: the ImageStream `new -f` reads, every tag `HOST/repository@digest`. The summary is one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.client
import io
import json
import tarfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

READ = 1 << 20
OPERATOR_LABEL = "io.openshift.release.operator"
ACCEPT = ", ".join([
    "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.oci.image.manifest.v1+json",
])
CONNECTIONS = threading.local()


def request(host: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            ok: tuple[int, ...] = (200,)) -> http.client.HTTPResponse:
    if not hasattr(CONNECTIONS, "open"):
        CONNECTIONS.open = http.client.HTTPConnection(host, timeout=300)
    connection: http.client.HTTPConnection = CONNECTIONS.open
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    if response.status not in ok:
        raise SystemExit(f"{method} {host}{path}: {response.status} {response.read()[:200]!r}")
    return response


class Hashed(io.RawIOBase):
    """A blob's body, hashed as tarfile reads it."""

    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.response, self.hash = response, hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self.response.readinto(buffer)
        self.hash.update(buffer[:count])
        return count


def operator_files(host: str, repository: str, layer: dict[str, object]) -> dict[str, bytes]:
    body = Hashed(request(host, "GET", f"/v2/{repository}/blobs/{layer['digest']}"))
    files = {}
    with tarfile.open(fileobj=io.BufferedReader(body, READ), mode="r|*") as tar:
        for member in tar:
            name = member.name.lstrip("./")
            if member.isreg() and name.startswith("manifests/") and "/" not in name[len("manifests/"):]:
                files[name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    rest = memoryview(bytearray(READ))
    while body.readinto(rest):  # the blob's end, after the tar's, so that all of it is hashed
        pass
    if f"sha256:{body.hash.hexdigest()}" != layer["digest"]:
        raise SystemExit(f"layer {layer['digest']}: digest mismatch")
    return files


def read_image(host: str, tag: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, bytes]]:
    repository, digest = tag["from"]["name"].split("/", 1)[1].split("@")
    manifest = json.loads(request(host, "GET", f"/v2/{repository}/manifests/{digest}", headers={"Accept": ACCEPT}).read())
    config = json.loads(request(host, "GET", f"/v2/{repository}/blobs/{manifest['config']['digest']}").read())
    labels = (config.get("config") or {}).get("Labels") or {}
    files = operator_files(host, repository, manifest["layers"][-1]) if labels.get(OPERATOR_LABEL) == "true" else {}
    return tag["name"], repository, manifest, files


def push_blob(host: str, repository: str, data: bytes) -> dict[str, object]:
    digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
    start = request(host, "POST", f"/v2/{repository}/blobs/uploads/", ok=(202,))
    start.read()
    location = urllib.parse.urlsplit(start.headers["Location"])
    query = (location.query + "&" if location.query else "") + urllib.parse.urlencode({"digest": digest})
    request(host, "PUT", f"{location.path}?{query}", body=data, ok=(201,),
            headers={"Content-Type": "application/octet-stream"}).read()
    return {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "digest": digest, "size": len(data)}


def push_release(host: str, target: str, base: tuple[str, dict[str, Any]], files: dict[str, bytes]) -> None:
    repository, tag = target.rsplit(":", 1)
    source, manifest = base
    layers = list(manifest["layers"])
    for layer in layers:
        request(host, "POST", f"/v2/{repository}/blobs/uploads/?mount={layer['digest']}&from={source}",
                ok=(201, 202)).read()
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        for name, data in sorted(files.items()):
            info = tarfile.TarInfo("release-manifests/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    layers.append(push_blob(host, repository, gzip.compress(payload.getvalue(), mtime=0)))
    config = push_blob(host, repository, json.dumps({"architecture": "amd64", "os": "linux"}).encode())
    config["mediaType"] = "application/vnd.docker.container.image.v1+json"
    body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                       "config": config, "layers": layers}).encode()
    request(host, "PUT", f"/v2/{repository}/manifests/{tag}", body=body, ok=(201,),
            headers={"Content-Type": "application/vnd.docker.distribution.manifest.v2+json"}).read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("host")
    parser.add_argument("stream")
    parser.add_argument("target")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--base", default="cluster-version-operator")
    arguments = parser.parse_args()
    with open(arguments.stream) as handle:
        tags = json.load(handle)["spec"]["tags"]
    started = time.monotonic()
    with ThreadPoolExecutor(arguments.workers) as pool:
        images = list(pool.map(lambda tag: read_image(arguments.host, tag), tags))
    files = {f"{name}/{file}": data for name, _, _, found in images for file, data in found.items()}
    base = next((repository, manifest) for name, repository, manifest, _ in images if name == arguments.base)
    push_release(arguments.host, arguments.target, base, files)
    print(json.dumps({"images": len(images), "operators": sum(1 for image in images if image[3]),
                      "seconds": round(time.monotonic() - started, 3)}))


if __name__ == "__main__":
    main()
