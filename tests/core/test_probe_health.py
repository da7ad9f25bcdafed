"""What a probe records: each device's reported modules with their health, a summary, and
drift — a device that ran its configuration and now reports something else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core.devices import ProbeReport, record_probes
from appupdater.store.models import Device, DeviceApp, DeviceHealth
from tests.helpers import CATALOG, devices_yaml, load_yaml

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
V2_MODULES = {"collector": "2.0.0", "alerts": "1.0.0"}
V1_MODULES = {"collector": "1.0.0", "dashboard": "0.9.2"}


@pytest.fixture
def presses(db):
    load_yaml(
        CATALOG
        + devices_yaml(
            # deployed: runs what it is configured to run
            "{name: press-01, applications: {line-monitor: {configured: '2.0.0', installed: '2.0.0'}}}",
            # configured, not deployed yet (or its deployment failed)
            "{name: press-02, applications: {line-monitor: {configured: '2.0.0', installed: '1.0.0'}}}",
        )
    )


def device_id(name: str) -> int:
    return Device.get(Device.name == name).id


def probe(name: str, version: str, modules: dict[str, str], health=None, now=NOW, online=True):
    health = {m: "healthy" for m in modules} if health is None else health
    report = ProbeReport(
        device_id(name), online, {"line-monitor": version} if online else {}, "", modules, health
    )
    return record_probes([report], now)


def health_of(name: str) -> DeviceHealth | None:
    return DeviceHealth.get_or_none(DeviceHealth.device == device_id(name))


def drift(name: str) -> str | None:
    row = health_of(name)
    assert row is not None
    return row.drift


def installed(name: str) -> str:
    row = DeviceApp.get(DeviceApp.device == device_id(name))
    return row.installed.version


def test_a_probe_records_modules_and_their_health(presses):
    probe(
        "press-01",
        "2.0.0",
        V2_MODULES,
        {"collector": "healthy", "alerts": "unhealthy after 3 s: connection refused"},
    )
    device = health_of("press-01")
    assert device.modules == {
        "collector": {"version": "2.0.0", "health": "healthy"},
        "alerts": {"version": "1.0.0", "health": "unhealthy after 3 s: connection refused"},
    }
    assert device.health == "unhealthy"
    assert device.detail == (
        "alerts 1.0.0: unhealthy after 3 s: connection refused\ncollector 2.0.0: healthy"
    )
    assert device.at == NOW


@pytest.mark.parametrize(
    ("health", "summary"),
    [
        ({"collector": "healthy", "alerts": "healthy"}, "healthy"),
        ({"collector": "healthy", "alerts": "unknown"}, "unknown"),
        ({"collector": "unknown", "alerts": "unhealthy: start failed"}, "unhealthy"),
        ({"collector": "healthy"}, "unknown"),  # a module without an answer
    ],
)
def test_the_summary_is_the_worst_module(presses, health, summary):
    probe("press-01", "2.0.0", V2_MODULES, health)
    assert health_of("press-01").health == summary


def test_an_unreachable_device_keeps_what_it_last_said(presses):
    probe("press-01", "2.0.0", V2_MODULES)
    probe("press-01", "", {}, {}, now=NOW + timedelta(minutes=1), online=False)
    row = health_of("press-01")
    assert Device.get(Device.name == "press-01").online is False
    assert (row.health, row.at) == ("healthy", NOW)


def test_a_device_never_probed_has_no_health(presses):
    assert health_of("press-02") is None


def test_a_device_that_fell_back_after_its_deployment_drifts(presses):
    probe("press-01", "1.0.0", V1_MODULES)
    assert installed("press-01") == "1.0.0"
    assert drift("press-01") == "line-monitor runs 1.0.0, configured 2.0.0"
    # it stays drifted while it runs the other version, and is not once it runs its configuration
    probe("press-01", "1.0.0", V1_MODULES, now=NOW + timedelta(minutes=1))
    assert drift("press-01") == "line-monitor runs 1.0.0, configured 2.0.0"
    probe("press-01", "2.0.0", V2_MODULES, now=NOW + timedelta(minutes=2))
    assert drift("press-01") is None


def test_a_configuration_not_deployed_yet_is_no_drift(presses):
    probe("press-02", "1.0.0", V1_MODULES)
    assert drift("press-02") is None


def test_a_module_running_another_version_than_its_application_version_drifts(presses):
    probe("press-01", "2.0.0", {"collector": "2.0.1", "alerts": "1.0.0"})
    assert drift("press-01") == ("collector runs 2.0.1, line-monitor 2.0.0 has 2.0.0")


def test_a_module_that_does_not_run_drifts(presses):
    probe("press-01", "2.0.0", {"collector": "2.0.0"})
    assert drift("press-01") == ("alerts does not run, line-monitor 2.0.0 has 1.0.0")


def test_ten_thousand_probes_are_recorded_in_one_quick_transaction(db):
    import time

    lines = [
        f"{{name: d{i:05}, applications: {{line-monitor: {{configured: '2.0.0', installed: '2.0.0'}}}}}}"
        for i in range(10_000)
    ]
    load_yaml(CATALOG + devices_yaml(*lines))
    ids = [d for (d,) in Device.select(Device.id).tuples()]
    health = {"collector": "healthy", "alerts": "healthy"}
    reports = [ProbeReport(i, True, {"line-monitor": "2.0.0"}, "", V2_MODULES, health) for i in ids]
    started = time.perf_counter()
    record_probes(reports, NOW)
    assert time.perf_counter() - started < 5
    assert DeviceHealth.select().where(DeviceHealth.health == "healthy").count() == 10_000


def test_what_a_probe_finds_changes_the_fleet_fingerprint(presses):
    from appupdater.core.fleet_changes import fleet_fingerprint

    seen = fleet_fingerprint()
    probe("press-01", "2.0.0", V2_MODULES)
    healthy = fleet_fingerprint()
    assert healthy != seen
    probe("press-01", "2.0.0", V2_MODULES, now=NOW + timedelta(minutes=1))
    assert fleet_fingerprint() == healthy  # the same answer later: nothing to reload
    probe("press-01", "2.0.0", V2_MODULES, {"collector": "healthy", "alerts": "unknown"})
    assert fleet_fingerprint() != healthy
