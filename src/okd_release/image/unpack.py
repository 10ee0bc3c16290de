"""Safe extraction of layer entries to a directory: nothing is ever written outside the target.

Absolute paths and `..` are refused, links may only point inside the target, device files and FIFOs are
skipped; each refusal is reported as a warning and the rest of the extraction goes on. Regular files are
written under a temporary name and renamed into place when complete.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from okd_release.image.disk import atomic_write
from okd_release.image.layer import COPY_BUFFER, layer_tar


@dataclass
class UnpackResult:
    written: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _inside(root: Path, path: Path) -> bool:
    return path == root or str(path).startswith(str(root) + os.sep)


def _clean(name: str) -> str | None:
    """A member name as a safe relative path, or None if it is absolute or climbs with `..`."""
    if name.startswith("/") or "\\" in name:
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def _member_chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    handle = tar.extractfile(member)
    assert handle is not None
    while chunk := handle.read(COPY_BUFFER):
        yield chunk


def unpack(chunks: Iterator[bytes], target: Path, select: Callable[[str], str | None], what: str = "layer") -> UnpackResult:
    """Extract the members `select` maps to a relative path (None: not wanted) from a streamed tar layer.

    Entries land in a staging directory inside `target` and are moved into place only once the whole
    layer has been read and its digest verified, so a corrupt layer leaves nothing behind.
    """
    target.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target, prefix=".okd-unpack-"))
    try:
        result = _unpack_into(chunks, staging, select, what)
        _move_into_place(staging, target.resolve())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _move_into_place(staging: Path, target: Path) -> None:
    for path in sorted(staging.rglob("*"), key=lambda p: len(p.parts)):
        destination = target / path.relative_to(staging)
        if path.is_dir() and not path.is_symlink():
            if destination.is_symlink() or (destination.exists() and not destination.is_dir()):
                destination.unlink()
            destination.mkdir(exist_ok=True)
            continue
        if destination.is_dir() and not destination.is_symlink():
            shutil.rmtree(destination)
        os.replace(path, destination)


def _unpack_into(chunks: Iterator[bytes], target: Path, select: Callable[[str], str | None], what: str) -> UnpackResult:
    root = target.resolve()
    result = UnpackResult()
    with layer_tar(chunks, what) as tar:
        for member in tar:
            raw = member.name
            cleaned = _clean(raw)
            if cleaned is None:
                if select(raw.lstrip("/")) is not None or select(posixpath.normpath(raw.lstrip("/"))) is not None:
                    result.warnings.append(f"skipped {raw!r}: absolute path or '..' is not allowed")
                continue
            relative = select(cleaned)
            if relative is None:
                continue
            relative = _clean(relative)
            if relative is None:
                continue
            link = _clean(member.linkname) if member.islnk() else None
            _unpack_member(tar, member, root, relative, select(link) if link else None, result)
    return result


def _unpack_member(tar: tarfile.TarFile, member: tarfile.TarInfo, root: Path, relative: str, link_source: str | None,
                   result: UnpackResult) -> None:
    destination = root / relative
    parent = destination.parent.resolve()
    if not _inside(root, parent):
        result.warnings.append(f"skipped {member.name!r}: its directory leads outside the target")
        return
    destination = parent / destination.name
    if member.isdir():
        destination.mkdir(parents=True, exist_ok=True)
    elif member.isreg():
        if destination.is_symlink():
            destination.unlink()
        atomic_write(destination, _member_chunks(tar, member))
        os.chmod(destination, (member.mode & 0o777) | 0o400)
        result.written.append(relative)
    elif member.issym():
        link = (parent / member.linkname).resolve() if not member.linkname.startswith("/") else Path(member.linkname)
        if member.linkname.startswith("/") or not _inside(root, link):
            result.warnings.append(f"skipped symlink {member.name!r} -> {member.linkname!r}: it points outside the target")
            return
        if destination.is_symlink() or destination.exists():
            destination.unlink()
        os.symlink(member.linkname, destination)
        result.written.append(relative)
    elif member.islnk():
        source = _clean(link_source) if link_source else None
        source_path = (root / source).resolve() if source else None
        if source_path is None or not _inside(root, source_path) or not source_path.is_file():
            result.warnings.append(f"skipped hard link {member.name!r} -> {member.linkname!r}: it points outside the target")
            return
        if destination.exists() or destination.is_symlink():
            destination.unlink()
        os.link(source_path, destination)
        result.written.append(relative)
    else:
        result.warnings.append(f"skipped {member.name!r}: device files and FIFOs are not extracted")
