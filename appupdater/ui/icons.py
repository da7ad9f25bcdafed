"""Icons from resources/icons (SVG, so they stay sharp at any scale)."""

from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from appupdater.desktop import resources_dir


@cache
def icon(name: str) -> QIcon:
    """The icon `resources/icons/NAME.svg`; a missing file is a bug, so it raises."""
    path = resources_dir() / "icons" / f"{name}.svg"
    if not path.is_file():
        raise FileNotFoundError(f"icon {name!r} not found at {path}")
    return QIcon(str(path))
