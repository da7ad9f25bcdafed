"""The one rule for names and versions that become folder names on a device.

Application names, module names and the versions of both end up as folders under the agent's
``modules/`` (``modules/<module>/<version>``), so the workstation checks them when a fleet file
is imported and the agent checks them again when a deployment arrives — with this same rule.

A name is ASCII only: a letter or digit, then letters, digits, ``.``, ``_``, ``+`` or ``-``, at
most 128 characters in all, matched against the whole text (no trailing newline slips through).
``current`` in any letter case is reserved: it is the agent's link to the active version.
"""

from __future__ import annotations

import re

MAX_LENGTH = 128
# re.ASCII: \w and friends are not used, but the flag documents (and enforces) the intent
_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}", re.ASCII)
# the agent's link to the active version of a module, next to the version folders
ACTIVE_LINK = "current"
RESERVED = frozenset({ACTIVE_LINK})
ALLOWED = "letters, digits, '.', '_', '+' or '-', starting with a letter or digit"


def name_problem(text: object) -> str | None:
    """Why `text` cannot be a name or version on a device, or None when it can."""
    if not isinstance(text, str) or not text:
        return "must be non-empty text"
    if len(text) > MAX_LENGTH:
        return f"is {len(text):,} characters long; at most {MAX_LENGTH} are allowed"
    if not text.isascii():
        foreign = next(c for c in text if not c.isascii())
        return f"contains {foreign!r}; only ASCII {ALLOWED} are allowed"
    if _SAFE.fullmatch(text) is None:
        bad = next((c for c in text if not (c.isalnum() or c in "._+-")), None)
        if bad is not None:
            return f"contains {bad!r}; only {ALLOWED} are allowed"
        return f"must start with a letter or digit ({ALLOWED})"
    if text.lower() in RESERVED:
        return f"'{text}' is reserved: the device uses '{ACTIVE_LINK}' for the active version"
    return None


def is_safe_name(text: object) -> bool:
    return name_problem(text) is None
