"""Component versions: the `io.openshift.build.versions` and `...version-display-names` label values."""

from __future__ import annotations

from okd_release.errors import PayloadError

COMPONENT_VERSION_KEYS = ("kubernetes", "machine-os", "kernel", "crio", "kubectl", "kubernetes-tests")
"""The versions `info` shows first, in this order (oc's)."""


def parse_versions(value: str, display_names: str = "") -> dict[str, tuple[str, str]]:
    """`kubernetes=1.28.3,machine-os=39.1` (+ display names) → {key: (version, display name)}."""
    names = {}
    for item in filter(None, (p.strip() for p in display_names.split(","))):
        key, sep, name = item.partition("=")
        if not sep:
            raise PayloadError(f"invalid version display name {item!r}: expected key=name")
        names[key] = name
    versions = {}
    for item in filter(None, (p.strip() for p in value.split(","))):
        key, sep, version = item.partition("=")
        if not sep or not key or not version:
            raise PayloadError(f"invalid component version {item!r}: expected key=version")
        versions[key] = (version, names.get(key, ""))
    return versions
