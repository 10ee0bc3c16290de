"""Untrusted documents (JSON and YAML from registries, payloads, disk mirrors and users' files) decoded into
typed msgspec Structs: one validating layer, so that a malformed document is one error naming the field.

Each function takes `what` (the document, as a user knows it: "manifest of quay.io/x@sha256:...") and the
caller's error class, and raises that class with one line: `<what> is invalid at $.spec.tags[0].name: ...`.
"""

from __future__ import annotations

import threading
from typing import Any, TypeVar

import msgspec

from okd_release.errors import OkdReleaseError

T = TypeVar("T")

# msgspec builds a Struct type's decoding information on its first use; two threads doing that at once for one
# type can crash the interpreter (msgspec 0.22: a segfault in json_decode_struct_map_inner, seen when a
# command's workers decode their first manifests together). Each type's first use is made under a lock.
_BUILT: set[Any] = set()
_BUILDING = threading.Lock()


def prepare(kind: Any) -> None:
    """Build `kind`'s decoding information once, under the lock: call before decoding into it with msgspec directly."""
    if kind in _BUILT:
        return
    with _BUILDING:
        if kind not in _BUILT:
            msgspec.json.Decoder(kind)  # builds the information of `kind` and of every type within it
            _BUILT.add(kind)


def decode_json(data: bytes | str, kind: type[T], what: str, error: type[OkdReleaseError]) -> T:
    """`data` decoded straight into `kind`: the field path of a problem is exact, even for a number out of range."""
    prepare(kind)
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as problem:
        raise error(_invalid(what, problem)) from None
    except msgspec.DecodeError as problem:
        raise error(f"{what} is not valid JSON ({_lowered(str(problem))})") from None
    except UnicodeDecodeError:
        raise error(f"{what} is not valid JSON (not UTF-8)") from None
    except RecursionError:
        raise error(f"{what} is not valid JSON (nested too deeply)") from None


def decode_json_part(data: bytes | msgspec.Raw, kind: type[T], what: str, error: type[OkdReleaseError], at: str) -> T:
    """A part of a larger JSON document (a `msgspec.Raw` of it), decoded into `kind`; `at` is its path in the
    document (`$.spec.tags[3]`), so that a problem's path is told from the document's root, as `decode_json`'s."""
    prepare(kind)
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as problem:
        message, _, inner = str(problem).partition(" - at `$")
        raise error(_invalid(what, msgspec.ValidationError(f"{message} - at `{at}{inner or '`'}"))) from None
    except RecursionError:
        raise error(f"{what} is not valid JSON (nested too deeply)") from None


def convert(value: Any, kind: type[T], what: str, error: type[OkdReleaseError]) -> T:
    """An already decoded value (from YAML, or a part of a larger document) validated into `kind`."""
    prepare(kind)
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as problem:
        raise error(_invalid(what, problem)) from None
    except RecursionError:
        raise error(f"{what} is invalid: nested too deeply") from None


def load_yaml(data: bytes | str, what: str, error: type[OkdReleaseError]) -> Any:
    """One YAML document, safely (plain data only) and without aliases, so it costs what its size says."""
    return _read_yaml(data, False, what, error)


def load_yaml_all(data: bytes | str, what: str, error: type[OkdReleaseError]) -> list[Any]:
    """Every document of a YAML stream (`---` between them, as manifests have), each read as `load_yaml` reads one."""
    documents: list[Any] = _read_yaml(data, True, what, error)
    return documents


def _read_yaml(data: bytes | str, stream: bool, what: str, error: type[OkdReleaseError]) -> Any:
    from okd_release import plainyaml  # PyYAML only for the commands that read YAML

    try:
        return plainyaml.load_all(data) if stream else plainyaml.load(data)
    except plainyaml.YAMLError as problem:
        raise error(f"{what} is not valid YAML ({plainyaml.problem_text(problem)})") from None
    except RecursionError:
        raise error(f"{what} is not valid YAML (nested too deeply)") from None


def decode_json_or_yaml(data: bytes | str, kind: type[T], what: str, error: type[OkdReleaseError]) -> T:
    """JSON when `data` is JSON (the payload's own files), else YAML (files people write).

    JSON is decoded straight into `kind`, never into plain data first: a release's image-references of
    thousands of images would otherwise be held a second time, as dicts and lists, while it is read.
    """
    prepare(kind)
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as problem:  # JSON, but not a `kind`
        raise error(_invalid(what, problem)) from None
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        pass
    return convert(load_yaml(data, what, error), kind, what, error)


def _invalid(what: str, problem: msgspec.ValidationError) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.spec.tags[0].name`"; we lead with the document and path.
    message, _, where = str(problem).partition(" - at ")
    if not where:
        return f"{what} is invalid: {_lowered(message)}"
    return f"{what} is invalid at {where.replace('`', '')}: {_lowered(message)}"


def _lowered(text: str) -> str:
    """"Expected `int`" reads as "expected `int`" after a colon; "JSON is malformed" stays as it is."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text
