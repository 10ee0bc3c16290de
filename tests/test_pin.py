"""Installer pinning: streamed marker replacement, checked against whole-buffer replacement."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from okd_release.errors import PayloadError
from okd_release.release.extract import markers
from okd_release.release.extract.pin import Replacement, pin


def _whole(data: bytes, replacements: list[Replacement]) -> bytes:
    buffer = bytearray(data)
    for replacement in replacements:
        index = buffer.find(replacement.marker)
        if index >= 0:
            value = replacement.value.encode() + b"\x00"
            buffer[index:index + len(value)] = value
    return bytes(buffer)


def _chunks(data: bytes, sizes: list[int]) -> list[bytes]:
    out, offset = [], 0
    for size in sizes:
        out.append(data[offset:offset + size])
        offset += size
    out.append(data[offset:])
    return out


@settings(max_examples=200)
@given(st.binary(max_size=500), st.binary(max_size=500), st.binary(max_size=200),
       st.lists(st.integers(1, 400), max_size=12), st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=326))
def test_streamed_pinning_equals_whole_buffer_replacement(before, middle, after, sizes, value) -> None:
    data = before + markers.RELEASE_IMAGE + middle + markers.RELEASE_VERSION + after + markers.RELEASE_IMAGE
    replacements = [Replacement("release image", markers.RELEASE_IMAGE, value),
                    Replacement("release version", markers.RELEASE_VERSION, "4.15.0")]
    stream, pinner = pin(_chunks(data, sizes), replacements)
    result = b"".join(stream)
    assert result == _whole(data, replacements)
    assert len(result) == len(data)
    assert pinner.missing == []
    assert result.endswith(markers.RELEASE_IMAGE)  # only the first occurrence is replaced


def test_marker_sizes_match_oc() -> None:
    assert (len(markers.RELEASE_IMAGE), len(markers.RELEASE_VERSION), len(markers.RELEASE_ARCHITECTURE)) == (327, 93, 98)


def test_value_that_does_not_fit_is_an_error_not_a_truncation() -> None:
    with pytest.raises(PayloadError, match="maximum replacement length is 326"):
        pin([markers.RELEASE_IMAGE], [Replacement("release image", markers.RELEASE_IMAGE, "r" * 327)])
    stream, _ = pin([markers.RELEASE_IMAGE], [Replacement("release image", markers.RELEASE_IMAGE, "r" * 326)])
    assert b"".join(stream) == b"r" * 326 + b"\x00"


def test_missing_marker_is_reported() -> None:
    stream, pinner = pin([b"no markers here"], [Replacement("release version", markers.RELEASE_VERSION, "1")])
    assert b"".join(stream) == b"no markers here"
    assert pinner.missing == ["release version"]
