"""What the main window keeps between runs: its size and place, toolbars, the splitter and the
devices table's columns (in the user's settings)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

if TYPE_CHECKING:
    from appupdater.ui.main_window import MainWindow


def restore_main_state(window: MainWindow) -> bool:
    """Restore what was saved; True when the devices table's columns were restored."""
    settings = QSettings()
    geometry = settings.value("main/geometry")
    if isinstance(geometry, QByteArray):
        window.restoreGeometry(geometry)
    else:
        window.resize(1280, 800)
    restored = {}
    for key, restore in (
        ("main/state", window.restoreState),
        ("main/splitter", window.splitter.restoreState),
        ("main/devices-header", window.devices_view.horizontalHeader().restoreState),
    ):
        value = settings.value(key)
        restored[key] = isinstance(value, QByteArray) and restore(value)
    return bool(restored["main/devices-header"])


def save_main_state(window: MainWindow) -> None:
    settings = QSettings()
    settings.setValue("main/geometry", window.saveGeometry())
    settings.setValue("main/state", window.saveState())
    settings.setValue("main/splitter", window.splitter.saveState())
    settings.setValue("main/devices-header", window.devices_view.horizontalHeader().saveState())
