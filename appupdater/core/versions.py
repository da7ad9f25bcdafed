"""Application version order: SemVer 2.0.0 precedence, extended as DESIGN.md says.

An optional leading ``v``; one to four numeric components (missing ones count as 0); a
pre-release after ``-`` sorts before the release; build metadata after ``+`` is ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from appupdater.errors import VersionError
from appupdater.names import MAX_LENGTH

_IDENT = r"[0-9A-Za-z-]+"
# matched against the whole text (fullmatch: no trailing newline) with ASCII digits only
# ([0-9], not \d, which takes '١' and '１' too)
_PATTERN = re.compile(
    rf"v?(?P<core>[0-9]+(?:\.[0-9]+){{0,3}})"
    rf"(?:-(?P<pre>{_IDENT}(?:\.{_IDENT})*))?"
    rf"(?:\+(?P<build>{_IDENT}(?:\.{_IDENT})*))?",
    re.ASCII,
)

# A pre-release identifier sorts as (0, number) when numeric and (1, text) otherwise, so numeric
# identifiers come first and a shorter list of equal prefix sorts first, exactly as SemVer says.
PreKey = tuple[tuple[int, int | str], ...]
# (the four numbers, 1 for a release and 0 for a pre-release, the pre-release identifiers)
VersionKey = tuple[tuple[int, int, int, int], int, PreKey]


@dataclass(frozen=True, slots=True)
class Version:
    """A parsed version; equality and order are by precedence, `text` keeps the original."""

    text: str = field(compare=False)
    key: VersionKey = field(repr=False)

    def __lt__(self, other: Version) -> bool:
        return self.key < other.key

    def __le__(self, other: Version) -> bool:
        return self.key <= other.key

    def __gt__(self, other: Version) -> bool:
        return self.key > other.key

    def __ge__(self, other: Version) -> bool:
        return self.key >= other.key

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def parse_version(text: str) -> Version:
    """Parse `text`, raising `VersionError` that says why it is not a version."""
    if not isinstance(text, str):
        raise VersionError(f"version must be text, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:  # a folder name on a device; and int() refuses 4300+ digits
        raise VersionError(
            f"'{text[:20]}…' is not a version: it is {len(text):,} characters long; "
            f"at most {MAX_LENGTH} are allowed"
        )
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise VersionError(
            f"{_quoted(text)} is not a version (expected e.g. 1.2.3, v2.0 or 2.0.0-rc.1)"
        )
    numbers = [int(part) for part in match["core"].split(".")]
    numbers += [0] * (4 - len(numbers))
    core = (numbers[0], numbers[1], numbers[2], numbers[3])
    pre = match["pre"]
    if pre is None:
        return Version(text, (core, 1, ()))
    pre_key: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        if ident.isdigit():
            if len(ident) > 1 and ident.startswith("0"):
                raise VersionError(
                    f"'{text}' is not a version: pre-release number '{ident}' has a leading zero"
                )
            pre_key.append((0, int(ident)))
        else:
            pre_key.append((1, ident))
    return Version(text, (core, 0, tuple(pre_key)))


def _quoted(text: str) -> str:
    """`text` in quotes, on one line: a newline or other control character is shown escaped."""
    return f"'{text}'" if text.isprintable() else repr(text)


def order_key(text: str) -> tuple[int, VersionKey] | tuple[int, str]:
    """A sort key for stored version texts: by precedence, and after them, by text, any that
    the rules refuse (stored before they were as strict), so listing them never fails."""
    try:
        return (0, parse_version(text).key)
    except VersionError:
        return (1, text)
