"""Reading YAML fleet files: fast, strict, with line numbers.

libyaml's parser is used where PyYAML has it (``yaml.__with_libyaml__``), the pure-Python one
otherwise. PyYAML's own composer and constructor make a node object (with two marks) for every
scalar and resolve each plain scalar with regular expressions, which for 100k devices costs more
than the parsing: `load_yaml` builds the document straight from the parser's events instead,
resolving each distinct plain scalar once (values repeat: versions, sites, label values) and
sharing equal strings. Documents that use what it leaves out (explicit tags, merge keys ``<<``,
a mapping or list as a key) are read by PyYAML's node-based constructor, with the same checks.
Either way a key written twice in one mapping is refused (PyYAML would keep the last), merge
keys work, nesting past `MAX_DEPTH` is refused before Python's recursion limit, and errors
name their line.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, ScalarNode

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


def shown(key: Any) -> str:
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
            raise _twice(key, key_node.start_mark)
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


def load_yaml(text: str) -> tuple[Any, bool]:
    """The single document in `text`, and whether it may hold what `fleetparse.screen` looks
    for (False: no odd number, no nesting past `MAX_DEPTH`). Raises `yaml.YAMLError` (with a
    mark) when it is not valid YAML, has a key twice in one mapping or nests too deep."""
    loader = LOADER(text)
    try:
        return _build(loader)
    except _Fallback:
        pass
    finally:
        loader.dispose()
    loader = LOADER(text)
    try:
        return loader.get_single_data(), True
    finally:
        loader.dispose()


class _Fallback(Exception):
    """The document uses what `_build` leaves to PyYAML's node-based constructor."""


_NO_KEY: Any = object()  # a mapping waiting for its next key (not for a value)
_MISSING: Any = object()


def _too_deep(mark: Any) -> yaml.YAMLError:
    return yaml.composer.ComposerError(None, None, NESTED, mark)


def _build(loader: Any) -> tuple[Any, bool]:
    """The single document from `loader`'s events, built without nodes, and whether it holds
    an odd number; raises `_Fallback` for explicit tags, merge keys and keys that are mappings
    or lists. A container is put into its parent when it ends (its key, or its place in a
    list, is already fixed then)."""
    get = loader.get_event
    get()  # the stream start
    if loader.check_event(StreamEndEvent):
        get()
        return None, False
    get()  # the document start
    anchors: dict[str, Any] = {}
    plain: dict[str, Any] = {}  # plain scalar text -> its value, resolved once
    strings: dict[str, str] = {}  # one object for each distinct quoted text
    # the container being filled, whether it is a list, and (a mapping) the key waiting for
    # its value or _NO_KEY; those of the containers around it are on the stack
    parent: Any = None
    is_list = False
    key: Any = _NO_KEY
    stack: list[tuple[Any, bool, Any]] = []
    root: Any = None
    odd = False
    while True:
        event = get()
        kind = event.__class__
        if kind is ScalarEvent:
            if event.tag is not None and event.tag != "!":
                raise _Fallback
            text = event.value
            if event.implicit[0]:
                value = plain.get(text, _MISSING)
                if value is _MISSING:
                    value = plain[text] = _resolve_plain(loader, event)
                    odd = odd or _is_odd(value)
            else:
                value = strings.setdefault(text, text)
            if event.anchor is not None:
                _remember(anchors, event, value)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if event.tag is not None and event.tag != "!":
                raise _Fallback
            if not is_list and key is _NO_KEY and parent is not None:
                raise _Fallback  # a mapping or list as a key
            if len(stack) >= MAX_DEPTH:
                raise _too_deep(event.start_mark)
            stack.append((parent, is_list, key))
            is_list = kind is SequenceStartEvent
            parent = [] if is_list else {}
            key = _NO_KEY
            if event.anchor is not None:
                _remember(anchors, event, parent)
            continue
        elif kind is AliasEvent:
            value = anchors.get(event.anchor, _MISSING)
            if value is _MISSING:
                raise yaml.composer.ComposerError(
                    None, None, f"found undefined alias {event.anchor!r}", event.start_mark
                )
        elif kind is DocumentEndEvent:
            break
        else:  # the end of the container being filled
            value = parent
            parent, is_list, key = stack.pop()
        if is_list:
            parent.append(value)
        elif key is not _NO_KEY:
            parent[key] = value
            key = _NO_KEY
        elif parent is None:
            root = value
        else:
            if value.__class__ is dict or value.__class__ is list:
                raise _Fallback  # an alias of a mapping or list as a key
            if value in parent:
                raise _twice(value, event.start_mark)
            key = value
    if not loader.check_event(StreamEndEvent):
        raise yaml.composer.ComposerError(
            "expected a single document in the stream",
            None,
            "but found another document",
            loader.get_event().start_mark,
        )
    return root, odd


def _remember(anchors: dict[str, Any], event: Any, value: Any) -> None:
    if event.anchor in anchors:
        raise yaml.composer.ComposerError(
            None, None, f"found duplicate anchor {event.anchor!r}", event.start_mark
        )
    anchors[event.anchor] = value


def _resolve_plain(loader: Any, event: Any) -> Any:
    """The value of a plain (unquoted) scalar, by PyYAML's own rules: text, or a number,
    true/false, null, a date... as its resolver and constructor say."""
    tag = loader.resolve(ScalarNode, event.value, (True, False))
    if tag == _STR_TAG:
        return event.value
    if tag == _MERGE_TAG:
        raise _Fallback
    node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    return loader.construct_object(node, deep=True)


def _is_odd(value: Any) -> bool:
    """Whether `value` is a number `fleetparse.screen` refuses (not finite, or too long)."""
    kind = value.__class__
    if kind is float:
        return not math.isfinite(value)
    if kind is int:
        return bool(value.bit_length() > 3.33 * MAX_DIGITS)
    return kind is TooLong


def _twice(key: Any, mark: Any) -> yaml.constructor.ConstructorError:
    """A key written twice in one mapping, with the line of the second."""
    return yaml.constructor.ConstructorError(
        None, None, f"'{shown(key)}' appears twice in one mapping (line {mark.line + 1})", mark
    )
