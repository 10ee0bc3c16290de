"""Installer pinning markers, as in openshift/oc extract_tools.go: fixed-size, NUL-delimited, X-padded.

The start of a marker is overwritten with the value and a NUL byte; the value may use all but one byte.
"""

from __future__ import annotations


def _marker(name: bytes, total: int) -> bytes:
    head = b"\x00" + name + b"\x00"
    return head + b"X" * (total - len(head) - 1) + b"\x00"


RELEASE_IMAGE = _marker(b"_RELEASE_IMAGE_LOCATION_", 327)
RELEASE_VERSION = _marker(b"_RELEASE_VERSION_LOCATION_", 93)
RELEASE_ARCHITECTURE = _marker(b"_RELEASE_ARCHITECTURE_LOCATION_", 98)
