"""What an operator's manifests/image-references asks of the release (oc's loadImageStreamTransforms).

Each operator gets its own rewrite: its placeholders become the release pullspecs of the tags it names,
and its `0.0.1-snapshot-<key>` strings the versions that only those tags declare.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from msgspec import Struct, field

from okd_release.errors import PayloadError
from okd_release.release.new.documents import first_document
from okd_release.release.new.rewrite import ImageReference, Rewrite, image_mapper, version_mapper
from okd_release.release.payload.model import ANNOTATION_DISPLAY_NAMES, ANNOTATION_VERSIONS, ImageTag
from okd_release.release.payload.versions import COMPONENT_VERSION_KEYS, parse_versions

KUBECTL_IMAGES = ("cli", "cli-artifacts")
"""Only these images' kubectl version counts; others carry it too (hyperkube) and may differ."""


class LocalTag(Struct, frozen=True):
    """One entry of an operator's image-references: a payload tag name and the placeholder its manifests
    use (`from.name` whole, tag included), or None when `from` is not a DockerImage (oc skips those)."""

    name: str
    source: str | None


def parse_operator_references(data: bytes) -> list[LocalTag]:
    """An operator's image-references (JSON or YAML): an image.openshift.io/v1 ImageStream."""
    document = first_document(data)
    if not isinstance(document, dict) or document.get("kind") != "ImageStream" \
            or document.get("apiVersion") != "image.openshift.io/v1":
        raise PayloadError("not an image.openshift.io/v1 ImageStream")
    tags = (document.get("spec") or {}).get("tags") or []
    if not isinstance(tags, list):
        raise PayloadError("spec.tags is not a list")
    entries = []
    for number, tag in enumerate(tags):
        source = tag.get("from") if isinstance(tag, dict) else None
        if not isinstance(tag, dict) or not isinstance(tag.get("name"), str) \
                or not isinstance(source, (dict, type(None))):
            raise PayloadError(f"spec.tags[{number}] is not a tag with a name")
        if source is None or source.get("kind") != "DockerImage":
            entries.append(LocalTag(tag["name"], None))
        elif not isinstance(source.get("name", ""), str):
            raise PayloadError(f"spec.tags[{number}].from.name is not a string")
        else:
            entries.append(LocalTag(tag["name"], source.get("name", "")))
    return entries


class Transforms(Struct, frozen=True):
    """The release facts one operator's manifests may use."""

    references: dict[str, ImageReference] = field(default_factory=dict)
    versions: dict[str, tuple[str, str]] = field(default_factory=dict)
    tags_by_key: dict[str, list[str]] = field(default_factory=dict)

    def rewrite(self, release_name: str) -> Rewrite:
        """Placeholders first, then version strings (oc's order)."""
        images, versions = image_mapper(self.references), version_mapper(release_name, self.versions, self.tags_by_key)
        return lambda data: versions(images(data))


def load_transforms(release_tags: Sequence[ImageTag], local: Sequence[LocalTag], allow_missing: bool = False,
                    defaults: Mapping[str, str] | None = None) -> Transforms:
    """What `local` (an operator's image-references) maps to in the release's tags.

    A tag the release lacks is an error unless `allow_missing`. Versions come only from the tags `local`
    names, in tag-name order: two of them declaring different versions of a key is an error (machine-os
    excepted: dual streams), and `tags_by_key` records every tag that declares a key. `defaults` (the
    release stream's annotations) fills in keys no such tag declares.
    """
    by_name = {tag.name: tag for tag in reversed(release_tags)}  # the first of a name, as oc's lookup
    references: dict[str, ImageReference] = {}
    for placeholder in local:
        if placeholder.source is None:
            continue
        if not placeholder.source:
            raise PayloadError(f"no from.name for the tag {placeholder.name}")
        if placeholder.name not in by_name:
            if allow_missing:
                continue
            raise PayloadError(f'no input image tag named "{placeholder.name}"')
        references[placeholder.name] = ImageReference(placeholder.source, by_name[placeholder.name].pullspec)
    versions: dict[str, tuple[str, str]] = {}
    tags_by_key: dict[str, list[str]] = {}
    for tag in sorted(release_tags, key=lambda t: t.name.encode()):
        if tag.name not in references or ANNOTATION_VERSIONS not in tag.annotations:
            continue
        try:
            declared = parse_versions(tag.annotations[ANNOTATION_VERSIONS], tag.annotations.get(ANNOTATION_DISPLAY_NAMES, ""))
        except PayloadError as error:
            raise PayloadError(f'input image stream has an invalid version annotation for tag "{tag.name}": {error}') from None
        for key, value in declared.items():
            if key == "kubectl" and tag.name not in KUBECTL_IMAGES:
                continue
            if key not in versions:
                versions[key] = value
            elif versions[key][0] != value[0] and key != "machine-os":
                raise PayloadError(
                    f"input image stream has multiple versions defined for version {key}: {tag.name} defines "
                    f"{value[0]} but was already set to {versions[key][0]} on {', '.join(tags_by_key[key])}")
            tags_by_key.setdefault(key, []).append(tag.name)
    annotations = defaults or {}
    try:
        default_versions = parse_versions(annotations.get(ANNOTATION_VERSIONS, ""), annotations.get(ANNOTATION_DISPLAY_NAMES, ""))
    except PayloadError as error:
        raise PayloadError(f"unable to read default versions label on input image stream: {error}") from None
    for key, value in default_versions.items():
        versions.setdefault(key, value)
    return Transforms(references, versions, tags_by_key)


def check_build_versions(tag: str, labels: Mapping[str, str]) -> None:
    """A component image's version labels as oc checks every input image: valid, and only known keys."""
    value = labels.get(ANNOTATION_VERSIONS, "")
    if not value:
        return
    try:
        declared = parse_versions(value, labels.get(ANNOTATION_DISPLAY_NAMES, ""))
    except PayloadError as error:
        raise PayloadError(f'tag "{tag}" has an invalid {ANNOTATION_VERSIONS} or {ANNOTATION_DISPLAY_NAMES} '
                           f"label: {error}") from None
    for key in declared:
        if key not in COMPONENT_VERSION_KEYS:
            raise PayloadError(f'tag "{tag}" references a component version "{key}" which is not in the allowed list '
                               f"({', '.join(COMPONENT_VERSION_KEYS)})")
