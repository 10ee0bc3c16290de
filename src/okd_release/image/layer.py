"""Layers: deterministic tar.gz building to a file, and streamed reading of files from a layer."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, BinaryIO

from msgspec import Struct

from okd_release import mediatypes
from okd_release.content import Descriptor
from okd_release.errors import ManifestError
from okd_release.image import gotar

FIXED_MTIME = 0
COPY_BUFFER = 1024 * 1024


class LayerEntry(Struct, frozen=True):
    """One entry of a layer to build: a file (bytes or a source path), a directory or a link."""

    name: str
    data: bytes | None = None
    source: Path | None = None
    mode: int = 0o644
    kind: bytes = tarfile.REGTYPE
    linkname: str = ""
    mtime: float | None = None  # None: the layer's mtime

    @classmethod
    def directory(cls, name: str, mode: int = 0o755, mtime: float | None = None) -> LayerEntry:
        return cls(name, mode=mode, kind=tarfile.DIRTYPE, mtime=mtime)

    @classmethod
    def file(cls, name: str, data: bytes, mode: int = 0o644, mtime: float | None = None) -> LayerEntry:
        return cls(name, data=data, mode=mode, mtime=mtime)


class BuiltLayer(Struct, frozen=True):
    """A layer written to `path`: compressed digest and size, and its uncompressed diff_id."""

    path: Path
    digest: str
    size: int
    diff_id: str

    def descriptor(self, media_type: str = mediatypes.DOCKER_LAYER) -> Descriptor:
        return Descriptor(media_type, self.digest, self.size)

    def chunks(self) -> Iterator[bytes]:
        with open(self.path, "rb") as handle:
            while chunk := handle.read(COPY_BUFFER):
                yield chunk


class _HashingWriter(io.RawIOBase):
    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.hash.update(data)
        self.size += len(data)
        self.target.write(data)
        return len(data)


def build_layer(entries: Iterable[LayerEntry], directory: Path, mtime: int = FIXED_MTIME, compresslevel: int = 6) -> BuiltLayer:
    """Write a reproducible tar.gz: entries in the given order, owner 0, fixed mtimes, no gzip name or time."""

    def write(uncompressed: _HashingWriter) -> None:
        with tarfile.open(fileobj=uncompressed, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            for entry in entries:
                _add(tar, entry, mtime)

    return _write_layer(directory, compresslevel, write)


def build_go_layer(entries: Iterable[LayerEntry], directory: Path, mtime: int = FIXED_MTIME) -> BuiltLayer:
    """Write a tar.gz whose tar is byte for byte what Go's archive/tar writes for the same headers (oc's
    payload layer): see `gotar`. The gzip stream is zlib's, so only the uncompressed bytes (the diff_id) match Go's."""

    def write(uncompressed: _HashingWriter) -> None:
        for entry in entries:
            _add_go(uncompressed, entry, mtime)
        uncompressed.write(gotar.TRAILER)

    return _write_layer(directory, 6, write)


def _write_layer(directory: Path, compresslevel: int, write: Callable[[_HashingWriter], None]) -> BuiltLayer:
    """A new layer file in `directory`: the tar `write` makes, gzip-compressed with no name or time, and the
    digests of both the compressed and the uncompressed bytes."""
    import gzip  # noqa: PLC0415 - only building a layer needs these two; reading one is zlib's (tarfile)
    import tempfile  # noqa: PLC0415

    directory.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=directory, suffix=".layer")
    with os.fdopen(handle, "wb") as out:
        compressed = _HashingWriter(out)
        with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=compresslevel) as gz:
            uncompressed = _HashingWriter(gz)  # type: ignore[arg-type]
            write(uncompressed)
    return BuiltLayer(
        Path(name), "sha256:" + compressed.hash.hexdigest(), compressed.size, "sha256:" + uncompressed.hash.hexdigest()
    )


def _add_go(out: _HashingWriter, entry: LayerEntry, mtime: int) -> None:
    seconds = entry.mtime if entry.mtime is not None else mtime
    if entry.kind != tarfile.REGTYPE:
        out.write(gotar.header(entry.name, entry.mode, 0, seconds, entry.kind, entry.linkname))
        return
    if entry.source is None:
        data = entry.data or b""
        out.write(gotar.header(entry.name, entry.mode, len(data), seconds, entry.kind))
        out.write(data + gotar.padding(len(data)))
        return
    with open(entry.source, "rb") as source:
        size = os.fstat(source.fileno()).st_size
        out.write(gotar.header(entry.name, entry.mode, size, seconds, entry.kind))
        copied = 0
        while copied < size and (chunk := source.read(min(COPY_BUFFER, size - copied))):
            out.write(chunk)
            copied += len(chunk)
    if copied != size:
        raise OSError(f"{entry.source} changed size while it was added to a layer")
    out.write(gotar.padding(size))


def _add(tar: tarfile.TarFile, entry: LayerEntry, mtime: int) -> None:
    info = tarfile.TarInfo(entry.name)
    info.mode, info.type, info.linkname = entry.mode, entry.kind, entry.linkname
    info.mtime = entry.mtime if entry.mtime is not None else mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if entry.kind != tarfile.REGTYPE:
        tar.addfile(info)
    elif entry.source is not None:
        info.size = entry.source.stat().st_size
        with open(entry.source, "rb") as source:
            tar.addfile(info, source)
    else:
        data = entry.data or b""
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


class ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (a streamed blob). A chunk is kept as it came and
    copied once, into the reader's target, never re-sliced: `_offset` marks how much of it was read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: bytearray | memoryview) -> int:  # type: ignore[override]
        while self._offset >= len(self._buffer):
            try:
                self._buffer, self._offset = next(self._chunks), 0
            except StopIteration:
                self._buffer, self._offset = b"", 0
                return 0
        count = min(len(target), len(self._buffer) - self._offset)
        with memoryview(self._buffer) as view:
            target[:count] = view[self._offset:self._offset + count]
        self._offset += count
        return count

    def prefix(self, count: int) -> bytes:
        """Up to `count` bytes of what is still to be read, without consuming them (to tell a compression)."""
        while len(self._buffer) - self._offset < count:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer, self._offset = self._buffer[self._offset:] + chunk, 0
        return self._buffer[self._offset:self._offset + count]

    def drain(self) -> None:
        """Read the rest of the stream (so that its digest gets verified)."""
        self._buffer, self._offset = b"", 0
        for _ in self._chunks:
            pass


ZSTD_LAYER = "application/vnd.oci.image.layer.v1.tar+zstd"  # zstd:chunked layers have it too: plain zstd to a reader
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@contextlib.contextmanager
def layer_tar(chunks: Iterator[bytes], what: str, media_type: str | None = None) -> Iterator[tarfile.TarFile]:
    """A streamed layer as a tar file; the rest of the blob is read on exit so that its digest is verified.

    The compression is told by its first bytes (gzip, zstd, bzip2, xz, or none), and a layer whose
    `media_type` says zstd must be zstd. Decompression streams: memory stays bounded whatever the layer's size.
    A layer that does not parse is reported as a digest mismatch when its bytes are wrong, else as an
    invalid layer; never as a tar or compression library error.
    """
    reader = ChunkReader(chunks)
    buffered: BinaryIO = io.BufferedReader(reader, COPY_BUFFER)
    zstd = reader.prefix(len(ZSTD_MAGIC)) == ZSTD_MAGIC
    invalid: tuple[type[Exception], ...] = (tarfile.TarError, zlib.error, EOFError)  # tarfile's streams use zlib
    try:
        if media_type == ZSTD_LAYER and not zstd:
            raise tarfile.ReadError(f"its media type is {ZSTD_LAYER} but it is not zstd-compressed")
        source: BinaryIO = buffered
        if zstd:
            import zstandard  # a C library loaded only for the layers that need it

            invalid = (*invalid, zstandard.ZstdError)
            source = zstandard.ZstdDecompressor().stream_reader(buffered, read_across_frames=True)
        with tarfile.open(fileobj=source, mode="r|" if zstd else "r|*") as tar:
            yield tar
    except invalid as error:
        reader.drain()  # raises DigestMismatch if the bytes are not the blob's
        raise ManifestError(f"{what} is not a valid tar layer: {error}") from None
    reader.drain()


def normalise(name: str) -> str:
    """A tar member name as a relative path: './usr/bin/oc' and '/usr/bin/oc' are 'usr/bin/oc'."""
    name = name.lstrip("/")
    while name.startswith("./"):
        name = name[2:]
    return name.rstrip("/")


MAX_FILE = 64 * 1024 * 1024
MAX_FILES_TOTAL = 256 * 1024 * 1024  # a payload's manifests are tens of MiB; gigabytes of zeros gzip to a few MB


def read_files(chunks: Iterator[bytes], wanted: Callable[[str], bool], what: str = "layer",
               limit: int = MAX_FILE, total_limit: int = MAX_FILES_TOTAL,
               mtimes: dict[str, float] | None = None, media_type: str | None = None) -> dict[str, bytes]:
    """Small regular files of a streamed layer whose names `wanted` accepts; the whole blob is verified.

    Memory is bounded: a file over `limit` bytes, or files adding up to more than `total_limit`, are a
    ManifestError naming `what`, raised before the file that would cross the bound is read. `mtimes`, when
    given, receives each file's modification time (seconds since the epoch). `media_type`: the layer's, as `layer_tar` takes it.
    """
    found: dict[str, bytes] = {}
    total = 0
    with layer_tar(chunks, what, media_type) as tar:
        for member in tar:
            name = normalise(member.name)
            if member.isreg() and wanted(name):
                if member.size > limit:
                    raise ManifestError(f"{what}: {name} is larger than {limit} bytes")
                total += member.size
                if total > total_limit:
                    raise ManifestError(f"{what}: its files add up to more than {total_limit} bytes")
                handle = tar.extractfile(member)
                assert handle is not None
                found[name] = _read_whole(handle)
                if mtimes is not None:
                    mtimes[name] = float(member.mtime)
    return found


_READ_PIECE = 256 * 1024


def _read_whole(handle: IO[bytes]) -> bytes:
    """A file of a streamed tar, held once: tarfile's own read() of a compressed stream joins and slices the
    whole file (two or three copies of a release's image-references at once); this reads it piece by piece
    into one growing buffer, which becomes the bytes returned without another copy."""
    out = io.BytesIO()
    while piece := handle.read(_READ_PIECE):
        out.write(piece)
    return out.getvalue()
