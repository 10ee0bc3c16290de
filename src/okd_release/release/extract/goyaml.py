"""Manifests as `oc adm release extract --to` writes them: each document decoded and encoded again as Go does.

oc reads a manifest file with Kubernetes' YAML-or-JSON decoder (documents split at `---` lines, each YAML
document resolved by go-yaml v2 and turned into JSON by sigs.k8s.io/yaml), then writes each document as
`---\\n` followed by `sigs.k8s.io/yaml.JSONToYAML` of that JSON: go-yaml v2 parses the JSON and marshals it
again. So what lands on disk follows go-yaml v2's rules, not PyYAML's: its scalar resolution (`y`, `off`,
`0o17`, `1e3` are not strings to it), JSON's number formatting in between, map keys in go-yaml's "natural"
order (`a2` before `a10`), and its emitter's choice of plain, single-quoted, double-quoted or literal style,
lines folded at 80 columns, and sequences not indented under their key.

This module reimplements those rules (go.yaml.in/yaml/v2 `resolve.go`, `sorter.go`, `encode.go` and
`emitterc.go`; sigs.k8s.io/yaml `yaml.go`; Go's `strconv` and `encoding/json` float formatting) from their
documented behaviour; tests/test_extract_oc.py compares it with what real oc wrote for tricky values.
"""

from __future__ import annotations

import calendar
import json
import math
import re
import struct
from collections.abc import Iterator
from decimal import Decimal
from functools import cmp_to_key
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from okd_release.errors import PayloadError
from okd_release.plainyaml import PlainLoader, scalar_as_text  # the project's safe loader: no aliases, timestamps as text

INT64_MIN, INT64_MAX, UINT64_MAX = -(1 << 63), (1 << 63) - 1, (1 << 64) - 1
STR_TAG, BOOL_TAG, INT_TAG, FLOAT_TAG = ("tag:yaml.org,2002:" + t for t in ("str", "bool", "int", "float"))
NULL_TAG, TIMESTAMP_TAG, MERGE_TAG = ("tag:yaml.org,2002:" + t for t in ("null", "timestamp", "merge"))


class GoYamlError(PayloadError):
    """A document oc could not convert (oc reports it and skips the file)."""


# -- go-yaml v2's resolution of plain scalars ----------------------------------------------------------------
_RESOLVE_MAP: dict[str, tuple[str, Any]] = {}
for _value, _tag, _words in (
    (True, BOOL_TAG, "y Y yes Yes YES true True TRUE on On ON"),
    (False, BOOL_TAG, "n N no No NO false False FALSE off Off OFF"),
    (None, NULL_TAG, "~ null Null NULL"),
    (math.nan, FLOAT_TAG, ".nan .NaN .NAN"),
    (math.inf, FLOAT_TAG, ".inf .Inf .INF +.inf +.Inf +.INF"),
    (-math.inf, FLOAT_TAG, "-.inf -.Inf -.INF"),
    ("<<", MERGE_TAG, "<<"),
):
    for _word in _words.split():
        _RESOLVE_MAP[_word] = (_tag, _value)
_HINTS = frozenset("+-0123456789yYnNtTfFoO~.")

_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_FLOAT = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
# go-yaml v2's timestamp layouts: RFC 3339 with `T` or `t` and a zone, `date time` without one, or a date
_TIMESTAMP = re.compile(r"(?P<date>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2})(?:(?P<t>[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}"
                        r"(?:[.,][0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2}))|(?P<space> [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}"
                        r"(?:[.,][0-9]+)?))?")


def _go_parse_int(text: str, unsigned: bool) -> int | None:
    """strconv.ParseInt/ParseUint with base 0 (0x, 0o, 0b and a leading 0 for octal); None when Go fails."""
    sign, body = "", text
    if body[:1] in "+-" and body:
        sign, body = body[0], body[1:]
        if unsigned:
            return None
    if not body:
        return None
    base, digits = 10, body
    lowered = body.lower()
    if lowered.startswith("0x"):
        base, digits = 16, body[2:]
    elif lowered.startswith("0b"):
        base, digits = 2, body[2:]
    elif lowered.startswith("0o"):
        base, digits = 8, body[2:]
    elif body.startswith("0") and len(body) > 1:
        base, digits = 8, body[1:]
    if not digits or not all(c in "0123456789abcdefABCDEF"[: base + (6 if base == 16 else 0)] for c in digits):
        return None
    value = int(digits, base) * (-1 if sign == "-" else 1)
    limit_low, limit_high = (0, UINT64_MAX) if unsigned else (INT64_MIN, INT64_MAX)
    return value if limit_low <= value <= limit_high else None


def _go_parse_float(text: str) -> float | None:
    """strconv.ParseFloat(text, 64) for the forms go-yaml hands it; None when Go fails (or overflows)."""
    if not _GO_FLOAT.fullmatch(text) or text in ("", "+", "-", ".", "+.", "-."):
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if math.isinf(value) and "inf" not in text.lower():
        return None  # out of range: Go returns an error
    return value


def _is_timestamp(text: str) -> bool:
    """go-yaml v2's parseTimestamp: one of its layouts, with Go's checks of each field's range."""
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        return False
    year, month, day = (int(part) for part in match.group("date").split("-"))
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return False
    clock = match.group("t") or match.group("space")
    if clock:
        hour, minute, second = (int(part) for part in re.findall(r"[0-9]+", clock)[:3])
        if hour > 23 or minute > 59 or second > 59:
            return False
    return True


def resolve(text: str) -> tuple[str, Any]:
    """The tag and value go-yaml v2 gives a plain scalar (resolve.go)."""
    if not text:
        return NULL_TAG, None
    hint = text[0]
    if hint not in _HINTS:  # go-yaml looks a scalar up only by its first character: `<<` is a string to it
        return STR_TAG, text
    if text in _RESOLVE_MAP:
        return _RESOLVE_MAP[text]
    if hint == ".":
        value = _go_parse_float(text)
        if value is not None:
            return FLOAT_TAG, value
    elif hint in "+-0123456789":
        if _is_timestamp(text):
            return TIMESTAMP_TAG, text
        plain = text.replace("_", "")
        for unsigned in (False, True):
            integer = _go_parse_int(plain, unsigned)
            if integer is not None:
                return INT_TAG, integer
        if _YAML_STYLE_FLOAT.fullmatch(plain):
            value = _go_parse_float(plain)
            if value is not None:
                return FLOAT_TAG, value
        if plain.startswith("0b") or plain.startswith("-0b"):
            negative = plain.startswith("-")
            digits = plain[3:] if negative else plain[2:]
            if digits and set(digits) <= {"0", "1"}:
                value_int = int(digits, 2) * (-1 if negative else 1)
                if INT64_MIN <= value_int <= (INT64_MAX if negative else UINT64_MAX):
                    return INT_TAG, value_int
    return STR_TAG, text


class _GoLoader(PlainLoader):
    """PyYAML, with go-yaml v2's resolution of plain scalars in place of YAML 1.1's."""

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            return resolve(value)[0]
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def construct_go_scalar(self, node: ScalarNode) -> Any:
        tag, value = resolve(str(self.construct_scalar(node)))
        if tag != node.tag:  # an explicit tag (`!!int "12"`): go-yaml converts or fails
            raise GoYamlError(f"cannot decode {node.value!r} as {node.tag.rsplit(':', 1)[-1]}")
        return value

    def flatten_mapping(self, node: MappingNode) -> None:
        # go-yaml v2 merges `<<` keys in place: the merged keys override the keys before them
        merged: list[tuple[Any, Any]] = []
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == "<<" and (key.style is None or key.tag == MERGE_TAG):
                sources = value.value if value.tag == "tag:yaml.org,2002:seq" else [value]
                for source in sources:
                    if not isinstance(source, MappingNode):
                        raise GoYamlError("map merge requires map or sequence of maps as the value")
                    self.flatten_mapping(source)
                    merged.extend(source.value)
            else:
                merged.append((key, value))
        node.value = merged


for _tag in (BOOL_TAG, INT_TAG, FLOAT_TAG, NULL_TAG):
    _GoLoader.add_constructor(_tag, _GoLoader.construct_go_scalar)


_GoLoader.add_constructor(TIMESTAMP_TAG, scalar_as_text)


# -- Go's float formatting ------------------------------------------------------------------------------------
def _digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as `value` (as Go's strconv finds them) and the decimal point."""
    if value == 0:
        return "", 0
    sign_, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    return digits, len(digits) + int(exponent)


def _format_e(negative: bool, digits: str, point: int, precision: int) -> str:
    mantissa = (digits[:1] or "0") + ("." + digits[1:precision + 1].ljust(precision, "0") if precision > 0 else "")
    exponent = point - 1 if digits else 0
    sign = "-" if exponent < 0 else "+"
    return f"{'-' if negative else ''}{mantissa}e{sign}{abs(exponent):02d}"


def _format_f(negative: bool, digits: str, point: int, precision: int) -> str:
    whole = (digits[:point].ljust(point, "0") if point > 0 else "0")
    fraction = "".join(digits[point + i] if 0 <= point + i < len(digits) else "0" for i in range(precision))
    return f"{'-' if negative else ''}{whole}{'.' + fraction if precision > 0 else ''}"


def format_float_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 64), as go-yaml writes a float (with YAML's .inf and .nan)."""
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    negative = math.copysign(1.0, value) < 0
    digits, point = _digits(value)
    exponent = point - 1
    if digits and (exponent < -4 or exponent >= 6):  # shortest 'g' switches to %e from 1e+06 on
        return _format_e(negative, digits, point, len(digits) - 1)
    return _format_f(negative, digits, point, max(len(digits) - point, 0))


def format_float32_g(value: float) -> str:
    """strconv.FormatFloat(value, 'g', -1, 32): the shortest digits that read back as the same float32."""
    if math.isnan(value) or math.isinf(value):
        return format_float_g(value)
    single = struct.unpack("f", struct.pack("f", value))[0]
    for precision in range(1, 10):
        text = f"{single:.{precision - 1}e}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == single:
            return format_float_g(float(text))
    return format_float_g(single)


def json_float(value: float) -> str:
    """encoding/json's text for a float64: %f between 1e-6 and 1e21, else %e with a short exponent."""
    if math.isnan(value) or math.isinf(value):
        raise GoYamlError(f"json: unsupported value: {format_float_g(value).replace('.inf', '+Inf')}")
    negative = math.copysign(1.0, value) < 0
    digits, point = _digits(value)
    if value != 0 and (abs(value) < 1e-6 or abs(value) >= 1e21):
        text = _format_e(negative, digits, point, len(digits) - 1)
        return re.sub(r"e-0(\d)$", r"e-\1", text)
    return _format_f(negative, digits, point, max(len(digits) - point, 0))


# -- decoding a manifest file as oc does ---------------------------------------------------------------------
_SEPARATOR = re.compile(rb"---[ \t\r\n\f\v]*")


def _yaml_chunks(data: bytes) -> Iterator[bytes]:
    """Kubernetes' YAMLReader: a document ends at a line that is `---` and white space only."""
    chunk: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if _SEPARATOR.fullmatch(line):
            if chunk:
                yield b"".join(chunk)
            chunk = []
            continue
        chunk.append(line)
    if chunk:
        yield b"".join(chunk)


def _string_key(key: Any, where: str) -> str:
    """sigs.k8s.io/yaml: JSON keys are strings; go-yaml's int, float and bool keys are spelled out."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, float):
        return format_float32_g(key)
    raise GoYamlError(f"{where}: unsupported map key {key!r}")


def _through_json(value: Any, where: str, float_text: bool) -> Any:
    """A decoded value after sigs.k8s.io/yaml writes it as JSON and go-yaml reads that JSON back.

    `float_text`: floats came from YAML, so JSON spells them as encoding/json does (1.0 becomes `1`, an int
    to go-yaml); floats read from JSON text keep go-yaml's reading of that text (`1.0` stays a float).
    """
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            result[_string_key(key, where)] = _through_json(item, where, float_text)
        return result
    if isinstance(value, list):
        return [_through_json(item, where, float_text) for item in value]
    if isinstance(value, float) and float_text:
        return resolve(json_float(value))[1]
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise GoYamlError(f"{where}: json: unsupported value")
    return value


_RAW_BREAKS = re.compile("[ \t]*([\x85\u2028\u2029])([ \t\x85\u2028\u2029]*)")


def _fold(match: re.Match[str]) -> str:
    """YAML's folding of a line break inside a double-quoted scalar (a NEL reads as `\\n`, LS and PS as themselves)."""
    def normal(c: str) -> str:
        return "\n" if c == "\x85" else c

    trailing = "".join(normal(c) for c in match.group(2) if c not in " \t")
    leading = normal(match.group(1))
    if leading == "\n":
        return trailing or " "
    return leading + trailing


def _json_string(value: Any) -> Any:
    """A string of a JSON manifest as go-yaml reads it: JSON is YAML to it, and a raw NEL, LS or PS in a
    string is a line break, folded as YAML folds one (JSON allows them raw; they are rare)."""
    if isinstance(value, str):
        return _RAW_BREAKS.sub(_fold, value) if _RAW_BREAKS.search(value) else value
    if isinstance(value, dict):
        return {_json_string(k): _json_string(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_string(item) for item in value]
    return value


def _json_number(text: str) -> Any:
    tag, value = resolve(text)
    return value if tag in (INT_TAG, FLOAT_TAG) else text


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid character {name[:1]!r} looking for beginning of value")


def decode_documents(data: bytes, where: str) -> list[Any]:
    """Each document of a manifest file as oc holds it before writing (empty and `null` documents dropped).

    Raises GoYamlError (a PayloadError) where oc fails to parse the file.
    """
    documents: list[Any] = []
    if data.lstrip()[:1] == b"{":
        decoder = json.JSONDecoder(parse_float=_json_number, parse_int=_json_number, parse_constant=_no_constant)
        text, index = "", 0
        try:
            text = data.decode()
            while True:
                while index < len(text) and text[index] in " \t\r\n":
                    index += 1
                if index >= len(text):
                    break
                value, index = decoder.raw_decode(text, index)
                documents.append(_through_json(_json_string(value), where, float_text=False))
        except (UnicodeDecodeError, ValueError) as error:
            raise GoYamlError(f"{where}: {error}") from None
    else:
        for chunk in _yaml_chunks(data):
            try:
                loaded = list(yaml.load_all(chunk, Loader=_GoLoader))  # noqa: S506 - a SafeLoader
            except yaml.YAMLError as error:
                raise GoYamlError(f"{where}: {' '.join(str(error).split())}") from None
            except RecursionError:
                raise GoYamlError(f"{where}: nested too deeply") from None
            if loaded:
                documents.append(_through_json(loaded[0], where, float_text=True))
    return [d for d in documents if d is not None]


# -- go-yaml v2's key order ----------------------------------------------------------------------------------
def _wrap64(value: int) -> int:
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def _key_less(a: str, b: str) -> bool:
    """sorter.go keyList.Less for two strings: letters by code point, runs of digits by number."""
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            continue
        letter_a, letter_b = a[i].isalpha(), b[i].isalpha()
        if letter_a and letter_b:
            return a[i] < b[i]
        if letter_a or letter_b:
            return letter_b
        number_a = number_b = 0
        if a[i] == "0" or b[i] == "0":
            j = i - 1
            while j >= 0 and a[j].isdecimal():
                if a[j] != "0":
                    number_a = number_b = 1
                    break
                j -= 1
        end_a = i
        while end_a < len(a) and a[end_a].isdecimal():
            number_a = _wrap64(number_a * 10 + ord(a[end_a]) - 48)
            end_a += 1
        end_b = i
        while end_b < len(b) and b[end_b].isdecimal():
            number_b = _wrap64(number_b * 10 + ord(b[end_b]) - 48)
            end_b += 1
        if number_a != number_b:
            return number_a < number_b
        if end_a != end_b:
            return end_a < end_b
        return a[i] < b[i]
    return len(a) < len(b)


def _compare_keys(a: str, b: str) -> int:
    return -1 if _key_less(a, b) else (1 if _key_less(b, a) else 0)


_KEY_ORDER = cmp_to_key(_compare_keys)


# -- the emitter ---------------------------------------------------------------------------------------------
PLAIN, SINGLE, DOUBLE, LITERAL = "plain", "single", "double", "literal"
BEST_INDENT, BEST_WIDTH = 2, 80
_BREAKS = "\r\n\x85\u2028\u2029"


def _printable(c: str) -> bool:
    code = ord(c)
    return (code == 0x0A or 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF
            or (0xE000 <= code <= 0xFFFD and code != 0xFEFF))


class _Scalar:
    """yaml_emitter_analyze_scalar: which styles may write `value`."""

    def __init__(self, value: str) -> None:
        self.value = value
        if not value:
            self.multiline, self.flow_plain, self.block_plain, self.single_quoted, self.block = \
                False, False, True, True, False
            return
        block_indicators = flow_indicators = line_breaks = special = False
        leading_space = leading_break = trailing_space = trailing_break = break_space = space_break = False
        previous_space = previous_break = False
        if value.startswith(("---", "...")):
            block_indicators = flow_indicators = True
        preceded_by_whitespace = True
        for i, c in enumerate(value):
            followed_by_whitespace = i + 1 >= len(value) or value[i + 1] in " \t"
            if i == 0:
                if c in "#,[]{}&*!|>'\"%@`":
                    flow_indicators = block_indicators = True
                elif c in "?:":
                    flow_indicators = True
                    block_indicators = block_indicators or followed_by_whitespace
                elif c == "-" and followed_by_whitespace:
                    flow_indicators = block_indicators = True
            elif c in ",?[]{}":
                flow_indicators = True
            elif c == ":":
                flow_indicators = True
                block_indicators = block_indicators or followed_by_whitespace
            elif c == "#" and preceded_by_whitespace:
                flow_indicators = block_indicators = True
            if not _printable(c):
                special = True
            if c == " ":
                leading_space = leading_space or i == 0
                trailing_space = trailing_space or i == len(value) - 1
                break_space = break_space or previous_break
                previous_space, previous_break = True, False
            elif c in _BREAKS:
                line_breaks = True
                leading_break = leading_break or i == 0
                trailing_break = trailing_break or i == len(value) - 1
                space_break = space_break or previous_space
                previous_space, previous_break = False, True
            else:
                previous_space = previous_break = False
            preceded_by_whitespace = c in " \t\x00" or c in _BREAKS
        self.multiline = line_breaks
        self.flow_plain = self.block_plain = self.single_quoted = self.block = True
        if leading_space or leading_break or trailing_space or trailing_break:
            self.flow_plain = self.block_plain = False
        if trailing_space:
            self.block = False
        if break_space:
            self.flow_plain = self.block_plain = self.single_quoted = False
        if space_break or special:
            self.flow_plain = self.block_plain = self.single_quoted = self.block = False
        if line_breaks:
            self.flow_plain = self.block_plain = False
        if flow_indicators:
            self.flow_plain = False
        if block_indicators:
            self.block_plain = False


_Event = tuple[str, Any]  # ("scalar", (text, style)), ("map", None), ("endmap", None), ("seq", None), ("endseq", None)


def _events(value: Any, out: list[_Event]) -> None:
    """encode.go's marshal of what go-yaml decoded from JSON: maps with sorted keys, sequences, scalars."""
    if isinstance(value, dict):
        out.append(("map", None))
        for key in sorted(value, key=_KEY_ORDER):
            _events(key, out)
            _events(value[key], out)
        out.append(("endmap", None))
    elif isinstance(value, list):
        out.append(("seq", None))
        for item in value:
            _events(item, out)
        out.append(("endseq", None))
    elif value is None:
        out.append(("scalar", ("null", PLAIN)))
    elif isinstance(value, bool):
        out.append(("scalar", ("true" if value else "false", PLAIN)))
    elif isinstance(value, int):
        out.append(("scalar", (str(value), PLAIN)))
    elif isinstance(value, float):
        out.append(("scalar", (format_float_g(value), PLAIN)))
    elif isinstance(value, str):
        out.append(("scalar", (value, _string_style(value))))
    else:
        raise GoYamlError(f"cannot marshal {type(value).__name__}")


_BASE60_FLOAT = re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?")


def _string_style(text: str) -> str:
    """encode.go stringv: a string that would read back as something else is double-quoted."""
    if "\n" in text:
        return LITERAL
    base60 = bool(text) and text[0] in "+-0123456789" and ":" in text and bool(_BASE60_FLOAT.fullmatch(text))
    return PLAIN if resolve(text)[0] == STR_TAG and not base60 else DOUBLE


class _Emitter:
    """emitterc.go's state machine for the events `_events` produces, writing UTF-8 with `\\n` breaks."""

    def __init__(self, events: list[_Event]) -> None:
        self.events = events
        self.out: list[str] = []
        self.indent, self.indents = -1, []  # type: int, list[int]
        self.column, self.whitespace, self.indention, self.open_ended = 0, True, True, False
        self.flow_level = 0
        self.root = self.sequence = self.mapping = self.simple_key = False
        self.position = 0
        self.scalar: _Scalar | None = None

    # the primitives
    def put(self, text: str) -> None:
        self.out.append(text)
        self.column += len(text)

    def put_break(self) -> None:
        self.out.append("\n")
        self.column = 0

    def write_break(self, c: str) -> None:
        if c == "\n":
            self.put_break()
        else:
            self.out.append(c)
            self.column = 0

    def write_indent(self) -> None:
        indent = max(self.indent, 0)
        if not self.indention or self.column > indent or (self.column == indent and not self.whitespace):
            self.put_break()
        if self.column < indent:
            self.put(" " * (indent - self.column))
        self.whitespace = self.indention = True

    def indicator(self, text: str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) -> None:
        if need_whitespace and not self.whitespace:
            self.put(" ")
        self.put(text)
        self.whitespace = is_whitespace
        self.indention = self.indention and is_indention
        self.open_ended = False

    def increase_indent(self, flow: bool, indentless: bool) -> None:
        self.indents.append(self.indent)
        if self.indent < 0:
            self.indent = BEST_INDENT if flow else 0
        elif not indentless:
            self.indent += BEST_INDENT

    def pop_indent(self) -> None:
        self.indent = self.indents.pop()

    # the document
    def run(self) -> str:
        self.node(root=True, sequence=False, mapping=False, simple_key=False)
        self.write_indent()  # the document end
        return "".join(self.out)

    def peek(self, offset: int = 0) -> _Event:
        return self.events[self.position + offset]

    def take(self) -> _Event:
        event = self.events[self.position]
        self.position += 1
        return event

    def empty_collection(self) -> bool:
        kind = self.peek()[0]
        return self.position + 1 < len(self.events) and self.peek(1)[0] == "end" + kind

    def node(self, root: bool, sequence: bool, mapping: bool, simple_key: bool) -> None:
        self.root, self.sequence, self.mapping, self.simple_key = root, sequence, mapping, simple_key
        kind, data = self.peek()
        if kind == "scalar":
            self.take()
            self.emit_scalar(data[0], data[1])
        elif kind == "seq":
            if self.flow_level > 0 or self.empty_collection():
                self.take()
                self.flow_sequence()
            else:
                self.take()
                self.block_sequence()
        else:
            if self.flow_level > 0 or self.empty_collection():
                self.take()
                self.flow_mapping()
            else:
                self.take()
                self.block_mapping()

    def simple_key_ok(self) -> bool:
        kind, data = self.peek()
        if kind == "scalar":
            scalar = _Scalar(data[0])
            return not scalar.multiline and len(data[0].encode()) <= 128
        return kind in ("seq", "map") and self.empty_collection()

    def flow_sequence(self) -> None:
        self.indicator("[", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        first = True
        while self.peek()[0] != "endseq":
            if not first:
                self.indicator(",", False, False, False)
            if self.column > BEST_WIDTH:
                self.write_indent()
            self.node(False, True, False, False)
            first = False
        self.take()
        self.flow_level -= 1
        self.pop_indent()
        self.indicator("]", False, False, False)

    def flow_mapping(self) -> None:
        self.indicator("{", True, True, False)
        self.increase_indent(True, False)
        self.flow_level += 1
        first = True
        while self.peek()[0] != "endmap":
            if not first:
                self.indicator(",", False, False, False)
            if self.column > BEST_WIDTH:
                self.write_indent()
            if self.simple_key_ok():
                self.node(False, False, True, True)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, False)
                self.node(False, False, True, False)
                if self.column > BEST_WIDTH:
                    self.write_indent()
                self.indicator(":", True, False, False)
            self.node(False, False, True, False)
            first = False
        self.take()
        self.flow_level -= 1
        self.pop_indent()
        self.indicator("}", False, False, False)

    def block_sequence(self) -> None:
        self.increase_indent(False, self.mapping and not self.indention)
        while self.peek()[0] != "endseq":
            self.write_indent()
            self.indicator("-", True, False, True)
            self.node(False, True, False, False)
        self.take()
        self.pop_indent()

    def block_mapping(self) -> None:
        self.increase_indent(False, False)
        while self.peek()[0] != "endmap":
            self.write_indent()
            if self.simple_key_ok():
                self.node(False, False, True, True)
                self.indicator(":", False, False, False)
            else:
                self.indicator("?", True, False, True)
                self.node(False, False, True, False)
                self.write_indent()
                self.indicator(":", True, False, True)
            self.node(False, False, True, False)
        self.take()
        self.pop_indent()

    # scalars
    def emit_scalar(self, value: str, requested: str) -> None:
        scalar = _Scalar(value)
        style = requested
        if self.simple_key and scalar.multiline:
            style = DOUBLE
        if style == PLAIN:
            if (self.flow_level > 0 and not scalar.flow_plain) or (self.flow_level == 0 and not scalar.block_plain):
                style = SINGLE
            if not value and (self.flow_level > 0 or self.simple_key):
                style = SINGLE
        if style == SINGLE and not scalar.single_quoted:
            style = DOUBLE
        if style == LITERAL and (not scalar.block or self.flow_level > 0 or self.simple_key):
            style = DOUBLE
        self.increase_indent(True, False)
        allow_breaks = not self.simple_key
        if style == PLAIN:
            self.plain(value, allow_breaks)
        elif style == SINGLE:
            self.single_quoted(value, allow_breaks)
        elif style == DOUBLE:
            self.double_quoted(value, allow_breaks)
        else:
            self.literal(value)
        self.pop_indent()

    def plain(self, value: str, allow_breaks: bool) -> None:
        if not self.whitespace:
            self.put(" ")
        spaces = breaks = False
        i = 0
        while i < len(value):
            c = value[i]
            if c == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and value[i + 1:i + 2] != " ":
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            elif c in _BREAKS:
                if not breaks and c == "\n":
                    self.put_break()
                self.write_break(c)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(c)
                self.indention = spaces = breaks = False
            i += 1
        self.whitespace = self.indention = False
        if self.root:
            self.open_ended = True

    def single_quoted(self, value: str, allow_breaks: bool) -> None:
        self.indicator("'", True, False, False)
        spaces = breaks = False
        for i, c in enumerate(value):
            if c == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and 0 < i < len(value) - 1 \
                        and value[i + 1] != " ":
                    self.write_indent()
                else:
                    self.put(c)
                spaces = True
            elif c in _BREAKS:
                if not breaks and c == "\n":
                    self.put_break()
                self.write_break(c)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                if c == "'":
                    self.put("'")
                self.put(c)
                self.indention = spaces = breaks = False
        self.indicator("'", False, False, False)
        self.whitespace = self.indention = False

    _ESCAPES = {0x00: "0", 0x07: "a", 0x08: "b", 0x09: "t", 0x0A: "n", 0x0B: "v", 0x0C: "f", 0x0D: "r",
                0x1B: "e", 0x22: '"', 0x5C: "\\", 0x85: "N", 0xA0: "_", 0x2028: "L", 0x2029: "P"}

    def double_quoted(self, value: str, allow_breaks: bool) -> None:
        self.indicator('"', True, False, False)
        spaces = False
        starts_with_bom = value.startswith("\ufeff")  # is_bom looks at the start of the value, at every index
        for i, c in enumerate(value):
            code = ord(c)
            if not _printable(c) or starts_with_bom or c in _BREAKS or c in '"\\':
                escape = self._ESCAPES.get(code)
                if escape is None:
                    escape = f"x{code:02X}" if code <= 0xFF else (f"u{code:04X}" if code <= 0xFFFF else f"U{code:08X}")
                self.put("\\" + escape)
                spaces = False
            elif c == " ":
                if allow_breaks and not spaces and self.column > BEST_WIDTH and 0 < i < len(value) - 1:
                    self.write_indent()
                    if value[i + 1] == " ":
                        self.put("\\")
                else:
                    self.put(c)
                spaces = True
            else:
                self.put(c)
                spaces = False
        self.indicator('"', False, False, False)
        self.whitespace = self.indention = False

    def literal(self, value: str) -> None:
        self.indicator("|", True, False, False)
        if value[0] == " " or value[0] in _BREAKS:
            self.indicator(str(BEST_INDENT), False, False, False)
        self.open_ended = False
        chomp = ""
        if not value or value[-1] not in _BREAKS:
            chomp = "-"
        elif len(value) == 1 or value[-2] in _BREAKS:
            chomp, self.open_ended = "+", True
        if chomp:
            self.indicator(chomp, False, False, False)
        self.put_break()
        self.indention = self.whitespace = True
        breaks = True
        for c in value:
            if c in _BREAKS:
                self.write_break(c)
                self.indention = breaks = True
            else:
                if breaks:
                    self.write_indent()
                self.put(c)
                self.indention = breaks = False


def marshal(value: Any) -> str:
    """go-yaml v2's Marshal of a value decoded from JSON (what sigs.k8s.io/yaml.JSONToYAML returns)."""
    events: list[_Event] = []
    _events(value, events)
    return _Emitter(events).run()


def reencode(data: bytes, where: str) -> bytes:
    """A manifest file as `oc adm release extract --to` writes it: `---` and go-yaml v2 YAML per document."""
    return b"".join(b"---\n" + marshal(document).encode() for document in decode_documents(data, where))
