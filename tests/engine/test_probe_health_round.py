"""A probe round passes what each agent says about its modules and their health on to the
store, and a device that fell back after its deployment comes out drifted."""

from __future__ import annotations

from appupdater.engine.clock import ManualClock
from appupdater.engine.gateways.base import ProbeResult
from appupdater.engine.probing import Prober
from appupdater.engine.settings import EngineSettings
from appupdater.store.models import Device, DeviceApp, DeviceHealth
from tests.helpers import CATALOG, devices_yaml, load_yaml

TOKEN = "t" * 24


class Agents:
    """A gateway whose devices answer as told: press-01 healthy on 2.0.0, press-02 fell back to
    1.0.0 with its dashboard unhealthy."""

    def probe(self, device):
        if device.name == "press-01":
            return ProbeResult(
                True,
                {"line-monitor": "2.0.0"},
                modules={"collector": "2.0.0", "alerts": "1.0.0"},
                health={"collector": "healthy", "alerts": "healthy"},
            )
        return ProbeResult(
            True,
            {"line-monitor": "1.0.0"},
            modules={"collector": "1.0.0", "dashboard": "0.9.2"},
            health={"collector": "healthy", "dashboard": "unhealthy after 5 s: no answer"},
        )


def test_a_probe_round_records_health_and_drift(db):
    load_yaml(
        CATALOG
        + devices_yaml(
            *(
                f"{{name: {name}, endpoint: 'https://127.0.0.1:{port}', token: '{TOKEN}', "
                "applications: {line-monitor: {configured: '2.0.0', installed: '2.0.0'}}}"
                for name, port in (("press-01", 8441), ("press-02", 8442))
            )
        )
    )
    rounds = []
    clock = ManualClock()
    Prober(Agents(), EngineSettings(), clock, lambda: rounds.append(1))._round()
    assert rounds == [1]
    health = {
        Device.get_by_id(row.device_id).name: (row.health, row.drift, row.at)
        for row in DeviceHealth.select()
    }
    assert health == {
        "press-01": ("healthy", None, clock.now()),
        "press-02": ("unhealthy", "line-monitor runs 1.0.0, configured 2.0.0", clock.now()),
    }
    press_02 = DeviceHealth.get(DeviceHealth.device == Device.get(name="press-02").id)
    assert press_02.modules["dashboard"] == {
        "version": "0.9.2",
        "health": "unhealthy after 5 s: no answer",
    }
    installed = DeviceApp.get(DeviceApp.device == press_02.device_id).installed.version
    assert installed == "1.0.0"
