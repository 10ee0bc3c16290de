"""Content digests: parse, compute and verify `sha256:<hex>` while bytes stream past."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator

from okd_release import names
from okd_release.errors import DigestMismatch


def validate(digest: object) -> str:
    """`digest` if it is `sha256:<64 lowercase hex>`, else UnsafeName (an InvalidReference)."""
    return names.check_digest(digest)


def of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def verify(data: bytes, digest: str, what: str = "content") -> bytes:
    actual = of(data)
    if actual != digest:
        raise DigestMismatch(f"digest mismatch for {what}: expected {digest}, got {actual}")
    return data


class Verifier:
    """Hashes chunks as they pass; `check()` raises if the total does not match."""

    def __init__(self, digest: str, what: str, size: int | None = None) -> None:
        self.digest = validate(digest)
        self.what = what
        self.expected_size = size
        self.size = 0
        self._hash = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self.size += len(chunk)
        if self.expected_size is not None and self.size > self.expected_size:
            raise DigestMismatch(
                f"{self.what} is larger than its declared size {self.expected_size}"
            )

    def check(self) -> None:
        actual = "sha256:" + self._hash.hexdigest()
        if actual != self.digest:
            raise DigestMismatch(f"digest mismatch for {self.what}: expected {self.digest}, got {actual}")
        if self.expected_size is not None and self.size != self.expected_size:
            raise DigestMismatch(
                f"size mismatch for {self.what}: expected {self.expected_size} bytes, got {self.size}"
            )


def verified(chunks: Iterable[bytes], digest: str, what: str, size: int | None = None) -> Iterator[bytes]:
    """Yield `chunks` unchanged, raising DigestMismatch at the end if they do not match `digest`."""
    verifier = Verifier(digest, what, size)
    for chunk in chunks:
        verifier.update(chunk)
        yield chunk
    verifier.check()
