"""What the main window tells when an import or an export fails, driven through its toolbar:
every mistake of a fleet file on a line of its own, and an export to a missing folder in one
sentence; and what an import that changed a device's connection says. Each box is saved to the
shots folder as it appears."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from tests.helpers import dump_tables
from tests.ui.conftest import shots_folder
from tests.ui.drive import click_action

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fleet.yaml"
SHOTS = shots_folder("fleetio")
SIZES = [(1280, 800), (1024, 700)]


class Box:
    """Waits for the next message box, keeps its text and a picture of it, then clicks OK."""

    def __init__(self, qtbot, shot: str):
        self.qtbot = qtbot
        self.shot = shot
        self.text: str | None = None
        QTimer.singleShot(0, self._look)

    def _look(self) -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(25, self._look)
            return
        self.text = "\n".join(filter(None, (box.text(), box.informativeText())))
        box.grab().save(str(SHOTS / f"{self.shot}.png"))
        self.qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_an_import_with_three_mistakes_lists_all_three(
    qtbot, main_window, monkeypatch, tmp_path, size
):
    main_window.resize(*size)
    doc = yaml.safe_load(FIXTURE.read_text())
    bad = copy.deepcopy(doc)
    bad["devices"][0]["applications"]["line-monitor"]["configured"] = "9.9.9"
    bad["applications"][0]["versions"][1]["version"] = "2.0.x"
    bad["devices"][1]["name"] = "press-07"
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(bad, sort_keys=False))
    before = dump_tables()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    box = Box(qtbot, f"import-three-mistakes-{size[0]}x{size[1]}")
    click_action(qtbot, main_window, main_window.import_action)
    qtbot.waitUntil(lambda: box.text is not None)
    lines = box.text.splitlines()
    assert lines[:3] == [
        "Import fleet file failed.",
        "",
        f"{path}: 3 problems; nothing was imported",
    ]
    assert [line.split(": ")[:2] for line in lines[3:]] == [
        ["three.yaml", "applications[0].versions[1].version"],
        ["three.yaml", "devices[0].applications.line-monitor.configured"],
        ["three.yaml", "devices[1].name"],
    ]
    assert "unknown version '9.9.9'" in lines[4]
    assert dump_tables() == before


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_an_export_to_a_missing_folder_says_so(qtbot, main_window, monkeypatch, tmp_path, size):
    main_window.resize(*size)
    target = tmp_path / "gone" / "fleet.yaml"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    box = Box(qtbot, f"export-missing-folder-{size[0]}x{size[1]}")
    click_action(qtbot, main_window, main_window.export_action)
    qtbot.waitUntil(lambda: box.text is not None)
    assert box.text == (
        f"Export failed.\n\ncannot write fleet.yaml: the folder {tmp_path / 'gone'} does not exist"
    )
    assert not (tmp_path / "gone").exists() and not list(tmp_path.glob("**/*.tmp"))


def test_an_import_that_changes_a_connection_says_so_in_the_status_bar(
    qtbot, main_window, monkeypatch, tmp_path
):
    from appupdater.store.models import Device

    main_window.resize(1024, 700)
    bar = main_window.statusBar()
    steps = [
        ("given", "https://10.0.9.1:8443", "endpoint changed on 1 device"),
        ("cleared", None, "endpoint cleared on 1 device (simulated from now on)"),
    ]
    for name, endpoint, expected in steps:
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"devices": [{"name": "lab-rig-01", "endpoint": endpoint}]}))
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, p=path, **k: (str(p), ""))
        click_action(qtbot, main_window, main_window.import_action)
        qtbot.waitUntil(lambda p=path: bar.currentMessage().startswith(f"{p.name}: "))
        assert bar.currentMessage().startswith(f"{path.name}: {expected}, ")  # said first
        assert Device.get(Device.name == "lab-rig-01").endpoint == endpoint
        qtbot.waitUntil(lambda: not main_window.busy.bar.isVisible())  # the fleet reloaded
        main_window.grab().save(str(SHOTS / f"import-{name}-status.png"))
