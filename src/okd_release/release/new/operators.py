"""Gather operator manifests from component images and rewrite them for the release, in oc's order
(oc's extractManifests and writePayload).

oc walks the operators by tag name, and each operator's /manifests files by file name (both byte order),
writing every regular file except image-references. The result keeps that order (a dict's insertion
order), which is the order of the payload layer.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from msgspec import Struct, field

from okd_release.background import Parallel
from okd_release.content import Descriptor
from okd_release.errors import DigestMismatch, PayloadError
from okd_release.image.layer import read_files
from okd_release.release.new.documents import first_document, is_text, text_fields
from okd_release.release.new.rewrite import Rewrite, version_mapper
from okd_release.release.new.transforms import LocalTag, load_transforms, parse_operator_references
from okd_release.release.payload.components import ComponentImage
from okd_release.release.payload.model import ANNOTATION_OVERRIDE, IMAGE_REFERENCES, LABEL_OPERATOR, ImageTag

CHECKED_SUFFIXES = (".json", ".yml", ".yaml")
"""The files oc's manifest check reads (case-sensitive); any other file is copied unread."""
_CHECKED_FIELDS = ("kind", "apiVersion")
"""The fields of a checked file's first document that must be non-empty text."""
GLOBAL_PREFIX = "0000_"
"""A file named so keeps its name (it takes its place in the global order); others become 0000_50_<tag>_<file>."""
MAX_NAME = 255


def is_operator(component: ComponentImage) -> bool:
    return bool(component.labels.get(LABEL_OPERATOR))


def is_override(annotations: Mapping[str, str]) -> bool:
    return annotations.get(ANNOTATION_OVERRIDE) == "true"


class OperatorFiles(Struct, frozen=True):
    """The files of an operator's /manifests/ by name, and their modification times."""

    files: dict[str, bytes]
    mtimes: dict[str, float]


def read_operator_files(component: ComponentImage, all_layers: bool = False) -> OperatorFiles:
    """The regular files directly under /manifests/ of the operator's top layer (every layer, the upper
    winning, for an override: the user may have built a layer over the operator)."""
    layers = component.image.layers if all_layers else component.image.layers[-1:]
    files: dict[str, bytes] = {}
    mtimes: dict[str, float] = {}

    def wanted(name: str) -> bool:
        return name.startswith("manifests/") and "/" not in name[len("manifests/"):]

    for layer in layers:
        what = f"layer {layer.digest} of operator {component.name}"

        def read(layer: Descriptor = layer, what: str = what) -> tuple[dict[str, bytes], dict[str, float]]:
            times: dict[str, float] = {}
            with component.store.open_blob(component.reference.repository, layer) as chunks:
                return read_files(chunks, wanted, what, mtimes=times), times

        try:
            found, times = component.store.retrying(what, read)
        except DigestMismatch as error:
            raise DigestMismatch(f"operator {component.name}: {error}") from None
        files.update({name.split("/", 1)[1]: data for name, data in found.items()})
        mtimes.update({name.split("/", 1)[1]: mtime for name, mtime in times.items()})
    return OperatorFiles(files, mtimes)


def check_manifest(operator: str, filename: str, data: bytes) -> None:
    """oc's manifest check: a .json/.yml/.yaml file's FIRST document must be an object with a non-empty
    `kind` and `apiVersion` (oc's YAML decoder reads no further; metadata.name is not checked)."""
    if not filename.endswith(CHECKED_SUFFIXES):
        return
    where = f"operator {operator}: manifests/{filename}"
    try:
        fields = text_fields(data, _CHECKED_FIELDS)
        document = first_document(data) if fields is None else None
    except PayloadError as error:
        raise PayloadError(f"{where} is not valid YAML/JSON ({error})") from None
    if fields is None:
        if not isinstance(document, dict):
            raise PayloadError(f"{where} is not a YAML/JSON object (its first document is {type(document).__name__})")
        fields = {name: is_text(document.get(name)) for name in _CHECKED_FIELDS}
    if not all(fields.values()):
        raise PayloadError(f"{where}: manifests must contain Kubernetes API objects with 'kind' and 'apiVersion' set")


class CheckedOperator(Struct, frozen=True):
    """An operator's files and what oc's checks of them alone found: its image-references (None when it has
    none) or why they do not parse, and each manifest the manifest check refuses, with the reason.

    The checks run as soon as the files are read (on the thread that read them); `assemble_manifests`
    reports what they found at the point where oc would meet it, so the first error is oc's.
    """

    read: OperatorFiles
    references: list[LocalTag] | None = None
    references_problem: str | None = None
    problems: dict[str, str] = field(default_factory=dict)


def check_operator(operator: str, read: OperatorFiles, check: bool = True) -> CheckedOperator:
    """Parse the operator's image-references and, with `check`, run oc's manifest check on every other file."""
    references, references_problem = None, None
    try:
        references = _local_references(operator, read.files)
    except PayloadError as error:
        references_problem = str(error)
    problems: dict[str, str] = {}
    for filename, data in read.files.items() if check else ():
        if filename == IMAGE_REFERENCES:
            continue
        try:
            check_manifest(operator, filename, data)
        except PayloadError as error:
            problems[filename] = str(error)
    return CheckedOperator(read, references, references_problem, problems)


def read_operator(component: ComponentImage, all_layers: bool = False, check: bool = True) -> CheckedOperator:
    """`read_operator_files` then `check_operator`: one operator's share of the work, on one thread."""
    return check_operator(component.name, read_operator_files(component, all_layers), check)


class ManifestNames:
    """Release manifest names as oc gives them: `0000_*` kept, others `0000_50_<tag>_<file>`; a name met
    again gets `_<n>` before its extension, n counting the times that name was met."""

    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def claim(self, operator: str, filename: str) -> str:
        name = filename if filename.startswith(GLOBAL_PREFIX) else f"0000_50_{operator}_{filename}"
        renamed = name
        while renamed in self._seen:
            # oc stops after one step and would write a second entry of the same name when `<stem>_<n><ext>`
            # is itself taken; counting on keeps every manifest and each name once
            self._seen[name] += 1
            cut = name.rfind(".")
            stem, extension = (name[:cut], name[cut:]) if cut >= 0 else (name, "")
            renamed = f"{stem}_{self._seen[name]}{extension}"
        self._seen[renamed] = 1
        _check_name(renamed, f"operator {operator}: manifests/{filename}")
        return renamed


def _check_name(name: str, where: str) -> None:
    """Each name becomes a file where the release is extracted: one printable-ASCII path component."""
    if len(name) > MAX_NAME:
        raise PayloadError(f"{where}: the manifest name {name[:60]!r}... is longer than {MAX_NAME} characters")
    if "/" in name or "\\" in name or not all(" " <= character <= "~" for character in name):
        raise PayloadError(f"{where}: the manifest name {name!r} is not a printable-ASCII file name")


class GatheredManifests(Struct, frozen=True):
    """The release's manifests in the payload layer's order, and every tag an operator's image-references names.

    `mtimes` are the manifests' modification times as the operator images have them, `newest` the newest
    of every file read (image-references included): oc's payload layer carries both.
    """

    manifests: dict[str, bytes]
    referenced: frozenset[str]
    mtimes: dict[str, float] = field(default_factory=dict)
    newest: float = 0.0


def _byte_order(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


def _local_references(operator: str, files: Mapping[str, bytes]) -> list[LocalTag] | None:
    if IMAGE_REFERENCES not in files:
        return None
    try:
        return parse_operator_references(files[IMAGE_REFERENCES])
    except PayloadError as error:
        raise PayloadError(f"operator {operator}: manifests/{IMAGE_REFERENCES} is invalid: {error}") from None


def _operator_rewrite(operator: str, local: list[LocalTag] | None, release_tags: Sequence[ImageTag],
                      release_name: str, allow_missing: bool, defaults: Mapping[str, str]) -> Rewrite:
    if local is None:  # no placeholders, and no component versions to offer
        return version_mapper(release_name)
    try:
        return load_transforms(release_tags, local, allow_missing, defaults).rewrite(release_name)
    except PayloadError as error:
        raise PayloadError(f"operator {operator} contained an invalid image-references file: {error}") from None


def _rewritten(operator: str, filename: str, rewrite: Rewrite, data: bytes) -> bytes:
    try:
        return rewrite(data)
    except PayloadError as error:
        raise PayloadError(f"operator {operator}: manifests/{filename}: {error}") from None


def gather_manifests(operators: Sequence[ComponentImage], release_tags: Sequence[ImageTag], release_name: str, *,
                     allow_missing: bool = False, check: bool = True, overrides: Collection[str] = (),
                     defaults: Mapping[str, str] | None = None, workers: int = 8,
                     read: Mapping[str, CheckedOperator] | None = None) -> GatheredManifests:
    """Every operator's manifests, renamed and rewritten for the release named `release_name` whose
    tags are `release_tags` (pullspecs and build annotations); `check` is oc's manifest check. `read`: the
    operators read and checked already (as they were resolved, with the same `check`); the others are
    read here."""
    done = read or {}
    unread = [op for op in operators if op.name not in done]
    with Parallel(lambda op: read_operator(op, op.name in overrides, check), unread, workers,
                  "reading operators") as outcomes:
        contents = dict(zip((op.name for op in unread), (outcome.result() for outcome in outcomes), strict=True))
    files = {op.name: done[op.name] if op.name in done else contents[op.name] for op in operators}
    return assemble_manifests(files, release_tags, release_name, allow_missing=allow_missing, defaults=defaults)


def assemble_manifests(operators: Mapping[str, CheckedOperator], release_tags: Sequence[ImageTag], release_name: str, *,
                       allow_missing: bool = False, defaults: Mapping[str, str] | None = None) -> GatheredManifests:
    """The release's manifests from each operator's checked files (read from its image, or a directory's)."""
    ordered = sorted(operators.items(), key=lambda pair: _byte_order(pair[0]))
    # every image-references is read before any manifest is written, as oc prunes the tags first
    for _, checked in ordered:
        if checked.references_problem is not None:
            raise PayloadError(checked.references_problem)
    manifests: dict[str, bytes] = {}
    mtimes: dict[str, float] = {}
    claimed = ManifestNames()
    for operator, checked in ordered:
        read = checked.read
        files = read.files
        if not files:
            continue
        rewrite = _operator_rewrite(operator, checked.references, release_tags, release_name, allow_missing,
                                    defaults or {})
        for filename in sorted(files, key=_byte_order):
            if filename == IMAGE_REFERENCES:
                continue
            target = claimed.claim(operator, filename)
            if filename in checked.problems:
                raise PayloadError(checked.problems[filename])
            manifests[target] = _rewritten(operator, filename, rewrite, files[filename])
            mtimes[target] = read.mtimes.get(filename, 0.0)
    referenced = frozenset(tag.name for _, checked in ordered if checked.references for tag in checked.references)
    newest = max((mtime for _, checked in ordered for mtime in checked.read.mtimes.values()), default=0.0)
    return GatheredManifests(manifests, referenced, mtimes, newest)
