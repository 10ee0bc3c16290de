"""Gather operator manifests from component images and rewrite them for the release (oc's extractManifests)."""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import yaml

from okd_release.content import Descriptor
from okd_release.errors import DigestMismatch, PayloadError
from okd_release.image.layer import read_files
from okd_release.release.new.rewrite import image_mapper, strip_locator, version_mapper
from okd_release.release.payload.components import ComponentImage
from okd_release.release.payload.model import ANNOTATION_OVERRIDE, IMAGE_REFERENCES, LABEL_OPERATOR, ImageStream

MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def is_operator(component: ComponentImage) -> bool:
    return bool(component.labels.get(LABEL_OPERATOR))


def read_operator_files(component: ComponentImage, all_layers: bool = False) -> dict[str, bytes]:
    """The files directly under /manifests/ of the operator's top layer (every layer for an override)."""
    layers = component.image.layers if all_layers else component.image.layers[-1:]
    files: dict[str, bytes] = {}

    def wanted(name: str) -> bool:
        return name.startswith("manifests/") and "/" not in name[len("manifests/"):] and (
            name.endswith(MANIFEST_SUFFIXES) or name == f"manifests/{IMAGE_REFERENCES}")

    for layer in layers:
        what = f"layer {layer.digest} of operator {component.name}"

        def read(layer: Descriptor = layer, what: str = what) -> dict[str, bytes]:
            with component.store.open_blob(component.reference.repository, layer) as chunks:
                return read_files(chunks, wanted, what)

        try:
            found = component.store.retrying(what, read)
        except DigestMismatch as error:
            raise DigestMismatch(f"operator {component.name}: {error}") from None
        files.update({name.split("/", 1)[1]: data for name, data in found.items()})
    return files


def check_manifest(operator: str, filename: str, data: bytes) -> None:
    try:
        document = yaml.safe_load(data)
    except yaml.YAMLError as error:
        problem = str(error).splitlines()[0]
        raise PayloadError(f"operator {operator}: manifests/{filename} is not valid YAML/JSON ({problem})") from None
    if not isinstance(document, dict) or not document.get("kind") or not document.get("apiVersion"):
        raise PayloadError(f"operator {operator}: manifests/{filename} is not a Kubernetes object with kind and apiVersion")


def _mapper(operator: ComponentImage, files: dict[str, bytes], pullspecs: dict[str, str], release: str,
            versions: dict[str, tuple[str, str]], allow_missing: bool) -> tuple[Callable[[bytes], bytes], set[str]]:
    referenced: set[str] = set()
    targets: dict[str, str] = {}
    if IMAGE_REFERENCES in files:
        local = ImageStream.parse(files[IMAGE_REFERENCES], f"manifests/image-references of operator {operator.name}")
        for tag in local.tags:
            referenced.add(tag.name)
            if tag.name not in pullspecs:
                if allow_missing:
                    continue
                raise PayloadError(
                    f"operator {operator.name}: manifests/image-references names {tag.name!r} ({tag.pullspec}), "
                    "which is not an image of the release"
                )
            source = strip_locator(tag.pullspec)
            if source in targets and targets[source] != pullspecs[tag.name]:
                raise PayloadError(f"operator {operator.name}: manifests/image-references maps {source} twice")
            targets[source] = pullspecs[tag.name]
    images, versions_of = image_mapper(targets), version_mapper(release, versions)
    return (lambda data: versions_of(images(data))), referenced


def operator_manifests(operators: list[ComponentImage], pullspecs: dict[str, str], release: str,
                       versions: dict[str, tuple[str, str]], overrides: set[str], allow_missing: bool,
                       workers: int = 8) -> tuple[dict[str, bytes], set[str]]:
    """Every operator's manifests, renamed and rewritten; and the set of tag names they reference."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        contents = list(pool.map(lambda op: read_operator_files(op, op.name in overrides), operators))
    manifests: dict[str, bytes] = {}
    referenced: set[str] = set()
    for operator, files in sorted(zip(operators, contents, strict=True), key=lambda pair: pair[0].name):
        rewrite, names = _mapper(operator, files, pullspecs, release, versions, allow_missing)
        referenced |= names
        for filename in sorted(files):
            if filename == IMAGE_REFERENCES:
                continue
            check_manifest(operator.name, filename, files[filename])
            target = filename if filename.startswith("0000_") else f"0000_50_{operator.name}_{filename}"
            target = _unique(target, manifests)
            manifests[target] = rewrite(files[filename])
    return manifests, referenced


def _unique(name: str, taken: dict[str, bytes]) -> str:
    if name not in taken:
        return name
    stem, ext = posixpath.splitext(name)
    count = 2
    while f"{stem}_{count}{ext}" in taken:
        count += 1
    return f"{stem}_{count}{ext}"


def is_override(annotations: dict[str, str]) -> bool:
    return annotations.get(ANNOTATION_OVERRIDE) == "true"
