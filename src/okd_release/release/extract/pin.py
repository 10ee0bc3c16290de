"""Pin a binary to its release while it streams: overwrite the first occurrence of each marker with the
value and a NUL byte (openshift/oc extract_tools.go copyAndReplace). Only a marker-sized window is held back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from msgspec import Struct

from okd_release.errors import PayloadError


class Replacement(Struct, frozen=True):
    name: str
    marker: bytes
    value: str

    def check(self) -> None:
        if len(self.value.encode()) > len(self.marker) - 1:
            raise PayloadError(
                f"the {self.name} value has {len(self.value.encode())} bytes, "
                f"but the maximum replacement length is {len(self.marker) - 1}"
            )


class Pinner:
    """Feed chunks, get chunks back with markers replaced; `missing` names markers never seen."""

    def __init__(self, replacements: list[Replacement]) -> None:
        for replacement in replacements:
            replacement.check()
        self._pending = list(replacements)
        self._window = max((len(r.marker) for r in replacements), default=1) - 1
        self._buffer = bytearray()

    @property
    def missing(self) -> list[str]:
        return sorted(r.name for r in self._pending)

    def feed(self, chunk: bytes) -> bytes:
        if not self._pending:
            if self._buffer:
                chunk, self._buffer = bytes(self._buffer) + chunk, bytearray()
            return chunk
        self._buffer += chunk
        self._replace()
        if not self._pending:
            out, self._buffer = bytes(self._buffer), bytearray()
            return out
        keep = min(self._window, len(self._buffer))
        out = bytes(self._buffer[: len(self._buffer) - keep])
        del self._buffer[: len(self._buffer) - keep]
        return out

    def finish(self) -> bytes:
        out, self._buffer = bytes(self._buffer), bytearray()
        return out

    def _replace(self) -> None:
        for replacement in list(self._pending):
            index = self._buffer.find(replacement.marker)
            if index < 0:
                continue
            value = replacement.value.encode() + b"\x00"
            self._buffer[index:index + len(value)] = value
            self._pending.remove(replacement)


def pin(chunks: Iterable[bytes], replacements: list[Replacement]) -> tuple[Iterator[bytes], Pinner]:
    pinner = Pinner(replacements)

    def stream() -> Iterator[bytes]:
        for chunk in chunks:
            out = pinner.feed(chunk)
            if out:
                yield out
        tail = pinner.finish()
        if tail:
            yield tail

    return stream(), pinner
