"""The first YAML (or JSON) document of a file, as oc reads an operator's files.

oc decodes them with ghodss/yaml, which reads only the first document of a multi-document stream; the
documents after it are copied into the release unread.

oc's manifest check asks only whether that document is an object whose `kind` and `apiVersion` are
non-empty text. `text_fields` answers it from the parser's events, without building the document (a
release's manifests are megabytes of CRD schemas: building them in Python costs about five times as much
as parsing them), and leaves to `first_document` every document whose building could fail or change
what those fields hold.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from okd_release.errors import PayloadError

_STR = "tag:yaml.org,2002:str"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_VALUE = "tag:yaml.org,2002:value"
_TEXT = (_STR, _TIMESTAMP, _VALUE)
"""What a plain scalar is read as text from: yaml.v2 keeps timestamp-like scalars and `=` strings."""


@functools.cache
def _loader() -> Any:
    """PyYAML's safe loader (libyaml's when built with it), reading as text what yaml.v2 reads as a string:
    a scalar that looks like a time (PyYAML's constructor fails with ValueError on one that is none, such as
    `2024-13-45`), and `=` (YAML 1.1's `value`, which PyYAML's safe constructor refuses)."""
    import yaml  # PyYAML when a manifest is first read (`new` reads them on the threads that resolve images)

    from okd_release.plainyaml import scalar_as_text

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass

    for tag in (_TIMESTAMP, _VALUE):
        Loader.add_constructor(tag, scalar_as_text)
    return Loader


@contextmanager
def _reading(data: bytes) -> Iterator[Any]:
    """A loader over `data`; any problem in the document is one PayloadError line."""
    import yaml

    loader = _loader()(data)
    try:
        yield loader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise PayloadError(f"{error.problem or error.context or 'invalid document'}{where}") from None
    except yaml.YAMLError as error:  # a ReaderError: bytes that are not text
        raise PayloadError(str(error).splitlines()[0]) from None
    except (ValueError, KeyError, TypeError, OverflowError) as error:  # `!!int abc`, `!!bool maybe`
        raise PayloadError(f"a value does not match its tag ({error})") from None
    finally:
        loader.dispose()


def first_document(data: bytes) -> Any:
    """The first document's value; None for an empty stream. PayloadError (one line) if it does not parse."""
    with _reading(data) as loader:
        return loader.get_data() if loader.check_data() else None


def text_fields(data: bytes, names: tuple[str, ...]) -> dict[str, bool] | None:
    """Whether each of `names` is a non-empty text field of the first document, an object, read from the
    parser's events without building the document; PayloadError (one line) if it does not parse.

    None when only building the document can tell: it is not an object, or it has an alias, an explicit
    tag, a key that is a collection, or a merge key (`<<`). `first_document` then judges it.
    """
    from yaml import events

    with _reading(data) as loader:
        loader.get_event()  # the stream's start
        if loader.check_event(events.StreamEndEvent):
            return None
        loader.get_event()  # the document's start
        top = loader.get_event()
        if not isinstance(top, events.MappingStartEvent) or top.tag is not None:
            return None
        found: dict[str, bool] = {}
        levels = [[True, 0]]  # per open collection: whether it is a mapping, how many nodes it has had
        wanted: str | None = None  # the field of `names` whose value comes next in the top mapping
        while levels:
            event = loader.get_event()
            level = levels[-1]
            if isinstance(event, events.CollectionEndEvent):
                levels.pop()
                if levels:
                    levels[-1][1] += 1
                continue
            if isinstance(event, events.AliasEvent) or event.tag is not None:
                return None
            key = level[0] and level[1] % 2 == 0
            scalar = isinstance(event, events.ScalarEvent)
            plain = scalar and event.implicit[0]
            if plain and event.value == "<<":
                return None
            if len(levels) == 1:
                if key:
                    wanted = event.value if scalar and event.value in names else None
                elif wanted is not None:
                    found[wanted] = scalar and bool(event.value) and (
                        not plain or _resolved(loader, event.value) in _TEXT)
                    wanted = None
            if scalar:
                level[1] += 1
            elif key:
                return None  # a collection as a key: building the document refuses it
            else:
                levels.append([isinstance(event, events.MappingStartEvent), 0])
        loader.get_event()  # the document's end
        return {name: found.get(name, False) for name in names}


def _resolved(loader: Any, value: str) -> str:
    import yaml

    return str(loader.resolve(yaml.ScalarNode, value, (True, False)))


def is_text(value: Any) -> bool:
    """A non-empty string as oc sees one (timestamp-like scalars are kept as text, as yaml.v2 keeps them)."""
    return isinstance(value, str) and bool(value)
