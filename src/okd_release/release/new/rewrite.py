"""Manifest rewriting as oc's image_mapper.go does it: placeholder pullspecs and version strings.

The patterns are oc's, written for Python's `re` on bytes with Go's meanings kept: `\\w`/`\\W` are ASCII,
Go's `\\s` is `[\\t\\n\\f\\r ]` (no vertical tab), `$` is the end of the text (never before a final
newline), and the delimiters around a match are consumed, as Go's ReplaceAll does, so `a a` with one space
between replaces only the first `a`.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from msgspec import Struct

from okd_release.errors import PayloadError
from okd_release.release.payload.versions import parse_semver

Rewrite = Callable[[bytes], bytes]

_GO_SPACE = rb"\t\n\f\r "
# oc's patternImageFormat around the alternatives: a non-word character or the start, the source, an
# optional `:tag` or `@algorithm:hex`, then whitespace, a quote or the end.
_BEFORE = rb"(\W|^)"  # (image_mapper follows the whole pattern without compiling it)
_LOCATOR = rb"(:\w[\w.-]{0,127}|@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{2,})?"
_AFTER = rb"([" + _GO_SPACE + rb"\"']|\Z)"
_SOURCE_END = re.compile(_LOCATOR + _AFTER)
_NON_WORD = [not (chr(byte).isascii() and (chr(byte).isalnum() or byte == ord("_"))) for byte in range(256)]
"""`\\W` of a bytes pattern, by byte: anything but an ASCII letter, digit or underscore."""
# oc's componentVersionRe: `0.0.1-snapshot` then whatever key characters follow it.
_VERSION = re.compile(rb"(\W|^)0\.0\.1-snapshot([a-z0-9\-]*)")


class ImageReference(Struct, frozen=True):
    """A placeholder an operator's manifests use (`source`, exactly as its image-references names it) and
    the release pullspec that replaces it (`target`)."""

    source: str
    target: str


def _longest_first(sources: Iterable[bytes]) -> list[bytes]:
    # oc joins them in Go map order (random); longest first makes the choice between a source and a longer
    # one it prefixes (`repo` and `repo:tag`) deterministic: the more specific wins.
    return sorted(sources, key=lambda s: (-len(s), s))


def _substitution(ordered: Sequence[bytes], pattern: Callable[[bytes], bytes],
                  replace: Callable[[re.Match[bytes]], bytes]) -> Rewrite:
    """A rewrite that replaces matches of `pattern(alternatives)`, whose only variable part is the
    alternation of the sources `ordered` (by `_longest_first`); each text is matched against the sources it
    contains.

    A source the text does not contain can match nowhere in it, so leaving it out of the alternation changes
    no match, and the order of the others is kept: the result is the whole pattern's; `re` keeps the
    patterns compiled for the sets met."""

    def rewrite(data: bytes) -> bytes:
        present = [source for source in ordered if source in data]
        if not present:
            return data
        return re.compile(pattern(b"|".join(map(re.escape, present)))).sub(replace, data)

    return rewrite


def image_mapper(images: Mapping[str, ImageReference]) -> Rewrite:
    """oc's NewImageMapper: each source followed by an optional tag or digest becomes its target.

    `images` is keyed by the payload tag name. Only the exact source is matched: for the source
    `quay.io/a/b:latest`, the text `quay.io/a/b`, `quay.io/a/b:v2` or `quay.io/a/b@sha256:...` is left alone.
    """
    by_source: dict[str, str] = {}
    for name, reference in images.items():
        if not reference.source:
            raise PayloadError(f'an empty source repository is not allowed for name "{name}"')
        if reference.source in by_source:
            raise PayloadError(f'the source repository "{reference.source}" was defined more than once '
                               f'(for "{by_source[reference.source]}" and "{name}")')
        by_source[reference.source] = name
    targets = {source.encode(): images[name].target.encode() for source, name in by_source.items()}
    sources = _longest_first(targets)

    def replace(match: re.Match[bytes]) -> bytes:
        return match.group(1) + targets[match.group(2)] + match.group(4)

    compiled = _substitution(sources, lambda alternatives: _BEFORE + b"(" + alternatives + b")" + _LOCATOR + _AFTER,
                             replace)
    return lambda data: _replace_images(data, sources, targets, compiled)


SCAN_LIMIT = 4096
"""Occurrences of sources `_replace_images` tries one by one in Python; a text with more (a source that is a
word repeated all over a large file) goes to the compiled alternation, which is faster there."""


def _replace_images(data: bytes, sources: list[bytes], targets: Mapping[bytes, bytes], compiled: Rewrite) -> bytes:
    """`compiled(data)`, oc's pattern `(\\W|^)(source|...)` + locator + after, without compiling the
    alternation: for an operator naming 140 images, compiling it was most of the time `new` spent on the
    manifests, which contain a few of them each.

    The expression tries a match at each position in turn: a non-word character then a source, or (tried
    second) the start of the text then a source; at each, the sources in `sources`' order (longest first),
    each followed by the rest of the pattern with its backtracking. A source can only match where it occurs,
    so only those places are tried, in that order, each at or after the end of the previous match as `re.sub`
    resumes. The next occurrence of each source waits in a heap: memory is the number of sources, whatever
    the number of occurrences."""
    upcoming = [(at, order) for order, source in enumerate(sources) if (at := data.find(source)) >= 0]
    if not upcoming:
        return data
    heapq.heapify(upcoming)
    pieces: list[bytes] = []
    done = 0  # where the previous match ended: the next match's non-word character is here or later
    budget = SCAN_LIMIT

    def attempt(start: int, candidates: Iterable[bytes]) -> None:
        nonlocal done
        for source in candidates:
            rest = _SOURCE_END.match(data, start + len(source))
            if rest is not None:
                pieces.extend((data[done:start], targets[source], rest.group(2)))
                done = rest.end()
                return

    while upcoming:
        budget -= 1
        if budget < 0:
            return compiled(data)
        start = upcoming[0][0]
        orders = []
        while upcoming and upcoming[0][0] == start:
            orders.append(heapq.heappop(upcoming)[1])  # in pattern order: the heap orders ties by it
        if start == 0:
            if _NON_WORD[data[0]]:  # at 0 the expression tries a non-word character and a source at 1 first
                attempt(1, (source for source in sources if data.startswith(source, 1)))
            if done == 0:
                attempt(0, (sources[order] for order in orders))
        elif start - 1 >= done and _NON_WORD[data[start - 1]]:
            attempt(start, (sources[order] for order in orders))
        for order in orders:
            at = data.find(sources[order], max(start, done) + 1)
            if at >= 0:
                heapq.heappush(upcoming, (at, order))
    return b"".join(pieces) + data[done:] if pieces else data


def exact_mapper(mappings: Mapping[str, str]) -> Rewrite:
    """oc's NewExactMapper: each `from` pullspec between word boundaries becomes its `to`.

    One pass over the text (oc applies one pattern after another in Go map order, so a replacement could be
    replaced again, or not, by chance).
    """
    targets = {source.encode(): target.encode() for source, target in mappings.items()}
    return _substitution(_longest_first(targets), lambda alternatives: rb"\b(" + alternatives + rb")\b",
                         lambda match: targets[match.group(1)])


def release_version(name: str) -> str:
    """The text `0.0.1-snapshot` becomes: the release name without build metadata, or "" (left alone)
    when the name is not a semantic version."""
    try:
        return parse_semver(name)
    except PayloadError:
        return ""


def version_mapper(release_name: str, versions: Mapping[str, tuple[str, str]] | None = None,
                   tags_by_key: Mapping[str, Sequence[str]] | None = None) -> Rewrite:
    """oc's NewComponentVersionsMapper: `0.0.1-snapshot` → the release version, `0.0.1-snapshot-<key>` →
    that component's version.

    `versions` maps a key to (version, display name). A key no image declares is an error; so is a key that
    more than one referenced image declares (`tags_by_key[key]` names them), even with the same value.
    """
    release = release_version(release_name).encode()
    known = versions or {}
    declared_by = tags_by_key or {}

    def rewrite(data: bytes) -> bytes:
        missing: list[str] = []
        conflicts: list[str] = []

        def replace(match: re.Match[bytes]) -> bytes:
            key = match.group(2).decode()
            if not key and release:
                return match.group(1) + release
            if not key.startswith("-"):
                return match.group(0)
            key = key[1:]
            if key not in known:
                missing.append(key)
                return match.group(0)
            if len(declared_by.get(key, ())) > 1:
                conflicts.append(key)
                return match.group(0)
            return match.group(1) + known[key][0].encode()

        rewritten = _VERSION.sub(replace, data)
        if len(missing) == 1:
            if not missing[0]:
                raise PayloadError("empty version references are not allowed (0.0.1-snapshot- with no key)")
            raise PayloadError(f'unknown version reference "{missing[0]}": no image this operator references '
                               "declares it in io.openshift.build.versions")
        if missing:
            raise PayloadError(f"unknown version references: {', '.join(missing)}")
        if conflicts:
            images = ", ".join(sorted(declared_by[conflicts[0]]))
            raise PayloadError(f'the version for "{conflicts[0]}" is inconsistent across the referenced images: {images}')
        return rewritten

    return rewrite
