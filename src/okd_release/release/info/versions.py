"""Component versions of a release as oc's `info` reads them (readComponentVersions in oc's info.go).

Each tag's `io.openshift.build.versions` annotation names versions; `kubectl` counts only from the `cli`
and `cli-artifacts` images (other images, such as hyperkube, ship a kubectl of their own build). When tags
disagree the lexically first value is shown and a warning names the component (machine-os may differ:
dual streams). An invalid annotation is a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec import Struct

from okd_release.errors import PayloadError
from okd_release.release.payload.model import ANNOTATION_DISPLAY_NAMES, ANNOTATION_VERSIONS, ImageTag
from okd_release.release.payload.versions import parse_versions

KUBECTL_SOURCES = ("cli", "cli-artifacts")


class ComponentVersion(Struct, frozen=True):
    name: str
    version: str
    display_name: str = ""


class ComponentVersions(Struct, frozen=True):
    versions: tuple[ComponentVersion, ...]
    """In name order."""
    tags: dict[str, str]
    """Which tag each component's version came from (the last tag naming it; kubectl included)."""
    warnings: tuple[str, ...]
    kubectl_versions: dict[str, tuple[str, ...]]
    """Every kubectl version reported, with the tags reporting it."""


def read_component_versions(tags: Sequence[ImageTag]) -> ComponentVersions:
    versions: dict[str, set[str]] = {}
    display_names: dict[str, set[str]] = {}
    component_tags: dict[str, str] = {}
    kubectl: dict[str, list[str]] = {}
    warnings = []
    for tag in tags:
        if ANNOTATION_VERSIONS not in tag.annotations:
            continue
        try:
            parsed = parse_versions(tag.annotations[ANNOTATION_VERSIONS], tag.annotations.get(ANNOTATION_DISPLAY_NAMES, ""))
        except PayloadError as error:
            warnings.append(f"the referenced image {tag.name} had an invalid version annotation: {error}")
            continue
        for key, (version, display_name) in parsed.items():
            component_tags[key] = tag.name
            if key == "kubectl":
                kubectl.setdefault(version, []).append(tag.name)
                if tag.name not in KUBECTL_SOURCES:
                    continue
            versions.setdefault(key, set()).add(version)
            display_names.setdefault(key, set()).add(display_name)
    multiples = sorted(key for key in versions if key != "machine-os"
                       and (len(versions[key]) > 1 or len(display_names[key]) > 1))
    if multiples:
        warnings.append(f"multiple versions or display names reported for the following component(s): "
                        f"{',  '.join(multiples)}")
    shown = tuple(ComponentVersion(key, min(versions[key]), min(display_names[key])) for key in sorted(versions))
    return ComponentVersions(shown, component_tags, tuple(warnings),
                             {version: tuple(names) for version, names in kubectl.items()})
