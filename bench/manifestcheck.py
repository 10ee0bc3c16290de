"""oc's manifest check on CRD-sized YAML: read from the parser's events (`text_fields`) against building the
whole document (`first_document`, which the check used before), in the same run, on the same bytes.

A release's manifests are mostly CustomResourceDefinitions whose OpenAPI schemas run to hundreds of KB of
YAML each; `new` checks every one. The documents are synthetic: nested object schemas with descriptions, as
CRDs have, about `--kib` KiB each.

    .venv/bin/python -m bench.manifestcheck [--kib 1024] [--rounds 7]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import yaml

from okd_release.release.new.documents import first_document, text_fields


def schema(depth: int) -> dict[str, Any]:
    if depth == 0:
        return {"type": "string", "description": "A value of the resource, as its controller reads it. " * 2}
    return {"type": "object", "description": "A field of the resource, with what it means and its default. " * 2,
            "properties": {f"field{n}": schema(depth - 1) for n in range(4)}}


def crd(kib: int) -> bytes:
    """A CustomResourceDefinition of about `kib` KiB of YAML: versions of one nested schema added until it is."""
    versions: list[dict[str, Any]] = []
    document = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.com"}, "spec": {"versions": versions}}
    data = b""
    while len(data) < kib * 1024:
        versions.append({"name": f"v{len(versions) + 1}", "schema": {"openAPIV3Schema": schema(4)}})
        data = yaml.safe_dump(document).encode()
    return data


def cpu_ms(check: Callable[[bytes], object], data: bytes) -> float:
    started = time.thread_time()
    check(data)
    return (time.thread_time() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    data = crd(arguments.kib)

    def building(data: bytes) -> bool:
        document = first_document(data)
        return isinstance(document, dict) and bool(document.get("kind")) and bool(document.get("apiVersion"))

    def from_events(data: bytes) -> bool:
        fields = text_fields(data, ("kind", "apiVersion"))
        return fields is not None and all(fields.values())

    assert building(data) and from_events(data)
    built, evented = [], []
    for _ in range(arguments.rounds):  # interleaved, so that a change in the machine's load falls on both
        built.append(cpu_ms(building, data))
        evented.append(cpu_ms(from_events, data))
    paired = statistics.median(e / b for e, b in zip(evented, built, strict=True))
    print(f"manifest check of a {len(data) / 1024:.0f} KiB CRD, CPU ms (median of {arguments.rounds} rounds)")
    print(f"  building the document (reference): {statistics.median(built):7.1f}")
    print(f"  from the parser's events:          {statistics.median(evented):7.1f}   "
          f"ratio {statistics.median(evented) / statistics.median(built):.2f}x (paired {paired:.2f}x)")


if __name__ == "__main__":
    main()
