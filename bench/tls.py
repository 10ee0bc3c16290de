"""Start-up over verified TLS, the everyday case (`okd-release info quay.io/...` trusts the system's CAs).

A registry serves TLS with a certificate from a CA made here; that CA is filed, beside every system CA, in
a directory in OpenSSL's hashed layout named by SSL_CERT_DIR (as /etc/ssl/certs is). `okd-release info`
of a release on it runs without --insecure, against the tree before (BEFORE=) and oc (OC=) in interleaved
rounds. Run from the repository's root (it makes the CA with the tests' helper):

    OC=/tmp/oc BEFORE=/path/to/old/src .venv/bin/python -m bench.tls [--images 155] [--rounds 11]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench.harness import Measured, interleaved, make_release, okd_release, ratio, run_measured
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
    parser.add_argument("--rounds", type=int, default=11)
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="okd-bench-tls-"))
    ca, certificate, key = make_ca_and_server(work / "tls")
    registry = localregistry.start(work / "registry", certificate=certificate, key=key)
    try:
        release = make_release(registry, arguments.images, 0, work)
        trusted = {"SSL_CERT_DIR": str(ca_directory(work / "certs", ca))}
        contenders: dict[str, Callable[[], Measured]] = {
            "okd-release info": lambda: okd_release("info", release.pullspec, env=trusted)[0]}
        if before := os.environ.get("BEFORE"):
            contenders["before info"] = lambda: okd_release("info", release.pullspec, src=before, env=trusted)[0]
        if oc := os.environ.get("OC"):
            contenders["oc info"] = lambda: run_measured([oc, "adm", "release", "info", release.pullspec],
                                                         env=trusted)[0]
        results = interleaved(contenders, arguments.rounds)
    finally:
        registry.remove()
    ours = results["okd-release info"]
    print(f"`info` over verified TLS, {len(release.images)} images, {arguments.rounds} rounds (medians):")
    for name, series in results.items():
        print(f"  {name:18} {series.seconds:.3f} s  CPU {series.cpu:.3f} s  spread {series.spread()}  "
              f"okd-release / this: {ratio(ours.seconds, series.seconds)}")


if __name__ == "__main__":
    main()
