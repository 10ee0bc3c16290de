"""Tar headers as Go's archive/tar writes them when no format is asked for (oc's payload layer).

Go picks USTAR when every field fits (a long ASCII name split into prefix and name at a slash), else PAX
(a `PaxHeaders.0` extended header first); uid/gid 0 and empty user and group names; octal fields padded
with zeros and ended by NUL; the checksum as six octal digits, NUL and a space; mtimes rounded to the
second. The archive ends with two zero blocks and no padding to a 10 KiB record, unlike Python's tarfile.
"""

from __future__ import annotations

import math
import posixpath

BLOCK = 512
TRAILER = bytes(2 * BLOCK)
PAX_HEADER = b"x"
_NAME, _PREFIX = 100, 155


def padding(size: int) -> bytes:
    """Zeros that take a file's data to the next block."""
    return bytes(-size & (BLOCK - 1))


def _fits_octal(width: int, value: int) -> bool:
    return value >= 0 and (width >= 22 or value < 1 << ((width - 1) * 3))


def _octal(width: int, value: int) -> bytes:
    digits = format(value if _fits_octal(width, value) else 0, "o")
    return digits.rjust(width - 1, "0").encode() + b"\0"


def _field(width: int, text: bytes) -> bytes:
    field = bytearray(text[:width].ljust(width, b"\0"))
    if len(text) > width and field[-1:] == b"/":
        # Go: a truncated name must not end in a slash that readers would take for a directory
        field[len(text[:width - 1].rstrip(b"/"))] = 0
    return bytes(field)


def split_ustar(name: str) -> tuple[str, str] | None:
    """The (prefix, name) USTAR stores a long ASCII path as, or None when it cannot."""
    if len(name) <= _NAME or not name.isascii():
        return None
    length = len(name)
    if length > _PREFIX + 1:
        length = _PREFIX + 1
    elif name[length - 1] == "/":
        length -= 1
    cut = name.rfind("/", 0, length)
    suffix, prefix = len(name) - cut - 1, cut
    if cut <= 0 or suffix > _NAME or suffix == 0 or prefix > _PREFIX:
        return None
    return name[:cut], name[cut + 1:]


def _block(name: bytes, mode: int, size: int, mtime: int, kind: bytes, linkname: bytes, prefix: bytes = b"",
           numbers: bool = True) -> bytes:
    """A USTAR-magic header block; `numbers` False leaves uname/gname/devmajor/devminor all NUL (Go's raw
    PAX extended header block)."""
    block = bytearray(BLOCK)
    block[0:100] = _field(100, name)
    block[100:108] = _octal(8, mode)
    block[108:116] = _octal(8, 0)
    block[116:124] = _octal(8, 0)
    block[124:136] = _octal(12, size)
    block[136:148] = _octal(12, mtime)
    block[156:157] = kind
    block[157:257] = _field(100, linkname)
    block[257:265] = b"ustar\x0000"
    if numbers:
        block[329:337] = _octal(8, 0)
        block[337:345] = _octal(8, 0)
    block[345:500] = _field(155, prefix)
    checksum = sum(block[:148]) + 8 * ord(" ") + sum(block[156:])
    block[148:156] = _octal(7, checksum) + b" "
    return bytes(block)


def _pax_record(key: str, value: str) -> bytes:
    body = f" {key}={value}\n".encode()
    size = len(body) + len(str(len(body)))
    if len(str(size)) + len(body) != size:
        size = len(str(size)) + len(body)
    return str(size).encode() + body


def _ascii(text: str) -> bytes:
    return "".join(c for c in text if c.isascii() and c != "\0").encode()


def header(name: str, mode: int, size: int, mtime: float, kind: bytes, linkname: str = "") -> bytes:
    """The header block(s) Go's tar.Writer.WriteHeader writes for these fields (uid/gid 0, no user names)."""
    seconds = math.floor(mtime + 0.5)  # Go rounds the time to the second, halves up
    records: dict[str, str] = {}
    ustar = True
    for key, value in (("path", name), ("linkpath", linkname)):
        if not value.isascii() or len(value) > _NAME:
            if key != "path" or split_ustar(value) is None:
                ustar = False
            records[key] = value
    if not _fits_octal(12, size):
        ustar, records["size"] = False, str(size)
    if not _fits_octal(12, seconds):
        ustar, records["mtime"] = False, str(seconds)
    if ustar:
        split = split_ustar(name)
        prefix, short = split if split else ("", name)
        return _block(short.encode(), mode, size, seconds, kind, linkname.encode(), prefix.encode())
    data = b"".join(_pax_record(key, records[key]) for key in sorted(records))
    directory, base = posixpath.split(name)
    pax_name = _ascii(posixpath.normpath(posixpath.join(directory, "PaxHeaders.0", base)))[:_NAME].rstrip(b"/")
    extended = _block(pax_name, 0, len(data), 0, PAX_HEADER, b"", numbers=False) + data + padding(len(data))
    return extended + _block(_ascii(name), mode, size, seconds, kind, _ascii(linkname))
