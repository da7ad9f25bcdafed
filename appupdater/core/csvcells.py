"""CSV cells a spreadsheet opens as text, never as a formula.

An audit note, a device's name or an agent's message is text someone else chose; a cell that
starts with `=`, `+`, `-`, `@` (or a tab or carriage return) is run as a formula by Excel,
LibreOffice and Google Sheets when the export is opened — `=HYPERLINK(...)` or worse. Such a cell
is written with a leading `'`, which spreadsheets take as "this is text" (OWASP's advice for
CSV injection); programs reading the file see the quote and can strip it."""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(row: Iterable[object]) -> list[object]:
    return [cell(value) for value in row]
