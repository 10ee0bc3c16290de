"""`-o jsonpath=...` and `-o template=...` (`go-template=`): the common subset of kubectl's printers.

JSONPath: text with `{...}` expressions of fields (`.a.b`, `['a.b']`), indexes and slices (`[0]`,
`[-1]`, `[1:3]`), wildcards (`[*]`, `.*`), recursive descent (`..name`), `{range ...}{end}` and the
literals `{"\\n"}`. Go templates: text with `{{.a.b}}` field access (maps by key), `{{index . "a.b"}}`,
`{{range .x}}...{{end}}` (with `{{.}}` inside) and `{{if .x}}...{{else}}...{{end}}`. Anything else is a
TemplateError naming what is not supported. Values print as kubectl prints them: strings bare, other
values as JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from okd_release.errors import ConfigError


class TemplateError(ConfigError):
    """An output template that cannot be parsed or is outside the supported subset."""


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (dict, list)):  # as Go's json.Marshal: compact, keys sorted, HTML characters escaped
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return str(value)


# -- JSONPath --------------------------------------------------------------------------------------
_STEP = re.compile(r"\.\.(?P<descend>[A-Za-z0-9_\-]+|\*)|\.(?P<field>[A-Za-z0-9_\-]+|\*)|\[(?P<bracket>[^\]]*)\]")


def _steps(path: str, template: str) -> list[tuple[str, str]]:
    path = path.strip()
    if path in ("", "@", "$", "."):
        return []
    if path[0] in "@$":
        path = path[1:]
    steps, position = [], 0
    while position < len(path):
        match = _STEP.match(path, position)
        if not match:
            raise TemplateError(f"unsupported JSONPath {path!r} in {template!r} (at {path[position:]!r})")
        kind = next(k for k, v in match.groupdict().items() if v is not None)
        steps.append((kind, match.group(kind)))
        position = match.end()
    return steps


def _descend(value: Any) -> Iterator[Any]:
    yield value
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    for child in children:
        yield from _descend(child)


def _bracket(values: list[Any], text: str, template: str) -> list[Any]:
    text = text.strip()
    result: list[Any] = []
    if text[:1] in "'\"" and text[-1:] == text[:1] and len(text) >= 2:
        return [v[text[1:-1]] for v in values if isinstance(v, dict) and text[1:-1] in v]
    if text == "*":
        for v in values:
            result.extend(v.values() if isinstance(v, dict) else v if isinstance(v, list) else ())
        return result
    slice_match = re.fullmatch(r"(-?\d*):(-?\d*)", text)
    if re.fullmatch(r"-?\d+", text) or slice_match:
        for v in values:
            if not isinstance(v, list):
                continue
            if slice_match:
                start, end = (int(x) if x else None for x in slice_match.groups())
                result.extend(v[start:end])
            elif -len(v) <= int(text) < len(v):
                result.append(v[int(text)])
            else:
                raise TemplateError(f"array index out of bounds: index {text}, length {len(v)}")
        return result
    raise TemplateError(f"unsupported JSONPath subscript [{text}] in {template!r} (filters are not supported)")


def _evaluate(root: Any, path: str, template: str) -> list[Any]:
    values = [root]
    for kind, name in _steps(path, template):
        if kind == "bracket":
            values = _bracket(values, name, template)
        elif kind == "descend":
            found = [d for v in values for d in _descend(v)]
            values = _bracket(found, "*", template) if name == "*" else \
                [d[name] for d in found if isinstance(d, dict) and name in d]
        elif name == "*":
            values = _bracket(values, "*", template)
        else:
            values = [v[name] for v in values if isinstance(v, dict) and name in v]
    return values


def _jsonpath_tokens(template: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    for match in re.finditer(r"\{((?:[^{}\"']|\"(?:\\.|[^\"\\])*\"|'[^']*')*)\}", template):
        if match.start() > position:
            tokens.append(("text", template[position:match.start()]))
        tokens.append(("expr", match.group(1).strip()))
        position = match.end()
    rest = template[position:]
    if "{" in rest or "}" in rest:
        raise TemplateError(f"unclosed or unbalanced braces in JSONPath template {template!r}")
    if rest:
        tokens.append(("text", rest))
    return tokens


def jsonpath(template: str, data: Any) -> str:
    """kubectl's `-o jsonpath=TEMPLATE` of `data` (no trailing newline, as kubectl)."""
    tokens = _jsonpath_tokens(template)
    out: list[str] = []
    _run_jsonpath(tokens, 0, data, data, out, template, top=True)
    return "".join(out)


def _run_jsonpath(tokens: list[tuple[str, str]], index: int, current: Any, root: Any, out: list[str],
                  template: str, top: bool = False) -> int:
    while index < len(tokens):
        kind, text = tokens[index]
        index += 1
        if kind == "text":
            out.append(text)
        elif text == "end":
            if top:
                raise TemplateError(f"{{end}} without {{range}} in {template!r}")
            return index
        elif text.startswith("range "):
            items = _evaluate(root if text[6:].strip().startswith("$") else current, text[6:], template)
            body_end = _skip_range(tokens, index, template)
            for item in _flatten(items):
                _run_jsonpath(tokens, index, item, root, out, template)
            index = body_end
        elif text[:1] in "\"'" and text[-1:] == text[:1] and len(text) >= 2:
            out.append(json.loads(text) if text[0] == '"' else text[1:-1])
        else:
            base = root if text.startswith("$") else current
            out.append(" ".join(_text(v) for v in _evaluate(base, text, template)))
    if not top:
        raise TemplateError(f"{{range}} without {{end}} in {template!r}")
    return index


def _skip_range(tokens: list[tuple[str, str]], index: int, template: str) -> int:
    depth = 1
    while index < len(tokens):
        kind, text = tokens[index]
        index += 1
        if kind == "expr" and text.startswith("range "):
            depth += 1
        elif kind == "expr" and text == "end":
            depth -= 1
            if depth == 0:
                return index
    raise TemplateError(f"{{range}} without {{end}} in {template!r}")


def _flatten(items: list[Any]) -> list[Any]:
    """`{range .a[*]}` iterates the matches; `{range .a}` iterates the one list matched."""
    if len(items) == 1 and isinstance(items[0], list):
        return list(items[0])
    return items


# -- Go templates ----------------------------------------------------------------------------------
_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.DOTALL)
_FIELD = re.compile(r"\.|(\.[A-Za-z_][A-Za-z0-9_]*)+")


def _go_tokens(template: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    for match in _ACTION.finditer(template):
        text = template[position:match.start()]
        if match.group(1):
            text = text.rstrip()
        if tokens and tokens[-1][0] == "trim":
            tokens.pop()
            text = text.lstrip()
        tokens.append(("text", text))
        tokens.append(("action", match.group(2)))
        if match.group(3):
            tokens.append(("trim", ""))
        position = match.end()
    text = template[position:]
    if tokens and tokens[-1][0] == "trim":
        tokens.pop()
        text = text.lstrip()
    if "{{" in text:
        raise TemplateError(f"unclosed action in template {template!r}")
    tokens.append(("text", text))
    return tokens


def _go_value(expression: str, dot: Any, template: str) -> Any:
    words = expression.split(None, 1)
    if words and words[0] == "index":
        arguments = re.findall(r'"(?:\\.|[^"\\])*"|\S+', words[1] if len(words) > 1 else "")
        if not arguments:
            raise TemplateError(f"index needs arguments in {template!r}")
        value = _go_value(arguments[0], dot, template)
        for key in arguments[1:]:
            key_value: Any = json.loads(key) if key.startswith('"') else int(key) if key.lstrip("-").isdigit() else None
            if key_value is None:
                raise TemplateError(f"unsupported index key {key!r} in {template!r}")
            try:
                value = value[key_value]
            except (KeyError, IndexError, TypeError):
                value = None
        return value
    if not _FIELD.fullmatch(expression):
        raise TemplateError(f"unsupported template action {{{{{expression}}}}} in {template!r} "
                            "(supported: .field.path, index, range, if/else, end)")
    value = dot
    for name in expression.split(".")[1:] if expression != "." else ():
        value = value.get(name) if isinstance(value, dict) else None
    return value


def _truthy(value: Any) -> bool:
    return bool(value) if not isinstance(value, (int, float)) or isinstance(value, bool) else value != 0


def go_template(template: str, data: Any) -> str:
    """`-o template=TEMPLATE` (or go-template=) of `data`: the subset of Go's text/template described above."""
    tokens = _go_tokens(template)
    out: list[str] = []
    index, ender = _run_go(tokens, 0, data, out, template, emit=True)
    if ender is not None:
        raise TemplateError(f"unexpected {{{{{ender}}}}} in {template!r}")
    return "".join(out)


def _run_go(tokens: list[tuple[str, str]], index: int, dot: Any, out: list[str], template: str,
            emit: bool) -> tuple[int, str | None]:
    """Run tokens until `end` or `else` (returned with the index after it) or the end of the template."""
    while index < len(tokens):
        kind, text = tokens[index]
        index += 1
        if kind == "text":
            if emit:
                out.append(text)
            continue
        if text in ("end", "else"):
            return index, text
        if text.startswith("/*"):
            continue
        if text.startswith("range "):
            value = _go_value(text[6:].strip(), dot, template) if emit else None
            items: list[Any] = [value[k] for k in sorted(value)] if isinstance(value, dict) else \
                list(value) if isinstance(value, list) else []
            after, ender = index, None
            for item in items:
                after, ender = _run_go(tokens, index, item, out, template, emit)
            if not items:
                after, ender = _run_go(tokens, index, dot, out, template, False)
            if ender == "else":
                after, ender = _run_go(tokens, after, dot, out, template, emit and not items)
            if ender != "end":
                raise TemplateError(f"{{{{range}}}} without {{{{end}}}} in {template!r}")
            index = after
        elif text.startswith("if "):
            condition = emit and _truthy(_go_value(text[3:].strip(), dot, template))
            index, ender = _run_go(tokens, index, dot, out, template, condition)
            if ender == "else":
                index, ender = _run_go(tokens, index, dot, out, template, emit and not condition)
            if ender != "end":
                raise TemplateError(f"{{{{if}}}} without {{{{end}}}} in {template!r}")
        else:
            value = _go_value(text, dot, template)
            if emit:
                out.append("<no value>" if value is None else _go_text(value))
    return index, None


def _go_text(value: Any) -> str:
    """Go's fmt of a decoded JSON value, as text/template prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(_go_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{_go_text(value[k])}" for k in sorted(value)) + "]"
    return str(value)
