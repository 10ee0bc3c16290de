"""Client CPU of one blob download (digest verified) and one monolithic upload, on one thread, against a local
plain-HTTP registry: what the HTTP layer costs per byte, apart from threads and the rest of a mirror.

    .venv/bin/python -m bench.blobcpu [--mib 64] [--rounds 3]       (this tree)
    PYTHONPATH=/other/src .venv/bin/python -m bench.blobcpu          (another tree, e.g. main's)

Prints one JSON line: the best of `--rounds` for each of GET and PUT, CPU seconds of this thread and wall
seconds (the registry's own CPU is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from okd_release import digest as digests
from okd_release.registry import Registries, RegistryOptions
from okd_release.registry.credentials import CredentialStore
from okd_release.testing import localregistry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    blob = os.urandom(args.mib << 20)
    digest = digests.of(blob)
    pieces = [blob[i:i + (1 << 20)] for i in range(0, len(blob), 1 << 20)]
    with tempfile.TemporaryDirectory() as directory:
        registry = localregistry.start(Path(directory) / "registry")
        try:
            with Registries(RegistryOptions(insecure=True), CredentialStore()) as registries:
                client = registries.client(registry.host)
                client.upload_blob("bench/blob", digest, pieces, len(blob))  # warm: connection, registry storage
                get: list[tuple[float, float]] = []
                put: list[tuple[float, float]] = []
                for _ in range(args.rounds):
                    cpu, wall = time.thread_time(), time.monotonic()
                    with client.open_blob("bench/blob", digest, len(blob)) as chunks:
                        for _chunk in chunks:
                            pass
                    get.append((time.thread_time() - cpu, time.monotonic() - wall))
                    cpu, wall = time.thread_time(), time.monotonic()
                    client.upload_blob("bench/copy", digest, iter(pieces), len(blob))
                    put.append((time.thread_time() - cpu, time.monotonic() - wall))
        finally:
            registry.remove()
    best_get, best_put = min(get), min(put)
    print(json.dumps({"mib": args.mib, "get_cpu": round(best_get[0], 3), "get_seconds": round(best_get[1], 3),
                      "put_cpu": round(best_put[0], 3), "put_seconds": round(best_put[1], 3)}))


if __name__ == "__main__":
    main()
