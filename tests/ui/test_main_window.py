"""The main window: what it lists, search and sort, import and export, state kept between runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox

from appupdater.errors import DatabaseBusyError
from appupdater.store.models import AppVersion, Device, DeviceApp
from appupdater.ui import fleet_follower
from appupdater.ui.main_window import MainWindow
from tests.helpers import dump_tables
from tests.ui.drive import click_action, click_row

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "fleet.yaml"


@pytest.fixture
def window(main_window):
    return main_window


def make_window(qtbot, engine):
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.inventory is not None)
    return window


def column_values(view, column):
    model = view.model()
    return [model.index(row, column).data() for row in range(model.rowCount())]


def test_lists_applications_and_devices(window):
    apps = column_values(window.apps_view, 0)
    assert apps == ["edge-gateway", "energy-meter", "line-monitor", "vision-inspect"]
    assert column_values(window.apps_view, 1)[2] == "2.1.0"
    behind = window.apps_model.index(2, 2).data()
    count, _, total = behind.split()
    assert 0 < int(count) <= int(total)
    assert window.devices_model.rowCount() == Device.select().count() == 61
    assert window.device_count.text() == "61 devices"
    names = column_values(window.devices_view, 0)
    assert names == sorted(names, key=str.lower)
    header = [
        window.devices_model.headerData(c, Qt.Orientation.Horizontal)
        for c in range(window.devices_model.columnCount())
    ]
    assert header == ["Device", "Site", "State", "Health", "Drift", *apps]
    assert not window.update_action.isEnabled()


def test_search_and_sort(qtbot, window):
    qtbot.keyClicks(window.search, "warehouse")
    sites = set(column_values(window.devices_view, 1))
    assert sites == {"Warehouse North", "Warehouse South"}
    assert window.device_count.text().endswith("of 61 devices")
    window.search.clear()
    header = window.devices_view.horizontalHeader()
    # click the Site header: sorted by site
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(1) + 10, header.height() // 2),
    )
    sites = column_values(window.devices_view, 1)
    assert sites == sorted(sites, key=str.lower)
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=QPoint(header.sectionViewportPosition(1) + 10, header.height() // 2),
    )
    assert column_values(window.devices_view, 1) == sorted(sites, key=str.lower, reverse=True)


def test_import_then_export(qtbot, window, monkeypatch, tmp_path):
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(FIXTURE), ""))
    click_action(qtbot, window, window.import_action)
    # press-07 is in the demo fleet too (updated by name), press-08 is new
    qtbot.waitUntil(lambda: "press-08" in column_values(window.devices_view, 0))
    assert window.devices_model.rowCount() == Device.select().count() == 62
    assert Device.get(Device.name == "press-07").site == "Plant A"
    assert "1 device added" in window.statusBar().currentMessage()
    target = tmp_path / "out.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    click_action(qtbot, window, window.export_action)
    qtbot.waitUntil(target.exists)
    assert '"press-07"' in target.read_text()


def test_bad_fleet_file_is_explained_and_changes_nothing(
    qtbot, window, monkeypatch, tmp_path, message_boxes
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "devices:\n  - name: press-99\n    applications:\n      nope: {installed: '1.0'}\n"
    )
    before = dump_tables()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(bad), ""))
    message_boxes.answer(QMessageBox.StandardButton.Ok)
    click_action(qtbot, window, window.import_action)
    qtbot.waitUntil(lambda: bool(message_boxes.seen))
    assert "devices[0].applications.nope: unknown application 'nope'" in message_boxes.seen[0]
    assert dump_tables() == before


def test_view_state_is_restored(qtbot, demo_fleet, engine):
    first = make_window(qtbot, engine)
    first.resize(1000, 640)
    first.splitter.setSizes([280, 700])
    first.devices_view.setColumnWidth(1, 211)
    first.close()
    assert QSettings().value("main/geometry") == first.saveGeometry()
    second = make_window(qtbot, engine)
    # (the window size itself is clamped to the small offscreen screen, so compare the rest)
    assert second.splitter.sizes()[0] == 280
    assert second.devices_view.columnWidth(1) == 211
    second.close()


def test_hint_goes_once_an_application_is_selected(qtbot, window):
    assert window.apps_hint.isVisible()
    click_row(qtbot, window.apps_view, 0)
    assert not window.apps_hint.isVisible()
    click_row(qtbot, window.apps_view, 0, modifier=Qt.KeyboardModifier.ControlModifier)
    assert window.selected_applications() == []
    assert window.apps_hint.isVisible()


def test_update_with_nothing_selected_says_to_select_an_application_first(qtbot, window):
    """The tray's Update applications… reaches the window with nothing selected."""
    window.update_applications()
    assert window.wizard is None
    assert "Select an application first" in window.statusBar().currentMessage()
    assert window.apps_hint.text().startswith("<b>")
    click_row(qtbot, window.apps_view, 1)
    assert not window.apps_hint.isVisible()


@pytest.mark.parametrize(
    ("chosen", "name", "filter_", "written"),
    [
        ("fleet", "JSON (*.json)", "fleet.json", '"devices"'),
        ("fleet", "YAML (*.yaml *.yml)", "fleet.yaml", "devices:"),
        ("fleet.yml", "JSON (*.json)", "fleet.yml", "devices:"),
    ],
    ids=["json-filter", "yaml-filter", "own-extension-wins"],
)
def test_export_without_an_extension_uses_the_selected_filter(
    qtbot, window, monkeypatch, tmp_path, chosen, name, filter_, written
):
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / chosen), name)
    )
    click_action(qtbot, window, window.export_action)
    target = tmp_path / filter_
    # the file appears when the export opens it; the status bar says so when it is written
    qtbot.waitUntil(lambda: str(target) in window.statusBar().currentMessage())
    assert written in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("fleet")) == [filter_]


def selected_names(view, column=0):
    return sorted(
        index.sibling(index.row(), column).data() for index in view.selectionModel().selectedRows()
    )


def test_follows_the_database_and_keeps_selection_and_scroll(qtbot, window):
    """A deployment that succeeded shows without F5; selections and scrolling stay (F5 too)."""
    window.follower.base_ms = 50
    window.follower.timer.setInterval(50)
    apps = [a.name for a in window.apps_model.apps]
    line = apps.index("line-monitor")
    click_row(qtbot, window.apps_view, 0)
    click_row(qtbot, window.apps_view, line, modifier=Qt.KeyboardModifier.ControlModifier)
    click_row(qtbot, window.devices_view, 30)
    click_row(qtbot, window.devices_view, 32, modifier=Qt.KeyboardModifier.ControlModifier)
    window.devices_view.verticalScrollBar().setValue(12)
    picked_apps = selected_names(window.apps_view)
    picked_devices = selected_names(window.devices_view)
    top = window.devices_view.indexAt(QPoint(1, 1)).data()
    assert (
        len(picked_apps) == 2
        and len(picked_devices) == 2
        and top != column_values(window.devices_view, 0)[0]
    )

    behind = window.apps_model.index(line, 2).data()
    latest = AppVersion.get(AppVersion.version == window.apps_model.apps[line].latest).id
    # as a deployment that succeeded leaves it: every device on line-monitor's latest
    DeviceApp.update(configured=latest, installed=latest).where(
        DeviceApp.application == AppVersion.get_by_id(latest).application
    ).execute()
    qtbot.waitUntil(lambda: window.apps_model.index(line, 2).data() != behind)
    assert window.apps_model.index(line, 2).data().startswith("0 of ")
    assert selected_names(window.apps_view) == picked_apps
    assert selected_names(window.devices_view) == picked_devices
    assert window.devices_view.indexAt(QPoint(1, 1)).data() == top

    with qtbot.waitSignal(window.loaded):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert selected_names(window.apps_view) == picked_apps
    assert selected_names(window.devices_view) == picked_devices
    assert window.devices_view.indexAt(QPoint(1, 1)).data() == top


def test_nothing_changed_nothing_reloaded(qtbot, window):
    window.follower.base_ms = 30
    window.follower.timer.setInterval(30)
    loads = []
    window.loaded.connect(lambda: loads.append(1))
    qtbot.waitUntil(lambda: window.follower.looks >= 4)
    assert loads == []
    Device.update(online=False).where(
        Device.name == column_values(window.devices_view, 0)[0]
    ).execute()
    qtbot.waitUntil(lambda: window.devices_model.index(0, 2).data() == "offline")
    assert loads == [1]


def test_a_failed_f5_does_not_stop_following(qtbot, window, message_boxes, monkeypatch):
    """A database that cannot be read on F5 gets its message box; once it can be read again,
    the window goes on following it (the load that failed no longer counts as running)."""
    window.follower.base_ms = 30
    window.follower.timer.setInterval(30)

    def busy():
        raise DatabaseBusyError("the database is busy (locked by another program)")

    monkeypatch.setattr(fleet_follower, "load_inventory", busy)
    message_boxes.answer()
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: bool(message_boxes.seen))
    assert "the database is busy" in message_boxes.seen[0]
    monkeypatch.undo()
    qtbot.waitUntil(lambda: not window.follower.loading)
    Device.update(online=False).where(
        Device.name == column_values(window.devices_view, 0)[0]
    ).execute()
    qtbot.waitUntil(lambda: window.devices_model.index(0, 2).data() == "offline")


def test_hidden_window_reads_nothing(qtbot, window):
    window.hide()
    assert not window.follower.timer.isActive()
    window.show()
    assert window.follower.timer.isActive()


def test_the_legend_explains_colour_arrows_and_unmanaged(main_window, screenshot):
    """What the tester asked of the device table's marks, said under it."""
    text = main_window.legend.text()
    assert main_window.legend.isVisible()
    for mark in ("Orange", "→", "(unmanaged)"):
        assert mark in text
    main_window.resize(1024, 700)
    screenshot(main_window, "main-window-legend-1024")
