"""The probe's bulk writes (update_rows, the DeviceHealth upsert) on PostgreSQL."""

from __future__ import annotations

import pytest

from appupdater.core.devices import ProbeReport, record_probes
from appupdater.store.models import Device, DeviceApp, DeviceHealth
from tests.core.test_probe_health import NOW, V1_MODULES
from tests.helpers import CATALOG, devices_yaml, load_yaml

pytestmark = pytest.mark.integration


def test_probes_on_postgres(pg):
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '2.0.0', installed: '2.0.0'}}}"
        )
    )
    device = Device.get(name="press-01").id
    health = {m: "healthy" for m in V1_MODULES}
    for _ in range(2):  # the second one updates the row the first inserted
        record_probes(
            [ProbeReport(device, True, {"line-monitor": "1.0.0"}, "", V1_MODULES, health)], NOW
        )
    row = DeviceHealth.get(DeviceHealth.device == device)
    assert (row.health, row.drift) == ("healthy", "line-monitor runs 1.0.0, configured 2.0.0")
    assert DeviceApp.get(DeviceApp.device == device).installed.version == "1.0.0"
    assert Device.get_by_id(device).last_seen_at == NOW
