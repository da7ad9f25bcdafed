"""*File → Import fleet file…* and *File → Export…* of the main window: the file dialogs, and
the work in the background with its result in the status bar."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from appupdater.core.fleetimport import ImportSummary, export_file, import_file

if TYPE_CHECKING:
    from appupdater.ui.main_window import MainWindow

FLEET_SUFFIXES = (".yaml", ".yml", ".json")
EXPORT_FILTERS = "YAML (*.yaml *.yml);;JSON (*.json)"


def with_filter_suffix(path: str, chosen_filter: str) -> str:
    """`path` with the extension of the chosen filter when it has none of a fleet file's (a
    name typed without one is written in the format the dialog shows)."""
    if Path(path).suffix.lower() in FLEET_SUFFIXES:
        return path
    found = re.search(r"\*(\.\w+)", chosen_filter)
    return path + (found.group(1) if found else ".yaml")


class FleetFiles:
    def __init__(self, window: MainWindow):
        self.window = window

    def import_fleet(self) -> None:
        window = self.window
        path, _ = QFileDialog.getOpenFileName(
            window, "Import fleet file", str(Path.home()), "Fleet files (*.yaml *.yml *.json)"
        )
        if not path:
            return
        window.busy.run(
            f"Importing {Path(path).name}…",
            lambda: import_file(path),
            lambda summary: self._imported(path, summary),
            "Import fleet file",
        )

    def _imported(self, path: str, summary: ImportSummary) -> None:
        self.window.statusBar().showMessage(f"{Path(path).name}: {summary.describe()}", 15_000)
        self.window.refresh()

    def export_fleet(self) -> None:
        window = self.window
        path, chosen = QFileDialog.getSaveFileName(
            window, "Export fleet file", str(Path.home() / "fleet.yaml"), EXPORT_FILTERS
        )
        if not path:
            return
        path = with_filter_suffix(path, chosen)
        window.busy.run(
            f"Exporting to {Path(path).name}…",
            lambda: export_file(path),
            lambda count: window.statusBar().showMessage(
                f"Exported {count} devices to {path}", 10_000
            ),
            "Export",
        )
