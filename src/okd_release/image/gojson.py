"""JSON as Go's encoding/json writes it, for the documents oc builds (configs, manifests, image-references).

The values are prepared in the field order of oc's Go structs (a dict keeps its insertion order); maps of
Go are sorted by key here. What differs from Python's json is the escaping: Go keeps UTF-8 and escapes
`<`, `>`, `&`, U+2028 and U+2029.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

_GO_ESCAPES = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def _escaped(text: str) -> str:
    # these characters occur only inside strings in JSON text, so replacing them in the whole text is safe
    for char, escape in _GO_ESCAPES:
        text = text.replace(char, escape)
    return text


def marshal(value: Any) -> bytes:
    """json.Marshal: compact."""
    return _escaped(json.dumps(value, ensure_ascii=False, separators=(",", ":"))).encode()


def marshal_indent(value: Any, indent: str = "  ") -> bytes:
    """json.MarshalIndent(value, "", indent): no trailing newline; empty objects and arrays stay `{}`/`[]`."""
    return _escaped(json.dumps(value, ensure_ascii=False, indent=indent)).encode()


def sorted_map(value: dict[str, Any]) -> dict[str, Any]:
    """A Go map as encoding/json writes it: keys in byte order."""
    return {key: value[key] for key in sorted(value, key=lambda k: k.encode("utf-8", "surrogateescape"))}


def rfc3339(seconds: int) -> str:
    """A time.Time at whole seconds in UTC as Go marshals it (`2024-01-01T00:00:00Z`)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
