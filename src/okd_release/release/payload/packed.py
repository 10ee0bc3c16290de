"""A long sequence held small: its items kept as compressed blocks of their JSON, decoded a block at a time.

A release of thousands of images would otherwise hold every tag, decoded, for as long as it is open (a mirror
holds it to the end, for its result), though each is read only a few times and in order. Kept as the JSON it
was read from, compressed by the block (tags repeat the same names, registries and annotation names), a tag
costs about a tenth of its decoded size; reading the tags in order decodes each block once, and the last
block read stays decoded. Items that fit in one block are simply a tuple (a block is held decoded anyway).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")

BLOCK = 256  # items a block: large enough to compress well, small enough to hold decoded


class PackedSequence(Sequence[T]):
    """Items, in order, as compressed JSON arrays of up to `BLOCK` items; `decode` makes a block's items of
    its JSON (the same items every time: what goes in is checked once, by whoever packs it)."""

    def __init__(self, blocks: tuple[bytes, ...], length: int, decode: Callable[[bytes], tuple[T, ...]],
                 last: tuple[int, tuple[T, ...]] | None = None):
        self._blocks = blocks
        self._length = length
        self._decode = decode
        self._last = last  # (block number, its items): replaced whole, so threads reading at once are safe

    def _block(self, number: int) -> tuple[T, ...]:
        last = self._last
        if last is not None and last[0] == number:
            return last[1]
        items = self._decode(zlib.decompress(self._blocks[number]))
        self._last = (number, items)
        return items

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[T]:
        for number in range(len(self._blocks)):
            yield from self._block(number)

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...

    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        if isinstance(index, slice):
            return tuple(self)[index]
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(index)
        return self._block(position // BLOCK)[position % BLOCK]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (PackedSequence, tuple)):
            return NotImplemented
        return len(self) == len(other) and all(mine == theirs for mine, theirs in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal to a tuple of its items, but not frozen like one

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class Packer(Generic[T]):
    """Collects items added one by one, each with the JSON it was decoded from, into a PackedSequence (or a
    tuple, when they fit in one block)."""

    def __init__(self, decode: Callable[[bytes], tuple[T, ...]]):
        self._decode = decode
        self._blocks: list[bytes] = []
        self._raw: list[Any] = []  # the current block's JSON items (bytes-like)
        self._items: list[T] = []  # and the same, decoded
        self._length = 0

    def add(self, raw: Any, item: T) -> None:
        """`item`, which `raw` (bytes-like: one JSON value) decodes to."""
        if len(self._raw) == BLOCK:
            self._close()
        self._raw.append(raw)
        self._items.append(item)
        self._length += 1

    def _close(self) -> None:
        self._blocks.append(zlib.compress(b"[" + b",".join(self._raw) + b"]", 1))  # fast; most of the gain
        self._raw, self._items = [], []

    def done(self) -> Sequence[T]:
        """The items added: a tuple when they fit in one block (which would be held decoded all the same), else
        a PackedSequence with the last block kept decoded as it was added."""
        if not self._blocks:
            return tuple(self._items)
        last = (len(self._blocks), tuple(self._items)) if self._raw else None
        if self._raw:
            self._close()
        return PackedSequence(tuple(self._blocks), self._length, self._decode, last)
