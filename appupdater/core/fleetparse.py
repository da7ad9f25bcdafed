"""Reading a fleet file's text into plain data (YAML or JSON), before its fields are checked.

YAML is read by `fleetyaml`; JSON by the json module with repeated keys refused. Errors name
their line. `screen` then walks the document once and refuses, at its place,
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

from appupdater.core.fleetchecks import REFUSED, Problems
from appupdater.core.fleetyaml import MAX_DEPTH, MAX_DIGITS, NESTED, TooLong, load_yaml, shown
from appupdater.errors import FleetFileError


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"'{shown(key)}' appears twice in one object")
        result[key] = value
    return result


def _json_int(text: str) -> int | TooLong:
    digits = len(text) - text.startswith("-")
    return TooLong(digits) if digits > MAX_DIGITS else int(text)


def parse_text(text: str, kind: str, file: str) -> tuple[Any, bool]:
    """The document in `text` (``"yaml"`` or ``"json"``), and whether it needs `screen`
    (False only when the YAML reader saw nothing for it); raises `FleetFileError` when it
    cannot be parsed, naming the line."""
    try:
        if kind == "json":
            return json.loads(text, object_pairs_hook=_json_pairs, parse_int=_json_int), True
        return load_yaml(text)
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
        name = shown(key) if not isinstance(key, int) or isinstance(key, bool) else f"[{key}]"
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
