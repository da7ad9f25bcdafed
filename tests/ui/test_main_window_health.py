"""The main window's Health and Drift columns and its "Drifted" and "Unhealthy" filters."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import Qt

from appupdater.core.devices import ProbeReport, record_probes
from appupdater.store.models import Application, Device, DeviceApp, Module
from tests.ui.conftest import shots_folder

SHOTS = shots_folder("health17")


def in_sync(count: int) -> list[tuple[str, str]]:
    """Devices running their configured line-monitor: (name, version)."""
    app = Application.get(name="line-monitor")
    rows = (
        DeviceApp.select(Device.name, DeviceApp.configured)
        .join(Device)
        .where((DeviceApp.application == app) & (DeviceApp.configured == DeviceApp.installed))
        .order_by(Device.name)
        .limit(count)
    )
    return [(row.device.name, row.configured.version) for row in rows]


def modules_of(version: str) -> dict[str, str]:
    app = Application.get(name="line-monitor")
    query = Module.select().join_from(Module, Module.app_version.rel_model)
    return {
        m.name: m.version
        for m in query
        if m.app_version.application_id == app.id and m.app_version.version == version
    }


def probe(name: str, version: str, modules: dict[str, str], health: dict[str, str]) -> None:
    device_id = Device.get(name=name).id
    report = ProbeReport(device_id, True, {"line-monitor": version}, "", modules, health)
    record_probes([report], datetime.now(UTC))


def older_version(version: str) -> str:
    app = Application.get(name="line-monitor")
    versions = [v.version for v in app.versions if v.version != version]
    return sorted(versions)[0]


def shown(window) -> list[str]:
    model = window.devices_model
    return [model.index(row, 0).data() for row in range(model.rowCount())]


def cell(window, name: str, column: int, role=Qt.ItemDataRole.DisplayRole):
    model = window.devices_model
    row = shown(window).index(name)
    return model.index(row, column).data(role)


def test_health_drift_and_their_filters(qtbot, main_window):
    window = main_window
    (healthy, v_healthy), (drifted, v_drifted), (sick, v_sick) = in_sync(3)
    ok = {m: "healthy" for m in modules_of(v_healthy)}
    probe(healthy, v_healthy, modules_of(v_healthy), ok)
    old = older_version(v_drifted)
    probe(drifted, old, modules_of(old), {m: "healthy" for m in modules_of(old)})
    sick_modules = modules_of(v_sick)
    first = sorted(sick_modules)[0]
    sick_health = {m: "healthy" for m in sick_modules}
    sick_health[first] = "unhealthy after 60 s: connection refused"
    probe(sick, v_sick, sick_modules, sick_health)
    # the window follows the database: what a probe wrote shows without F5
    qtbot.waitUntil(lambda: window.devices_model.drifted == 1, timeout=10_000)

    assert cell(window, healthy, 3) == "healthy"
    assert cell(window, healthy, 4) == ""
    assert cell(window, sick, 3) == "unhealthy"
    tooltip = cell(window, sick, 3, Qt.ItemDataRole.ToolTipRole)
    assert f"{first} {sick_modules[first]}: unhealthy after 60 s: connection refused" in tooltip
    assert cell(window, drifted, 4) == (f"line-monitor runs {old}, configured {v_drifted}")
    assert cell(window, drifted, 3) == "healthy"
    never = next(n for n in shown(window) if n not in (healthy, drifted, sick))
    assert cell(window, never, 3) == ""
    assert "Not probed yet" in cell(window, never, 3, Qt.ItemDataRole.ToolTipRole)
    total = len(shown(window))
    assert window.filters.drifted.text() == "D&rifted (1)"
    assert window.filters.unhealthy.text() == "Un&healthy (1)"

    qtbot.mouseClick(window.filters.drifted, Qt.MouseButton.LeftButton)
    assert shown(window) == [drifted]
    assert window.device_count.text() == f"1 of {total} devices"
    save_shots(window, "filtered-drifted")
    qtbot.mouseClick(window.filters.drifted, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.filters.unhealthy, Qt.MouseButton.LeftButton)
    assert shown(window) == [sick]
    # both: devices that are drifted and unhealthy — none here
    qtbot.mouseClick(window.filters.drifted, Qt.MouseButton.LeftButton)
    assert shown(window) == []
    qtbot.mouseClick(window.filters.drifted, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(window.filters.unhealthy, Qt.MouseButton.LeftButton)
    assert len(shown(window)) == total

    # sorting by health puts the unhealthy first
    window.devices_view.sortByColumn(3, Qt.SortOrder.AscendingOrder)
    assert shown(window)[0] == sick
    window.devices_view.sortByColumn(4, Qt.SortOrder.AscendingOrder)
    assert shown(window)[0] == drifted
    window.devices_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    save_shots(window, "main-window")


def save_shots(window, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, height in ((1280, 800), (1024, 700)):
        window.resize(width, height)
        window.grab()  # lay out at the new size first
        assert window.grab().save(str(SHOTS / f"{name}-{width}x{height}.png"))
