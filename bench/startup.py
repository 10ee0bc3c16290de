"""Start-up check: what `okd-release info` imports and how long that takes (`python -X importtime`).

`info` must load only what it uses: not the mirror or new engines, not the demo's registry launcher, not
rich's progress bars. Prints the modules loaded, their total import time, the largest ones, and any
module on the must-not-load list.

    .venv/bin/python -m bench.startup PULLSPEC      (a release on a plain-HTTP registry)
"""

from __future__ import annotations

import statistics
import subprocess
import sys

from bench.harness import ENV, OKD_RELEASE, okd_release

NOT_FOR_INFO = ("rich", "okd_release.testing", "okd_release.transfer", "okd_release.release.mirror",
                "okd_release.release.new", "okd_release.release.extract", "okd_release.cli.demo", "okd_release.cli.mirror",
                "yaml", "okd_release.cli.template", "okd_release.release.history",
                "logging", "email", "http", "concurrent", "random", "tempfile", "gzip", "signal", "encodings.idna",
                "click", "gettext")


def imports(argv: list[str], src: str | None = None) -> dict[str, tuple[int, int]]:
    """module -> (self µs, cumulative µs) of one run of `argv` (a python -m command); `src`: the tree to run."""
    completed = subprocess.run([sys.executable, "-X", "importtime", *argv[1:]], capture_output=True, text=True,
                               env={**ENV, "PYTHONPATH": src} if src else ENV, check=True)
    found: dict[str, tuple[int, int]] = {}
    for line in completed.stderr.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, cumulative, name = (part.strip() for part in line[len("import time:"):].split("|"))
            found[name.strip()] = (int(own), int(cumulative))
    return found


def report(pullspec: str, src: str | None = None, rounds: int = 5) -> str:
    loaded = imports([*OKD_RELEASE, "info", "--insecure", pullspec], src)
    total = sum(own for own, _ in loaded.values()) / 1e6
    forbidden = sorted({prefix for prefix in NOT_FOR_INFO for name in loaded if name == prefix
                        or name.startswith(prefix + ".")})
    heaviest = sorted(((cumulative, name) for name, (_, cumulative) in loaded.items() if "." not in name),
                      reverse=True)[:8]
    version = statistics.median(okd_release("--version", src=src)[0].seconds for _ in range(rounds))
    lines = [f"start-up: `okd-release info` imports {len(loaded)} modules in {total:.3f}s (python -X importtime, "
             f"self times summed); `okd-release --version` takes {version:.3f}s (median of {rounds})",
             "  largest top-level imports: " + ", ".join(f"{name} {us / 1e3:.0f} ms" for us, name in heaviest),
             "  must not load: " + (", ".join(forbidden) if forbidden else "none of " + ", ".join(NOT_FOR_INFO))]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
