"""Icons from resources/icons (SVG, so they stay sharp at any scale)."""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

import appupdater


def resources_dir() -> Path:
    """`APPUPDATER_RESOURCES`, else resources/ beside the package (checkout) or inside it."""
    override = os.environ.get("APPUPDATER_RESOURCES")
    if override:
        return Path(override)
    package = Path(appupdater.__file__).resolve().parent
    for candidate in (package.parent / "resources", package / "resources"):
        if candidate.is_dir():
            return candidate
    return package.parent / "resources"


@cache
def icon(name: str) -> QIcon:
    """The icon `resources/icons/NAME.svg`; a missing file is a bug, so it raises."""
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"icon {name!r} not found at {path}")
    return QIcon(str(path))
