"""The speed table of issue 18: okd-release against the copy limit and its peers, measured in one run.

- fresh mirror: okd-release mirror, the copy limit (bench/copylimit.py: http.client, threads, no project
  code), the copy limit verifying every blob's digest as okd-release does (`--verify`), parallel
  `skopeo copy`, and `oc adm release mirror` when OC=/path/to/oc is set; each into a new registry.
- re-mirror into a complete target: okd-release mirror against `skopeo sync` (and oc), each into a target
  it completed itself before the rounds.
- small commands: info, info --commits, extract --command oc, new -f, against oc (when OC is set); new -f also
  against its read limit (bench/readlimit.py: the requests building a release must make, http.client,
  threads, no project code).
- start-up: what `okd-release info` imports (python -X importtime), see bench/startup.py.

Rounds are interleaved (each contender once per round, the orders balanced), and medians compared; the
spread (min-max of the rounds) says how noisy the machine was.

    OC=/tmp/oc BEFORE=/tmp/okd-before/src .venv/bin/python -m bench.speed [--images 155] [--layer-mb 8] [--rounds 3]

BEFORE=DIR (a copy of an older src/) adds that tree's okd-release as one more contender in every round, so
before and after are measured side by side in one run.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bench import startup
from bench.harness import (
    VERSION,
    Measured,
    Release,
    Series,
    interleaved,
    make_release,
    okd_release,
    paired,
    ratio,
    run_measured,
    start_registry,
)
from okd_release.testing.localregistry import LocalRegistry

COPY_LIMIT = str(Path(__file__).with_name("copylimit.py"))
READ_LIMIT = str(Path(__file__).with_name("readlimit.py"))
NEW_WORKERS = 8  # okd-release new resolves images on 8 threads; the read limit gets as many
CASES = ("fresh", "remirror", "commands")
COMMANDS = {"info": "info", "commits": "info --commits", "extract": "extract --command", "new": "new -f"}
"""The small commands `--commands` chooses from: its name for each, and the case's."""


class Bench:
    def __init__(self, source: LocalRegistry, release: Release, work: Path, workers: int, oc: str | None,
                 before: str | None) -> None:
        self.source, self.release, self.work, self.workers, self.oc = source, release, work, workers, oc
        # okd-release trees measured: this one, and the one before the changes (when given)
        self.trees: dict[str, str | None] = {"okd-release": None} | ({"before": before} if before else {})
        self.images_file = work / "images.json"
        self.images_file.write_text(json.dumps(release.images))

    # -- fresh mirror: each run into a registry of its own ---------------------------------------------
    def fresh(self, run: Callable[[str], Measured], again: bool = False) -> Callable[[], Measured]:
        """`run` into a new registry; with `again`, a failed run is run once more into another new registry."""
        def once() -> Measured:
            target = start_registry("target")
            try:
                return run(target.host)
            finally:
                target.remove()

        def measured() -> Measured:
            try:
                return once()
            except SystemExit as failure:
                if not again:
                    raise
                print(f"  {str(failure)[-300:]}\n  (run again into a new registry)", file=sys.stderr, flush=True)
                return once()
        return measured

    def ours_mirror(self, target: str, tree: str = "okd-release") -> Measured:
        return okd_release("mirror", "--insecure", "--from", self.release.pullspec, "--to", f"{target}/{tree}/mirror",
                           "--max-per-registry", str(self.workers), "--print-mirror-instructions", "none",
                           src=self.trees[tree])[0]

    def limit_mirror(self, target: str, verify: bool = False) -> Measured:
        return run_measured([sys.executable, COPY_LIMIT, self.source.host, f"{target}/limit/mirror",
                             str(self.images_file), "--workers", str(self.workers), *(["--verify"] if verify else [])])[0]

    def skopeo_copy(self, target: str) -> Measured:
        """One `skopeo copy` per image, `workers` at a time (xargs -P); CPU and RSS cover every process."""
        lines = "".join(f"docker://{self.source.host}/{repository}@{digest}\ndocker://{target}/skopeo/mirror:{name}\n"
                        for repository, digest, name in self.release.images)
        listing = self.work / "skopeo-copy.txt"
        listing.write_text(lines)
        return run_measured(["sh", "-c", f"xargs -P {self.workers} -n 2 skopeo copy --quiet --src-tls-verify=false "
                                         f"--dest-tls-verify=false --preserve-digests < {listing}"])[0]

    def oc_mirror(self, target: str) -> Measured:
        assert self.oc
        return run_measured([self.oc, "adm", "release", "mirror", "--insecure=true", "--from", self.release.pullspec,
                             "--to", f"{target}/oc/mirror", f"--max-per-registry={self.workers}"])[0]

    def skopeo_sync(self, target: str) -> Measured:
        names: dict[str, list[str]] = {}
        for repository, _, name in self.release.images:
            names.setdefault(repository, []).append(VERSION if name == "release" else name)
        listing = self.work / "skopeo-sync.yaml"
        listing.write_text(json.dumps({self.source.host: {"tls-verify": False, "images": names}}))  # JSON is YAML
        return run_measured(["skopeo", "sync", "--src", "yaml", "--dest", "docker", "--dest-tls-verify=false",
                             str(listing), f"{target}/sync"])[0]

    # -- the cases --------------------------------------------------------------------------------------
    def fresh_mirror(self, rounds: int) -> dict[str, Series]:
        contenders = {f"{tree} mirror": self.fresh(functools.partial(self.ours_mirror, tree=tree)) for tree in self.trees}
        contenders |= {"copy limit": self.fresh(self.limit_mirror),
                       "copy limit, verified": self.fresh(functools.partial(self.limit_mirror, verify=True)),
                       # separate skopeo processes pushing one blob into one repository at once sometimes get a
                       # 500 from the registry (its filesystem store races): that run is made again
                       "skopeo copy": self.fresh(self.skopeo_copy, again=True)}
        if self.oc:
            contenders["oc adm release mirror"] = self.fresh(self.oc_mirror)
        return interleaved(contenders, rounds)

    def re_mirror(self, rounds: int) -> dict[str, Series]:
        complete = start_registry("complete")
        try:
            contenders: dict[str, Callable[[], Measured]] = {
                f"{tree} re-mirror": functools.partial(self.ours_mirror, complete.host, tree) for tree in self.trees}
            contenders["skopeo sync re-mirror"] = lambda: self.skopeo_sync(complete.host)
            if self.oc:
                contenders["oc re-mirror"] = lambda: self.oc_mirror(complete.host)
            for contender in contenders.values():
                contender()  # completes the target, each tool its own repositories
            return interleaved(contenders, rounds)
        finally:
            complete.remove()

    def small_commands(self, rounds: int, chosen: tuple[str, ...] = tuple(COMMANDS.values())) -> dict[str, Series]:
        pullspec, host = self.release.pullspec, self.source.host
        serial = iter(range(1_000_000))

        def fresh_dir() -> str:
            return tempfile.mkdtemp(prefix="extract-", dir=self.work)

        def ours(src: str | None) -> dict[str, Callable[[], Measured]]:
            return {
                "info": lambda: okd_release("info", "--insecure", pullspec, src=src)[0],
                "info --commits": lambda: okd_release("info", "--insecure", "--commits", pullspec, src=src)[0],
                "extract --command": lambda: okd_release("extract", "--insecure", "--command", "oc", "--to", fresh_dir(),
                                                         pullspec, src=src)[0],
                "new -f": lambda: okd_release("new", "--insecure", "-f", str(self.release.stream), "--name", VERSION,
                                              "--to-image", f"{host}/bench/new:ours-{next(serial)}", src=src)[0],
            }

        contenders: dict[str, Callable[[], Measured]] = {
            "new -f read limit": lambda: run_measured([sys.executable, READ_LIMIT, host, str(self.release.stream),
                                                       f"bench/new:limit-{next(serial)}",
                                                       "--workers", str(NEW_WORKERS)])[0],
        } if "new -f" in chosen else {}
        for tree, src in self.trees.items():
            contenders |= {f"{tree} {k}": v for k, v in ours(src).items()}
        if self.oc:
            oc = [self.oc, "adm", "release"]
            contenders |= {
                "oc info": lambda: run_measured([*oc, "info", "--insecure=true", pullspec])[0],
                "oc info --commits": lambda: run_measured([*oc, "info", "--insecure=true", "--commits", pullspec])[0],
                "oc extract --command": lambda: run_measured([*oc, "extract", "--insecure=true", "--command=oc",
                                                              f"--to={fresh_dir()}", pullspec])[0],
                "oc new -f": lambda: run_measured([*oc, "new", "--insecure=true", "-f", str(self.release.stream),
                                                   "--name", VERSION, "--to-image",
                                                   f"{host}/bench/new:oc-{next(serial)}"])[0],
            }
        return interleaved({name: run for name, run in contenders.items()
                            if name == "new -f read limit" or name.split(" ", 1)[1] in chosen}, rounds)


def table(results: dict[str, Series], tree: str, gigabytes: float, images: int) -> str:
    """The issue's ratio table for one okd-release tree, as Markdown (the rows of the cases measured)."""
    rows = [f"| case | {tree} | best peer / limit | ratio | goal |", "|---|---|---|---|---|"]
    ours, limit = results.get(f"{tree} mirror"), results.get("copy limit")
    if ours and limit:
        rows.append(f"| fresh mirror, {images} images, {gigabytes:.2f} GB | {ours.seconds:.2f} s, {ours.cpu:.1f} CPU s "
                    f"| copy limit {limit.seconds:.2f} s, {limit.cpu:.1f} CPU s | {ratio(ours.seconds, limit.seconds)} "
                    f"(paired {paired(ours, limit)}; CPU {ratio(ours.cpu, limit.cpu)}) | <= 1.1x, CPU <= 2x |")
        verified = results.get("copy limit, verified")
        if verified:
            rows.append(f"| fresh mirror vs the copy limit verifying every blob (SHA-256) | {ours.seconds:.2f} s | "
                        f"{verified.seconds:.2f} s, {verified.cpu:.1f} CPU s | {ratio(ours.seconds, verified.seconds)} "
                        f"(paired {paired(ours, verified)}; CPU {ratio(ours.cpu, verified.cpu)}) | |")
        for peer in ("skopeo copy", "oc adm release mirror"):
            if peer in results:
                rows.append(f"| fresh mirror vs {peer} | {ours.seconds:.2f} s | {peer} {results[peer].seconds:.2f} s, "
                            f"{results[peer].cpu:.1f} CPU s | {ratio(ours.seconds, results[peer].seconds)} | |")
    again, sync = results.get(f"{tree} re-mirror"), results.get("skopeo sync re-mirror")
    if again and sync:
        rows.append(f"| re-mirror into a complete target | {again.seconds:.2f} s, {again.cpu:.2f} CPU s | skopeo sync "
                    f"{sync.seconds:.2f} s, {sync.cpu:.2f} CPU s | {ratio(again.seconds, sync.seconds)} | <= 0.5x skopeo sync |")
        if "oc re-mirror" in results:
            rows.append(f"| re-mirror vs oc | {again.seconds:.2f} s | oc {results['oc re-mirror'].seconds:.2f} s | "
                        f"{ratio(again.seconds, results['oc re-mirror'].seconds)} | |")
    for command in ("info", "info --commits", "extract --command", "new -f"):
        mine, theirs = results.get(f"{tree} {command}"), results.get(f"oc {command}")
        if mine is None:
            continue
        peer = f"oc {theirs.seconds:.3f} s, {theirs.cpu:.2f} CPU s" if theirs else "(no OC given)"
        rows.append(f"| `{command}` ({images} images) | {mine.seconds:.3f} s, {mine.cpu:.2f} CPU s | {peer} | "
                    f"{ratio(mine.seconds, theirs.seconds) if theirs else 'n/a'}"
                    f"{f' (paired {paired(mine, theirs)})' if theirs else ''} | <= 1.0x oc |")
    mine, limit = results.get(f"{tree} new -f"), results.get("new -f read limit")
    if mine and limit:
        theirs = results.get("oc new -f")
        oc_part = f"; oc {ratio(theirs.seconds, limit.seconds)} (paired {paired(theirs, limit)})" if theirs else ""
        rows.append(f"| `new -f` vs its read limit | {mine.seconds:.3f} s, {mine.cpu:.2f} CPU s | read limit "
                    f"{limit.seconds:.3f} s, {limit.cpu:.2f} CPU s | {ratio(mine.seconds, limit.seconds)} "
                    f"(paired {paired(mine, limit)}){oc_part} | |")
    return "\n".join(rows)


def spreads(results: dict[str, Series]) -> str:
    return "\n".join(f"  {name:30} median {series.seconds:7.3f}s  CPU {series.cpu:6.2f}s  peak RSS "
                     f"{series.rss_mb:6.1f} MB  spread {series.spread()}" for name, series in results.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=155)
    parser.add_argument("--layer-mb", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the mirror cases")
    parser.add_argument("--command-rounds", type=int, default=5, help="rounds of the small commands")
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="which cases to measure")
    parser.add_argument("--commands", nargs="+", choices=list(COMMANDS), default=list(COMMANDS),
                        help="which small commands to measure (the commands case)")
    arguments = parser.parse_args()
    oc = os.environ.get("OC")
    source = start_registry("source")
    work = Path(tempfile.mkdtemp(prefix="okd-bench-"))
    try:
        release = make_release(source, arguments.images, arguments.layer_mb, work)
        bench = Bench(source, release, work, arguments.workers, oc, os.environ.get("BEFORE"))
        print(f"release of {len(release.images)} images; {arguments.workers} concurrent; OC={oc or 'not given'}",
              file=sys.stderr)
        results: dict[str, Series] = {}
        if "fresh" in arguments.cases:
            results |= bench.fresh_mirror(arguments.rounds)
        if "remirror" in arguments.cases:
            results |= bench.re_mirror(arguments.rounds)
        if "commands" in arguments.cases:
            results |= bench.small_commands(arguments.command_rounds, tuple(COMMANDS[c] for c in arguments.commands))
        size = sum(int(line.split()[0]) for line in [os.popen(f"du -sb {source.storage}").read()])  # noqa: S605
        for tree in reversed(bench.trees):
            print(table(results, tree, size / 1e9, len(release.images)), end="\n\n")
        print("\nmedians, CPU, peak RSS and the spread of the rounds (min-max, ± half-range / median):")
        print(spreads(results))
        print()
        for tree, src in reversed(bench.trees.items()):
            print(f"{tree} " + startup.report(release.pullspec, src))
    finally:
        source.remove()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
