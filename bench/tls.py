"""The small commands over verified TLS, the everyday case (`okd-release info quay.io/...` trusts the system's CAs).

A registry serves TLS with a certificate from a CA made here; that CA is filed, beside every system CA, in
a directory in OpenSSL's hashed layout named by SSL_CERT_DIR (as /etc/ssl/certs is). `info`, `extract
--command oc` and `new -f` of a release on it run without --insecure, against the tree before (BEFORE=) and
oc (OC=) in interleaved rounds. Run from the repository's root (it makes the CA with the tests' helper):

    OC=/tmp/oc BEFORE=/path/to/old/src .venv/bin/python -m bench.tls [--images 155] [--layer-mb 8] [--rounds 11]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.harness import VERSION, Measured, interleaved, make_release, okd_release, paired, ratio, run_measured
from okd_release.testing import localregistry
from tests.certs import make_ca_and_server

SYSTEM_CAS = Path("/etc/ssl/certs")


def ca_directory(directory: Path, ca: Path) -> Path:
    """Every hashed CA link of the system's directory, and `ca` under its own subject hash."""
    directory.mkdir()
    for entry in SYSTEM_CAS.iterdir():
        if re.fullmatch(r"[0-9a-f]{8}\.[0-9]+", entry.name):
            (directory / entry.name).symlink_to(entry.resolve())
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", str(ca)], capture_output=True, text=True,
                            check=True).stdout.strip()
    index = 0
    while (directory / f"{digest}.{index}").exists():
        index += 1
    (directory / f"{digest}.{index}").symlink_to(ca)
    return directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=155)
    parser.add_argument("--layer-mb", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=11)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="okd-bench-tls-"))
    ca, certificate, key = make_ca_and_server(work / "tls")
    registry = localregistry.start(work / "registry", certificate=certificate, key=key)
    serial = iter(range(1_000_000))
    try:
        release = make_release(registry, arguments.images, arguments.layer_mb, work)
        trusted = {"SSL_CERT_DIR": str(ca_directory(work / "certs", ca))}

        def fresh_dir() -> str:
            return tempfile.mkdtemp(prefix="extract-", dir=work)

        def commands(run: Callable[..., Measured], prefix: str) -> dict[str, Callable[[], Measured]]:
            return {
                f"{prefix} info": lambda: run("info", release.pullspec),
                f"{prefix} extract --command": lambda: run("extract", "--command", "oc", "--to", fresh_dir(),
                                                           release.pullspec),
                f"{prefix} new -f": lambda: run("new", "-f", str(release.stream), "--name", VERSION, "--to-image",
                                                f"{registry.host}/bench/new:{prefix}-{next(serial)}"),
            }

        def ours(src: str | None) -> Callable[..., Measured]:
            return lambda *args: okd_release(*args, src=src, env=trusted)[0]

        contenders = commands(ours(None), "okd-release")
        if before := os.environ.get("BEFORE"):
            contenders |= commands(ours(before), "before")
        if oc := os.environ.get("OC"):
            contenders |= commands(lambda *args: run_measured([oc, "adm", "release", *args], env=trusted)[0], "oc")
        results = interleaved(contenders, arguments.rounds)
    finally:
        registry.remove()
    print(f"over verified TLS, {len(release.images)} images, {arguments.rounds} rounds (medians; spread of the rounds):")
    for case in ("info", "extract --command", "new -f"):
        ours_ = results[f"okd-release {case}"]
        line = [f"  {case:18} okd-release {ours_.seconds:.3f} s, {ours_.cpu:.3f} CPU s ({ours_.spread()})"]
        for peer in ("before", "oc"):
            if (theirs := results.get(f"{peer} {case}")) is not None:
                line.append(f"{peer} {theirs.seconds:.3f} s, {theirs.cpu:.3f} CPU s ({theirs.spread()}): "
                            f"{ratio(ours_.seconds, theirs.seconds)} (paired {paired(ours_, theirs)})")
        print("; ".join(line))

if __name__ == "__main__":
    main()
