"""Counted nouns in messages: "1 deployment", "3 deployments" — never "deployment(s)"."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun in the number it needs (`nouns` where adding an s is wrong)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
