"""Run real oc on the golden inputs and write what it produced under tests/golden/ (see dev/record-golden)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from okd_release.registry import Registries, RegistryOptions
from okd_release.release.payload.model import ImageStream
from okd_release.stores import RegistryStore
from okd_release.testing import golden, localregistry
from okd_release.testing.sample import push_sample, write_image_stream

ROOT = Path(__file__).resolve().parent.parent / "tests" / "golden"


def oc(binary: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run([binary, "adm", "release", *args], capture_output=True, text=True, timeout=600)
    if check and completed.returncode != 0:
        raise SystemExit(f"oc adm release {' '.join(args)} failed: {completed.stderr}")
    return completed


def main(binary: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="okd-golden-"))
    source = localregistry.start(work / "source", address=golden.SOURCE_ADDRESS, port=golden.PORT)
    mirror = localregistry.start(work / "mirror", address=golden.MIRROR_ADDRESS, port=golden.PORT)
    try:
        record(binary, work)
    finally:
        source.remove()
        mirror.remove()
        shutil.rmtree(work, ignore_errors=True)


def build_releases(binary: str, store: RegistryStore, stream: ImageStream, stream_file: Path) -> None:
    """oc builds the golden releases (NEW_RELEASES=1 or none recorded yet); they are kept under releases/."""
    oc(binary, "new", "--insecure=true", "-f", str(stream_file), "--to-image", golden.RELEASE, "--name", golden.VERSION,
       "--previous", golden.PREVIOUS)
    replacement = stream.tag("prometheus-operator")
    assert replacement is not None
    oc(binary, "new", "--insecure=true", "--from-release", golden.RELEASE, "--to-image", golden.NEXT_RELEASE,
       "--name", golden.NEXT_VERSION, f"prometheus={replacement.pullspec}")
    for name, pullspec in golden.RELEASES.items():
        golden.save_release_image(store, golden.RELEASE_REPOSITORY, pullspec.rsplit(":", 1)[1], ROOT / "releases" / name)


def record(binary: str, work: Path) -> None:
    with Registries(RegistryOptions(insecure=True)) as registries:
        store = RegistryStore(registries.client(golden.SOURCE))
        sample = push_sample(store, golden.CONTENT)
        stream = work / "image-stream.json"
        write_image_stream(sample.stream, stream)
        if os.environ.get("NEW_RELEASES") or not (ROOT / "releases" / "golden" / "manifest.json").exists():
            build_releases(binary, store, sample.stream, stream)
        else:  # the cases depend only on the release bytes: keep oc's releases so re-recording changes nothing else
            for name, pullspec in golden.RELEASES.items():
                golden.push_release_image(store, golden.RELEASE_REPOSITORY, pullspec.rsplit(":", 1)[1],
                                          ROOT / "releases" / name, golden.CONTENT)
    outputs = ROOT / "cases"
    shutil.rmtree(outputs, ignore_errors=True)
    outputs.mkdir(parents=True)
    exits = {}
    for case in golden.CASES:
        out = work / "out" / case.name
        out.mkdir(parents=True)
        completed = oc(binary, *case.argv("oc", out), check=False)
        text = golden.tree(out) if case.capture == "tree" else completed.stdout
        (outputs / f"{case.name}.txt").write_text(golden.normalise(text, out))
        if case.name == "mirror-to-dir":  # oc's own directory, uploaded by the mirror-from-oc-dir case
            shutil.rmtree(golden.OC_DISK_MIRROR, ignore_errors=True)
            shutil.copytree(out, golden.OC_DISK_MIRROR, symlinks=True)
        exits[case.name] = completed.returncode
        print(f"{case.name}: exit {completed.returncode}", file=sys.stderr)
    golden.write_json(ROOT / "exit-codes.json", exits)
    source = os.environ.get("OC_SOURCE")  # the openshift/oc work tree the binary was built from
    commit = subprocess.run(["git", "-C", source, "log", "-1", "--format=%H %cI"], capture_output=True, text=True,
                            check=True).stdout.split() if source else ["unknown", ""]
    golden.write_json(ROOT / "oc-version.json", {"commit": commit[0], "committed": commit[1]})


if __name__ == "__main__":
    main(sys.argv[1])
