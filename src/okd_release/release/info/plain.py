"""Typed results as plain JSON-ready values: dataclass fields in camelCase, other keys as they are."""

from __future__ import annotations

import dataclasses
from typing import Any


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def plain(value: Any, skip_empty: bool = False) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = {}
        for field in dataclasses.fields(value):
            item = getattr(value, field.name)
            if skip_empty and item in ("", None, (), [], {}):
                continue
            result[camel(field.name)] = plain(item, skip_empty)
        return result
    if isinstance(value, dict):
        return {key: plain(item, skip_empty) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item, skip_empty) for item in value]
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value
