"""Golden data recorded from real `oc adm release`: the fixed inputs, the cases, and how outputs are compared.

`dev/record-golden` runs oc on these inputs and writes what it produced under `tests/golden/`;
`tests/test_golden.py` runs okd-release on the same inputs and compares. The inputs live on registries at
fixed loopback addresses, because pullspecs (and so the payload bytes) name the registry host.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import stat
import tarfile
import zipfile
from pathlib import Path

from msgspec import Struct

from okd_release.content import Descriptor, RawManifest
from okd_release.image import manifest as manifests
from okd_release.image.build import push_blob_if_missing
from okd_release.image.store import ImageStore
from okd_release.mediatypes import DOCKER_MANIFEST

SOURCE_ADDRESS = "127.0.0.77"
MIRROR_ADDRESS = "127.0.0.78"
PORT = 5000
SOURCE = f"{SOURCE_ADDRESS}:{PORT}"
MIRROR = f"{MIRROR_ADDRESS}:{PORT}"
CONTENT = "okd/content"
RELEASE_REPOSITORY = "okd/release"
VERSION = "4.15.0-0.okd-sample"
NEXT_VERSION = "4.15.1-0.okd-sample"
PREVIOUS = "4.14.0,4.14.1"
RELEASE = f"{SOURCE}/{RELEASE_REPOSITORY}:golden"
NEXT_RELEASE = f"{SOURCE}/{RELEASE_REPOSITORY}:golden-next"
RELEASES = {"golden": RELEASE, "golden-next": NEXT_RELEASE}
# the directory oc wrote in the mirror-to-dir case, kept so that okd-release is tested uploading oc's own layout
OC_DISK_MIRROR = Path(__file__).resolve().parents[3] / "tests" / "golden" / "oc-disk-mirror"


class Case(Struct, frozen=True):
    """One command run by oc (`oc adm release ...`) and by okd-release (`okd-release ...`) on the same inputs.

    `args` may hold `{release}`, `{next}`, `{mirror}`, `{out}` (a fresh directory) and `{oc_dir}` (`OC_DISK_MIRROR`,
    recorded by the mirror-to-dir case); `{insecure}` becomes
    `--insecure=true` for oc and `--insecure` for okd-release. `capture` is `stdout` or `tree` (the
    listing of `{out}`, archives opened).
    """

    name: str
    args: tuple[str, ...]
    capture: str = "stdout"

    def argv(self, tool: str, out: Path) -> list[str]:
        values = {"release": RELEASE, "next": NEXT_RELEASE, "mirror": f"{MIRROR}/mirror/{self.name}", "out": str(out),
                  "oc_dir": str(OC_DISK_MIRROR)}
        argv = []
        for arg in self.args:
            if arg == "{insecure}":
                argv.append("--insecure=true" if tool == "oc" else "--insecure")
            else:
                argv.append(arg.format(**values))
        return argv


def _case(name: str, *args: str, capture: str = "stdout") -> Case:
    return Case(name, args, capture)


CASES = (
    _case("info", "info", "{insecure}", "{release}"),
    _case("info-pullspecs", "info", "{insecure}", "--pullspecs", "{release}"),
    _case("info-commits", "info", "{insecure}", "--commits", "{release}"),
    _case("info-commit-urls", "info", "{insecure}", "--commit-urls", "{release}"),
    _case("info-size", "info", "{insecure}", "--size", "{release}"),
    _case("info-contents", "info", "{insecure}", "--contents", "{release}"),
    _case("info-image-for", "info", "{insecure}", "--image-for", "cli", "{release}"),
    _case("info-json", "info", "{insecure}", "-o", "json", "{release}"),
    _case("info-name", "info", "{insecure}", "-o", "name", "{release}"),
    _case("info-pullspec", "info", "{insecure}", "-o", "pullspec", "{release}"),
    _case("info-digest", "info", "{insecure}", "-o", "digest", "{release}"),
    _case("info-changes", "info", "{insecure}", "{release}", "{next}"),
    _case("info-changes-commits", "info", "{insecure}", "--commits", "{release}", "{next}"),
    _case("info-changes-json", "info", "{insecure}", "-o", "json", "{release}", "{next}"),
    _case("extract-image-references", "extract", "{insecure}", "--file", "image-references", "{release}"),
    _case("extract-release-metadata", "extract", "{insecure}", "--file", "release-metadata", "{release}"),
    _case("extract-manifests", "extract", "{insecure}", "--to", "{out}", "{release}", capture="tree"),
    _case("extract-oc-linux", "extract", "{insecure}", "--command", "oc", "--command-os", "linux/amd64",
          "--to", "{out}", "{release}", capture="tree"),
    _case("extract-installer-linux", "extract", "{insecure}", "--command", "openshift-install",
          "--command-os", "linux/amd64", "--to", "{out}", "{release}", capture="tree"),
    _case("extract-oc-all", "extract", "{insecure}", "--command", "oc", "--command-os", "*", "--to", "{out}",
          "{release}", capture="tree"),
    _case("mirror-to-dir", "mirror", "{insecure}", "--from", "{release}", "--to-dir", "{out}", capture="tree"),
    _case("mirror-to", "mirror", "{insecure}", "--from", "{release}", "--to", "{mirror}"),
    _case("mirror-dry-run", "mirror", "{insecure}", "--from", "{release}", "--to", "{mirror}", "--dry-run"),
    _case("mirror-idms", "mirror", "{insecure}", "--from", "{release}", "--to", "{mirror}",
          "--print-mirror-instructions", "idms"),
    # oc prints no mirror configuration when it uploads from a directory; okd-release does (README), so none here
    _case("mirror-from-oc-dir", "mirror", "{insecure}", "--from-dir", "{oc_dir}", "--from",
          f"file://openshift/release:{VERSION}-x86_64", "--to", "{mirror}", "--print-mirror-instructions", "none"),
)


# -- the recorded releases: oc's exact release images, pushed again by the tests -----------------------
def save_release_image(store: ImageStore, repository: str, tag: str, directory: Path) -> None:
    """Keep a release image oc built: its manifest and config, and its payload layer (the last one)."""
    raw = store.get_manifest(repository, tag)
    image = manifests.parse(raw)
    assert isinstance(image, manifests.ImageManifest)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "manifest.json").write_bytes(raw.data)
    for name, blob in (("config.json", image.config), ("payload-layer.tar.gz", image.layers[-1])):
        with store.open_blob(repository, blob) as chunks:
            (directory / name).write_bytes(b"".join(chunks))


def push_release_image(store: ImageStore, repository: str, tag: str, directory: Path, base_repository: str) -> str:
    """Push a release image kept by `save_release_image`; its base layers are mounted from `base_repository`."""
    data = (directory / "manifest.json").read_bytes()
    raw = RawManifest(data, DOCKER_MANIFEST, "sha256:" + hashlib.sha256(data).hexdigest())
    image = manifests.parse(raw)
    assert isinstance(image, manifests.ImageManifest)
    blobs: dict[str, Descriptor] = {image.config.digest: image.config, image.layers[-1].digest: image.layers[-1]}
    files = {image.config.digest: "config.json", image.layers[-1].digest: "payload-layer.tar.gz"}
    for layer in image.layers[:-1]:
        if store.blob_size(repository, layer.digest) is None and not store.mount_blob(repository, layer.digest,
                                                                                        base_repository):
            raise FileNotFoundError(f"base layer {layer.digest} is not in {base_repository}")
    for digest, blob in blobs.items():
        data = (directory / files[digest]).read_bytes()
        push_blob_if_missing(store, repository, blob, lambda data=data: [data])  # type: ignore[misc]
    store.put_manifest(repository, tag, raw)
    return raw.digest


# -- outputs as comparable text ------------------------------------------------------------------------
def tree(root: Path) -> str:
    """Every path under `root`: kind, mode, size and sha256 (or link target); archives listed inside too."""
    lines = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        info = path.lstat()
        mode = oct(stat.S_IMODE(info.st_mode))
        if path.is_symlink():
            lines.append(f"link {mode} {relative} -> {os.readlink(path)}")
        elif path.is_dir():
            lines.append(f"dir  {mode} {relative}/")
        else:
            data = path.read_bytes()
            lines.append(f"file {mode} {_content(path, data)} {relative}")
            lines.extend(f"  {line}" for line in _archive_listing(relative, data))
    return "\n".join(lines) + "\n"


def _content(path: Path, data: bytes) -> str:
    """Size and digest of what a file holds. Compression is Go's deflate in oc and zlib's here, so a gzip
    archive counts by its uncompressed tar (as a layer by its diffID), a zip by its listed entries, and a
    checksum file by those same digests."""
    if path.name.endswith((".tar.gz", ".tgz")):
        tar = gzip.decompress(data)
        return f"tar:{len(tar)} {_short(tar)}"
    if path.name.endswith(".zip"):
        return "zip"
    if path.name == "sha256sum.txt":
        data = _uncompressed_checksums(path.parent, data)
    return f"{len(data)} {_short(data)}"


def _uncompressed_checksums(directory: Path, data: bytes) -> bytes:
    lines = []
    for line in data.decode(errors="replace").splitlines():
        digest, separator, name = line.partition("  ")
        archive = directory / name
        if separator and name.endswith((".tar.gz", ".tgz")) and archive.is_file():
            digest = "tar:" + hashlib.sha256(gzip.decompress(archive.read_bytes())).hexdigest()
        elif separator and name.endswith(".zip"):
            digest = "zip"
        lines.append(f"{digest}{separator}{name}")
    return ("\n".join(lines) + "\n").encode()


def _short(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _archive_listing(name: str, data: bytes) -> list[str]:
    if name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            rows = []
            for member in archive:
                content = archive.extractfile(member).read() if member.isreg() else b""  # type: ignore[union-attr]
                target = f" -> {member.linkname}" if member.issym() or member.islnk() else ""
                rows.append(f"{'hlnk' if member.islnk() else member.type.decode() or '0'} {oct(member.mode)} "
                            f"{member.size} {_short(content) if member.isreg() else '-'} {member.name}{target}")
            return rows
    if name.endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return [f"zip {oct((entry.external_attr >> 16) & 0o777)} {entry.file_size} "
                    f"{_short(archive.read(entry))} {entry.filename}" for entry in archive.infolist()]
    return []


_DURATION = re.compile(r"\b\d+(\.\d+)?(ns|µs|us|ms|s|m|h|d|y)\b")
_SPACES = re.compile(r"(?<=\S) {2,}")
_RATE = re.compile(r"\(\d+(\.\d+)?\s*[KMG]?i?B/s\)")


def normalise(text: str, out: Path | None = None) -> str:
    """What varies between runs of the same command: the output directory, durations and rates."""
    if out is not None:
        text = text.replace(str(out), "{out}")
    text = _DURATION.sub("<duration>", _RATE.sub("(<rate>)", text))
    if "<duration>" in text:
        # an age's width (2y, 16m) sets its column's width and so the padding of the whole table
        text = "\n".join(_SPACES.sub(" ", line) for line in text.split("\n"))
    return _sort_digest_lines(text)


def _sort_digest_lines(text: str) -> str:
    """Lines printed as images complete (`sha256:... DEST`) come in any order: sort each run of them."""
    lines, run, result = text.split("\n"), [], []
    for line in lines + [""]:
        if line.startswith("sha256:"):
            run.append(line)
            continue
        result.extend(sorted(run))
        run = []
        result.append(line)
    return "\n".join(result[:-1])


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
