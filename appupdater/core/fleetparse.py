"""Reading a fleet file's text into plain data (YAML or JSON), before its fields are checked.

YAML is read with libyaml's parser where PyYAML has it (``yaml.__with_libyaml__``), many times
faster and leaner than the pure-Python one, else with the pure one. Either way a key written
twice in one mapping is refused (PyYAML would keep the last), merge keys (``<<: *anchor``) work,
and errors name their line. `screen` then walks the document once and refuses, at its place,
what a fleet file cannot hold anywhere: numbers that are not finite (NaN, infinity), integers of
more than `MAX_DIGITS` digits (Python's ``int()`` gives up past 4300) and nesting deeper than
`MAX_DEPTH` levels (a real fleet file is 6 deep; Python's recursion limit is 1000).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode

from appupdater.core.fleetchecks import REFUSED, Problems
from appupdater.errors import FleetFileError

MAX_DEPTH = 100
MAX_DIGITS = 100
NESTED = f"is nested more than {MAX_DEPTH} levels deep"

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_INT_TAG = "tag:yaml.org,2002:int"


class TooLong:
    """An integer written with more than `MAX_DIGITS` digits, kept as its digit count only."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"a number with {self.digits:,} digits"


def _shown(key: Any) -> str:
    """A mapping key for a message, on one line and short, whatever it is."""
    if isinstance(key, str):
        text = key if len(key) <= 40 else key[:40] + "…"
        return text if text.isprintable() else repr(text)[1:-1]
    if isinstance(key, int) and key.bit_length() > 3 * MAX_DIGITS:
        return "a very long number"
    return repr(key)


def _refuse_repeated_keys(loader: Any, node: MappingNode) -> None:
    """Raise at the second of two equal keys among a mapping's own (not merged) keys."""
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:
            continue
        if isinstance(key_node, ScalarNode) and key_node.tag == _STR_TAG:
            key: Any = key_node.value  # the common case, without constructing anything
        else:
            key = loader.construct_object(key_node, deep=True)
        try:
            repeated = key in seen
        except TypeError:  # unhashable: PyYAML says so itself
            continue
        if repeated:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"'{_shown(key)}' appears twice in one mapping (line {line})",
                key_node.start_mark,
            )
        seen.add(key)


class _FleetReading:
    """What the fleet-file loaders add to PyYAML's safe loader (C or pure): repeated keys
    refused while merge keys keep working."""

    def flatten_mapping(self, node: MappingNode) -> None:
        # merging rewrites node.value (merged keys first, then the node's own), so the node's
        # own keys are checked the first time it is flattened, which is before any rewrite
        checked: set[int] = self.__dict__.setdefault("_checked", set())
        if id(node) not in checked:
            checked.add(id(node))
            _refuse_repeated_keys(self, node)
        super().flatten_mapping(node)  # type: ignore[misc]


def _construct_int(loader: Any, node: ScalarNode) -> int | TooLong:
    """An integer, or `TooLong` for one written with more than `MAX_DIGITS` digits."""
    if len(node.value) > MAX_DIGITS:
        digits = sum(c.isalnum() for c in node.value.partition("x")[2] or node.value)
        if digits > MAX_DIGITS:
            return TooLong(digits)
    return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)


class PureLoader(_FleetReading, yaml.SafeLoader):
    """The pure-Python fleet-file loader."""


PureLoader.add_constructor(_INT_TAG, _construct_int)

if getattr(yaml, "__with_libyaml__", False):

    class CLoader(_FleetReading, yaml.CSafeLoader):
        """The libyaml fleet-file loader: nodes come from C, with their start marks."""

    CLoader.add_constructor(_INT_TAG, _construct_int)
    LOADER: type[Any] = CLoader
else:  # pragma: no cover - PyYAML built without libyaml
    LOADER = PureLoader


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"'{_shown(key)}' appears twice in one object")
        result[key] = value
    return result


def _json_int(text: str) -> int | TooLong:
    digits = len(text) - text.startswith("-")
    return TooLong(digits) if digits > MAX_DIGITS else int(text)


def parse_text(text: str, kind: str, file: str) -> Any:
    """The document in `text` (``"yaml"`` or ``"json"``); raises `FleetFileError` when it
    cannot be parsed, naming the line."""
    try:
        if kind == "json":
            return json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int)
        return _load_yaml(text)
    except json.JSONDecodeError as exc:
        raise FleetFileError(file, [(f"line {exc.lineno} column {exc.colno}", exc.msg)]) from exc
    except ValueError as exc:
        raise FleetFileError(file, [("", str(exc))]) from exc
    except RecursionError as exc:
        place = _json_too_deep(text) if kind == "json" else ""
        raise FleetFileError(file, [(place, NESTED)]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        place = f"line {mark.line + 1} column {mark.column + 1}" if mark else ""
        what = getattr(exc, "problem", None) or str(exc)
        if "nesting depth" in what:  # libyaml stops at 1000 levels
            raise FleetFileError(file, [(place, NESTED)]) from exc
        raise FleetFileError(file, [(place, f"not valid YAML: {what}")]) from exc


def _load_yaml(text: str) -> Any:
    loader = LOADER(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _json_too_deep(text: str) -> str:
    """The line and column where JSON `text` goes deeper than `MAX_DEPTH`, or ""."""
    depth = 0
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = match.start()
                line = text.count("\n", 0, at) + 1
                return f"line {line} column {at - text.rfind(chr(10), 0, at)}"
        elif token in "]}":
            depth -= 1
    return ""


# ---- what a fleet file cannot hold anywhere --------------------------------------------------


def _odd_number(value: Any) -> str | None:
    """What `value` is when it is a number a fleet file cannot hold ("NaN"), else None."""
    kind = type(value)
    if kind is float:
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "infinity" if value > 0 else "minus infinity"
    elif kind is int:
        if value.bit_length() > 3.33 * MAX_DIGITS:
            return f"a number with about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    elif kind is TooLong:
        return repr(value)
    return None


def _value_problem(noun: str) -> str:
    if noun.startswith("a number"):
        return f"is {noun}; at most {MAX_DIGITS} are allowed (write it in quotes if it is text)"
    return f"must be a finite number, not {noun}"


_Path = tuple[Any, ...] | None  # (parent path, key): built into a place only for a problem


def _place(path: _Path) -> str:
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    place = ""
    for count, key in enumerate(reversed(keys)):
        if count == 8:
            return place + "…"
        name = _shown(key) if not isinstance(key, int) or isinstance(key, bool) else f"[{key}]"
        place = place + name if name.startswith("[") else (f"{place}.{name}" if place else name)
    return place


def screen(p: Problems, data: Any) -> Any:
    """Report in `p`, each at its place, the numbers a fleet file cannot hold and nesting
    deeper than `MAX_DEPTH`; they are replaced by `REFUSED` (a key: its entry dropped), so
    the field checks do not report them a second time. Each container is visited once, so
    aliases that share one (a "billion laughs") cost nothing more."""
    noun = _odd_number(data)
    if noun is not None:
        p.add("", _value_problem(noun))
        return REFUSED
    if type(data) is not dict and type(data) is not list:
        return data
    seen = {id(data)}
    stack: list[tuple[Any, _Path, int]] = [(data, None, 1)]
    while stack:
        node, path, depth = stack.pop()
        refused: list[Any] = []
        dropped: list[Any] = []
        is_dict = type(node) is dict
        for key, value in node.items() if is_dict else enumerate(node):
            if is_dict and type(key) is not str:
                noun = _odd_number(key)
                if noun is not None:
                    p.add(_place(path), f"has a name that is {noun}")
                    dropped.append(key)
                    continue
            kind = type(value)
            if kind is dict or kind is list:
                if id(value) in seen:
                    continue
                seen.add(id(value))
                if depth >= MAX_DEPTH:
                    p.add(_place((path, key)), NESTED)
                    refused.append(key)
                else:
                    stack.append((value, (path, key), depth + 1))
            elif kind is not str and kind is not bool and value is not None:
                noun = _odd_number(value)
                if noun is not None:
                    p.add(_place((path, key)), _value_problem(noun))
                    refused.append(key)
        for key in refused:
            node[key] = REFUSED
        for key in dropped:
            del node[key]
    return data
