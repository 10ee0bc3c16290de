"""YAML read safely: plain data only, no aliases, timestamps kept as text.

Kept apart from `documents` so that commands reading only JSON (info, mirror) never import PyYAML.
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import Node


class PlainLoader(yaml.SafeLoader):
    """SafeLoader that refuses aliases (a few hundred bytes of nested aliases expand to gigabytes: "billion
    laughs") and keeps timestamps as the strings Kubernetes would see."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise ComposerError(None, None, f"aliases are not allowed (found *{event.anchor})", event.start_mark)
        return super().compose_node(parent, index)


def scalar_as_text(loader: yaml.BaseLoader, node: yaml.ScalarNode) -> str:
    """A constructor that keeps a scalar the text it is (for a tag whose own constructor would make it
    something else, or fail: a timestamp that is no time)."""
    return str(loader.construct_scalar(node))


PlainLoader.add_constructor("tag:yaml.org,2002:timestamp", scalar_as_text)
YAMLError = yaml.YAMLError


def load(data: bytes | str) -> Any:
    """One document; raises YAMLError."""
    return yaml.load(data, Loader=PlainLoader)  # noqa: S506 - PlainLoader is a SafeLoader


def load_all(data: bytes | str) -> list[Any]:
    """Every document of a stream; raises YAMLError."""
    return list(yaml.load_all(data, Loader=PlainLoader))  # noqa: S506 - PlainLoader is a SafeLoader


def problem_text(problem: yaml.YAMLError) -> str:
    """A YAML error as one line: what is wrong, and where."""
    if isinstance(problem, yaml.MarkedYAMLError):
        mark = problem.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        text = problem.problem or ""
        if problem.context and (not text or text.startswith("but")):
            text = f"{problem.context} {text}".strip()
        return f"{text}{where}"
    return " ".join(str(problem).split())
