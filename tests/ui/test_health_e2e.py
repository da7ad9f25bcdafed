"""Issue 17's end to end: an update approved in the wizard goes to three real agents on
loopback whose web-ui module carries lifecycle hooks; on one device the new version's health
hook fails. Two succeed, that one fails with the health output in the overview, runs its old
version again (the agent's state on disk says so), and after a probe the main window shows it
healthy and not drifted."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.models import Deployment, Device
from appupdater.ui.main_window import MainWindow
from tests.agent.hook_artifacts import HookArtifacts
from tests.agents import AgentProcess
from tests.engine.test_health_gate import HEALTH, fleet
from tests.helpers import load_yaml
from tests.ui.drive import approve, click_row, next_page, open_wizard

pytestmark = pytest.mark.integration

WAIT = 40_000
NAMES = ("press-01", "press-02", "press-03")
OUTPUT = "web-ui 2.0.0 unhealthy after 1 s: connection refused"


@pytest.fixture
def agents(tmp_path, db, qtbot):
    hooked = HookArtifacts(tmp_path / "artifacts")
    started = []
    try:
        hooked.add("web-ui", "1.0.0", stop="", start="", health="")
        hooked.add("web-ui", "2.0.0", stop="", start="", health=HEALTH, health_timeout="1")
        for name in NAMES:
            agent = AgentProcess(name, tmp_path / "agents" / name).start()
            started.append(agent)
            with agent.client() as client:
                client.put("seed", hooked.configuration(("web-ui", "1.0.0")))
        for agent in started:
            qtbot.waitUntil(lambda a=agent: a.active() == {"web-ui": "1.0.0"}, timeout=WAIT)
        broken = started[2].state / "data" / "web-ui" / "broken"
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.touch()
        load_yaml(fleet(hooked, started))
        yield started
    finally:
        for agent in started:
            agent.stop()
        hooked.close()


def row_of(window, name):
    model = window.devices_model
    [row] = [r for r in range(model.rowCount()) if model.index(r, 0).data() == name]
    return row


def test_wizard_to_three_agents_one_unhealthy(qtbot, agents, message_boxes, screenshot):
    engine = build_engine(
        EngineSettings(
            tick_ms=50,
            progress_interval=0.05,
            probe_interval=None,
            gateways=GatewaySettings(agent_timeout=5, poll_wait=0.5),
        )
    )
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.inventory is not None)
    wizard = open_wizard(qtbot, window, "line-monitor")
    next_page(qtbot, wizard)
    next_page(qtbot, wizard)
    run_id = approve(qtbot, wizard, message_boxes)
    engine.start()
    try:
        finished = Deployment.state.in_(["succeeded", "failed", "cancelled"])
        query = Deployment.select().where((Deployment.run == run_id) & finished)
        qtbot.waitUntil(lambda: query.count() == len(agents), timeout=WAIT)
        states = {
            d.device.name: (d.state, d.last_message)
            for d in Deployment.select().where(Deployment.run == run_id)
        }
        assert states["press-01"][0] == states["press-02"][0] == "succeeded"
        assert states["press-03"] == (
            "failed",
            f"press-03: {OUTPUT}; rolled back to 1.0.0, healthy",
        )
        # the overview shows the failure and, in the failed deployment's log, the hook's output
        overview = window.overview
        assert overview is not None
        model = overview.model

        def failed_shown() -> bool:
            states = [model.row_at(r).state for r in range(model.rowCount())]
            return sorted(states) == ["failed", "succeeded", "succeeded"]

        qtbot.waitUntil(failed_shown, timeout=WAIT)
        [failed] = [r for r in range(3) if model.row_at(r).state == "failed"]
        assert OUTPUT in model.row_at(failed).message
        click_row(qtbot, overview.view, failed)
        log = overview.details.log
        qtbot.waitUntil(lambda: log.topLevelItemCount() > 0, timeout=WAIT)
        lines = [log.topLevelItem(i).text(2) for i in range(log.topLevelItemCount())]
        assert any("hooks/health: connection refused" in line for line in lines), lines
        assert any(OUTPUT in line for line in lines), lines
        # the device runs its old version again: read from the agent's own state on disk
        assert agents[2].active() == {"web-ui": "1.0.0"}
        assert agents[0].active() == agents[1].active() == {"web-ui": "2.0.0"}

        engine.probe_now()  # a probe round now, as the periodic one would
        qtbot.waitUntil(
            lambda: window.devices_model.unhealthy == 0 and healthy(window), timeout=WAIT
        )
    finally:
        assert engine.stop(interrupt=True, msecs=30_000)
    model = window.devices_model
    press_03 = row_of(window, "press-03")
    assert model.index(press_03, 3).data() == "healthy"
    assert model.index(press_03, 4).data() == ""  # not drifted: it never ran 2.0.0
    assert model.drifted == 0
    assert "web-ui 1.0.0: healthy" in model.index(press_03, 3).data(Qt.ItemDataRole.ToolTipRole)
    assert Device.get(name="press-03").apps.get().installed.version == "1.0.0"
    overview.close()
    window.close()


def healthy(window) -> bool:
    model = window.devices_model
    return all(d.health is not None and d.health.health == "healthy" for d in model.devices)
