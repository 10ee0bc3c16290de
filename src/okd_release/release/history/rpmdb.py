"""The RPM packages of an OS image, read from the rpm database (`rpmdb.sqlite`) in its layers.

The layers are streamed from the top down until one holds the database (or deletes it, with a whiteout):
only the database file is written, to a temporary file, so memory stays bounded whatever the layer's
size, and each layer's blob is verified against its digest before anything read from it is believed.
What a layer holds is cached by the layer's digest (`--rpmdb-cache`): OS images of two releases that
share the layer read it once. Each package header is parsed here, without the `rpm` tool.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msgspec import Struct, field

from okd_release import names
from okd_release.content import Descriptor
from okd_release.errors import OkdReleaseError
from okd_release.image.layer import COPY_BUFFER, layer_tar, normalise
from okd_release.image.manifest import ImageManifest
from okd_release.image.store import ImageStore

RPMDB_PATHS = ("var/lib/rpm/rpmdb.sqlite", "usr/lib/sysimage/rpm/rpmdb.sqlite", "usr/share/rpm/rpmdb.sqlite")
"""Where images keep the database, in the order oc looks (var/lib/rpm, usr/lib/sysimage/rpm, usr/share/rpm)."""
MAX_RPMDB = 2 * 1024 * 1024 * 1024
"""A database larger than this is refused rather than spooled to disk (a real one is tens of MB)."""
MAX_HEADER = 64 * 1024 * 1024
CACHE_VERSION = 1

_NAME, _VERSION, _RELEASE, _EPOCH, _ARCH = 1000, 1001, 1002, 1003, 1022
_STRING, _INT32 = 6, 4
_FOUND, _REMOVED = "found", "removed"


class RpmdbError(OkdReleaseError):
    """An OS image whose rpm database is missing or cannot be read."""


class Package(Struct, frozen=True):
    """One installed package: oc's five fields (epoch `0` when the header has none)."""

    name: str
    epoch: str
    version: str
    release: str
    arch: str

    @property
    def evr(self) -> str:
        """`version-release`, with `epoch:` in front when the epoch is not 0 (as oc shows versions)."""
        base = f"{self.version}-{self.release}"
        return base if self.epoch == "0" else f"{self.epoch}:{base}"


# -- headers and the database -------------------------------------------------------------------------
def parse_header(blob: bytes, where: str = "rpm header") -> Package:
    """A package's name, epoch, version, release and arch from its header blob (rpm's on-disk header, no magic)."""
    if len(blob) < 8:
        raise RpmdbError(f"{where}: truncated header")
    entries, size = struct.unpack_from(">ii", blob)
    start = 8 + 16 * entries
    if entries < 0 or size < 0 or entries > 1_000_000 or start + size > len(blob):
        raise RpmdbError(f"{where}: malformed header ({entries} entries, {size} bytes of data)")
    store = memoryview(blob)[start:start + size]
    values: dict[int, str] = {}
    for number in range(entries):
        tag, kind, offset, count = struct.unpack_from(">iiii", blob, 8 + 16 * number)
        if tag not in (_NAME, _VERSION, _RELEASE, _EPOCH, _ARCH):
            continue
        if offset < 0 or offset >= size or count < 1:
            raise RpmdbError(f"{where}: tag {tag} points outside the header")
        if kind == _STRING and tag != _EPOCH:
            end = bytes(store[offset:]).find(b"\x00")
            if end < 0:
                raise RpmdbError(f"{where}: tag {tag} is not terminated")
            values[tag] = _text(bytes(store[offset:offset + end]), where)
        elif kind == _INT32 and tag == _EPOCH:
            if offset + 4 > size:
                raise RpmdbError(f"{where}: epoch points outside the header")
            values[tag] = str(struct.unpack_from(">I", store, offset)[0])
        else:
            raise RpmdbError(f"{where}: tag {tag} has unexpected type {kind}")
    if _NAME not in values:
        raise RpmdbError(f"{where}: header has no package name")
    return Package(values[_NAME], values.get(_EPOCH, "0"), values.get(_VERSION, ""), values.get(_RELEASE, ""),
                   values.get(_ARCH, "(none)"))


def _text(raw: bytes, where: str) -> str:
    """A header string, which is printed: printable, no spaces (rpm allows neither in these tags)."""
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise RpmdbError(f"{where}: a package field is not UTF-8") from None
    if not text.isprintable() or any(c.isspace() for c in text) or len(text) > 1024:
        raise RpmdbError(f"{where}: invalid package field {names.shown(text)}")
    return text


def read_database(path: Path, where: str) -> tuple[Package, ...]:
    """Every package of an rpmdb.sqlite file (opened read-only, as an immutable file: no journal is touched)."""
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    except sqlite3.Error as error:
        raise RpmdbError(f"{where}: cannot open the rpm database: {error}") from None
    try:
        connection.execute("PRAGMA trusted_schema = OFF")
        packages = []
        for number, (blob,) in enumerate(connection.execute("SELECT blob FROM Packages ORDER BY hnum")):
            if not isinstance(blob, bytes) or len(blob) > MAX_HEADER:
                raise RpmdbError(f"{where}: package {number} is not a header")
            packages.append(parse_header(blob, f"{where}: package {number}"))
        return tuple(packages)
    except sqlite3.Error as error:
        raise RpmdbError(f"{where}: not an rpm sqlite database: {error}") from None
    finally:
        connection.close()


# -- layers ------------------------------------------------------------------------------------------
class LayerRpmdb(Struct, frozen=True):
    """What one layer says about each database path: its packages, or that it deletes it (a whiteout)."""

    found: dict[str, tuple[Package, ...]] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {"version": CACHE_VERSION, "removed": sorted(self.removed),
                "found": {path: [[p.name, p.epoch, p.version, p.release, p.arch] for p in packages]
                          for path, packages in self.found.items()}}

    @classmethod
    def from_json(cls, value: Any) -> LayerRpmdb | None:
        """A cache entry, or None when it is not one this version wrote (it is then read again)."""
        try:
            if value["version"] != CACHE_VERSION:
                return None
            found = {str(path): tuple(Package(*map(str, fields)) for fields in packages)
                     for path, packages in value["found"].items() if path in RPMDB_PATHS}
            return cls(found, frozenset(p for p in value["removed"] if p in RPMDB_PATHS))
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def _whiteouts(name: str) -> set[str]:
    """The database paths a whiteout entry deletes (`.wh.<name>`, or `.wh..wh..opq` for a whole directory)."""
    directory, _, base = name.rpartition("/")
    if base == ".wh..wh..opq":
        return {p for p in RPMDB_PATHS if p.startswith(directory + "/")}
    if base.startswith(".wh."):
        gone = f"{directory}/{base[4:]}" if directory else base[4:]
        return {p for p in RPMDB_PATHS if p == gone or p.startswith(gone + "/")}
    return set()


def _spool(handle: Any, spool_dir: Path) -> Path:
    descriptor, name = tempfile.mkstemp(dir=spool_dir, suffix=".rpmdb.sqlite")
    with os.fdopen(descriptor, "wb") as out:
        while chunk := handle.read(COPY_BUFFER):
            out.write(chunk)
    return Path(name)


def scan_layer(chunks: Iterator[bytes], what: str, spool_dir: Path) -> LayerRpmdb:
    """Stream a layer: spool each database file it holds, note each it deletes; the blob is verified first."""
    spooled: dict[str, Path] = {}
    removed: set[str] = set()
    links: dict[str, str] = {}
    with layer_tar(chunks, what) as tar:
        for member in tar:
            name = normalise(member.name)
            removed |= _whiteouts(name)
            if name not in RPMDB_PATHS:
                continue
            if member.islnk():
                links[name] = normalise(member.linkname)
            elif member.isreg():
                if member.size > MAX_RPMDB:
                    raise RpmdbError(f"{what}: {name} is larger than {MAX_RPMDB} bytes")
                spooled[name] = _spool(tar.extractfile(member), spool_dir)
            else:
                removed.add(name)  # a directory or symlink in its place: no database at this path
    if links:
        raise RpmdbError(f"{what}: {', '.join(sorted(links))} is a hard link; such layers are not read yet")
    found = {path: read_database(file, f"{path} in {what}") for path, file in spooled.items()}
    return LayerRpmdb(found, frozenset(removed - set(found)))


class RpmdbCache:
    """What each layer holds, as JSON files named by layer digest in a directory of the user's choosing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _file(self, digest: str) -> Path:
        return self.directory / (names.check_digest(digest, "layer digest").replace(":", "_") + ".json")

    def get(self, digest: str) -> LayerRpmdb | None:
        try:
            return LayerRpmdb.from_json(json.loads(self._file(digest).read_bytes()))
        except (OSError, ValueError):
            return None

    def put(self, digest: str, layer: LayerRpmdb) -> None:
        descriptor, name = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        with os.fdopen(descriptor, "w") as out:
            json.dump(layer.to_json(), out)
        os.replace(name, self._file(digest))  # whole or not at all, even with a concurrent reader


def _layer(store: ImageStore, repository: str, layer: Descriptor, cache: RpmdbCache, what: str) -> LayerRpmdb:
    cached = cache.get(layer.digest)
    if cached is not None:
        return cached
    with tempfile.TemporaryDirectory(prefix="okd-rpmdb-", dir=cache.directory) as spool:
        def read() -> LayerRpmdb:
            with store.open_blob(repository, layer) as chunks:
                return scan_layer(chunks, f"layer {layer.digest} of {what}", Path(spool))

        found = store.retrying(f"GET blob {layer.digest}", read)
    cache.put(layer.digest, found)
    return found


def image_packages(store: ImageStore, repository: str, image: ImageManifest, cache: RpmdbCache,
                   what: str) -> tuple[Package, ...]:
    """The packages of an image's rpm database: the topmost layer that holds one decides (a path a higher layer
    deleted does not count); within that layer, oc's order of paths."""
    deleted: set[str] = set()
    for layer in reversed(image.layers):
        seen = _layer(store, repository, layer, cache, what)
        for path in RPMDB_PATHS:
            if path in seen.found and path not in deleted:
                return seen.found[path]
        deleted |= seen.removed
    raise RpmdbError(f"{what} has no rpm database (looked for {', '.join(RPMDB_PATHS)}; only sqlite databases are read)")


# -- comparing ---------------------------------------------------------------------------------------
def package_versions(packages: tuple[Package, ...]) -> dict[str, str]:
    """oc's view of a database: {name: [epoch:]version-release} (for a name installed twice, the last)."""
    return {package.name: package.evr for package in packages}


class RpmDiff(Struct, frozen=True):
    """Packages changed ({name: (old, new)}), added and removed between two databases."""

    changed: dict[str, tuple[str, str]]
    added: dict[str, str]
    removed: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        """oc's `--rpmdb-diff -o json` (empty groups left out)."""
        value: dict[str, Any] = {}
        if self.changed:
            value["changed"] = {k: {"old": o, "new": n} for k, (o, n) in sorted(self.changed.items())}
        if self.added:
            value["added"] = dict(sorted(self.added.items()))
        if self.removed:
            value["removed"] = dict(sorted(self.removed.items()))
        return value

    def text(self) -> str:
        """oc's text: Changed, Removed, Added; each line sorted."""
        out = []
        for title, lines in (("Changed:", [f"  {k} {o} → {n}" for k, (o, n) in self.changed.items()]),
                             ("Removed:", [f"  {k} {v}" for k, v in self.removed.items()]),
                             ("Added:", [f"  {k} {v}" for k, v in self.added.items()])):
            if lines:
                out.append(title + "\n" + "".join(f"{line}\n" for line in sorted(lines)))
        return "".join(out)


def diff_packages(old: dict[str, str], new: dict[str, str]) -> RpmDiff:
    changed = {name: (old[name], new[name]) for name in old if name in new and old[name] != new[name]}
    return RpmDiff(changed, {n: v for n, v in new.items() if n not in old},
                   {n: v for n, v in old.items() if n not in new})
