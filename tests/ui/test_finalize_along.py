"""Finalize lists what a deployment also pushes: another application whose configuration was
changed earlier without reaching the device. What the tree shows is what the device gets."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from appupdater.store.models import (
    Application,
    AppVersion,
    DeployAction,
    Deployment,
    Device,
    DeviceApp,
)
from appupdater.ui.wording import ACTION_TEXT, ALONG_TEXT, OP_TEXT
from tests.helpers import devices_yaml, load_yaml
from tests.ui.drive import approve, next_page, open_wizard
from tests.ui.test_finalize import _device_row, _modules, _set_action, _totals_match_the_tree

NAME = "agv-91"


@pytest.fixture
def configured_earlier(demo_fleet):
    """agv-91: behind on line-monitor; edge-gateway configured 4.0.0 (say, by a run that did
    not deploy it) while it still runs 3.6.0."""
    load_yaml(
        devices_yaml(
            f"{{name: {NAME}, site: Hall 2, applications: "
            "{line-monitor: {configured: '1.0.0', installed: '1.0.0'}, "
            "edge-gateway: {configured: '4.0.0', installed: '3.6.0'}}}"
        )
    )


def _apps(model, device):
    return [
        tuple(model.index(r, c, device).data() for c in (0, 2, 3, 4))
        for r in range(model.rowCount(device))
    ]


def test_finalize_shows_what_the_deployment_also_pushes(
    qtbot, configured_earlier, main_window, engine, message_boxes, screenshot
):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    target = next(t for t in wizard.state.plan.targets if t.device.name == NAME)
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    page = wizard.finalize_page
    model = page.model
    device = _device_row(model, NAME)
    assert _apps(model, device) == [
        ("line-monitor", "1.0.0", target.to_version.text, None),
        ("edge-gateway", "3.6.0", "4.0.0", ALONG_TEXT),
    ]
    along = model.index(1, 0, device)
    assert "not part of this update" in along.data(Qt.ItemDataRole.ToolTipRole)
    [carried] = wizard.state.plan.along[Device.get(Device.name == NAME).id]
    assert _modules(model, along) == [(c.module, OP_TEXT[c.op]) for c in carried.changes] != []
    assert "also get other applications configured earlier" in page.note.text()
    assert "edge-gateway on" in page.note.text()
    _totals_match_the_tree(page)
    page.view.scrollTo(device)
    page.view.expand(device)
    page.view.expand(along)
    page.view.setCurrentIndex(along)
    wizard.resize(1280, 800)
    screenshot(wizard, "wizard-3-finalize-also-pushed")
    wizard.resize(1024, 700)
    screenshot(wizard, "wizard-3-finalize-also-pushed-1024")

    # not deployed: no deployment, so nothing goes along
    wizard.back()
    _set_action(qtbot, wizard.deployment_page, NAME, ACTION_TEXT[DeployAction.NONE])
    next_page(qtbot, wizard)
    device = _device_row(model, NAME)
    assert [row[0] for row in _apps(model, device)] == ["line-monitor"]
    _totals_match_the_tree(page)

    # deployed after all: the question says so, and the device gets what the tree showed
    wizard.back()
    _set_action(qtbot, wizard.deployment_page, NAME, ACTION_TEXT[DeployAction.NOW])
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    assert "also get other applications configured earlier" in message_boxes.seen[0]
    engine.start()
    deployment = (
        Deployment.select().join(Device).where((Deployment.run == run_id) & (Device.name == NAME))
    )
    qtbot.waitUntil(lambda: deployment.get().state == "succeeded", timeout=30_000)
    installed = (
        DeviceApp.select(AppVersion.version)
        .join(AppVersion, on=DeviceApp.installed == AppVersion.id)
        .switch(DeviceApp)
        .join(Device)
        .switch(DeviceApp)
        .join(Application)
        .where((Device.name == NAME) & (Application.name == "edge-gateway"))
        .scalar()
    )
    assert installed == "4.0.0"
