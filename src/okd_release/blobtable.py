"""The state of every blob a transfer has met at one target, held in little room.

By the end of a mirror nearly every blob it met is verified present, which is all there is to know of it. As a
dict entry such a blob costs about 100 bytes (its key object and the entry); here its 32-byte key is packed
into one sorted buffer instead, found by binary search. Keys are packed in batches: a blob just verified waits
in a small set until there are enough of them (an eighth of those packed, at least `BATCH`) to merge in.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import Any

WIDTH = 32  # a sha256 digest's bytes: the keys that are packed (any other key stays a dict entry)
BATCH = 1024

_MISSING = object()


class BlobTable:
    """Blob states by key (bytes). A state of None means verified present and is kept packed; any other state
    (a copy in flight, a size) is a dict entry and overrides a packed None. Not thread-safe: the caller locks."""

    def __init__(self) -> None:
        self._states: dict[bytes, Any] = {}
        self._fresh: set[bytes] = set()  # present, not packed yet
        self._packed = bytearray()  # present: WIDTH-byte keys, sorted

    def get(self, key: bytes, default: Any = None) -> Any:
        state = self._states.get(key, _MISSING)
        if state is not _MISSING:
            return state
        if key in self._fresh or self._is_packed(key):
            return None
        return default

    def __setitem__(self, key: bytes, state: Any) -> None:
        if state is not None or len(key) != WIDTH:
            self._states[key] = state
            return
        self._states.pop(key, None)
        if key in self._fresh or self._is_packed(key):
            return
        self._fresh.add(key)
        if len(self._fresh) >= max(BATCH, len(self._packed) // WIDTH // 8):
            self._pack()

    def __len__(self) -> int:
        return len(self._states) + len(self._fresh) + len(self._packed) // WIDTH

    def sizes(self) -> list[tuple[bytes, int]]:
        """The keys whose state is a size (an int), with it."""
        return [(key, state) for key, state in self._states.items() if isinstance(state, int)]

    def _is_packed(self, key: bytes) -> bool:
        packed, low, high = self._packed, 0, len(self._packed) // WIDTH
        while low < high:
            middle = (low + high) // 2
            found = packed[middle * WIDTH:(middle + 1) * WIDTH]
            if found < key:
                low = middle + 1
            elif found > key:
                high = middle
            else:
                return True
        return False

    def _pack(self) -> None:
        """Merge the fresh keys into the packed ones (one pass; the keys are never all objects at once)."""
        packed = self._packed
        merged = bytearray()
        pieces: Iterator[bytes] = (bytes(packed[start:start + WIDTH]) for start in range(0, len(packed), WIDTH))
        for key in heapq.merge(pieces, sorted(self._fresh)):
            merged += key
        self._packed, self._fresh = merged, set()
