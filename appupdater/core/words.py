"""Counts in words, for messages people read: "1 deployment", "3 deployments", never "(s)"."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries", "is": "are", "was": "were", "has": "have"}


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`count` and `noun`, the noun in the plural unless count is 1: ``plural(3, "device")``
    is "3 devices"; `many` gives an irregular plural."""
    if count == 1:
        return f"1 {noun}"
    return f"{count:,} {many or _IRREGULAR.get(noun) or noun + 's'}"


def noun(count: int, singular: str, many: str | None = None) -> str:
    """The noun alone, in the number `count` asks for: ``noun(1, "was")`` is "was"."""
    if count == 1:
        return singular
    return many or _IRREGULAR.get(singular) or singular + "s"
