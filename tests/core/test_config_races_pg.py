"""Two writers of the same devices' configurations at once on PostgreSQL (two engines applying
different runs, an import beside a run): the first pauses between reading the configurations
and writing them while the second goes ahead. The second must wait for the first (the device
rows are locked before they are read), so no configuration is downgraded and no revision number
is taken twice. Skipped where no server exists."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

import appupdater.core.fleetimport as fleetimport
import appupdater.core.runs as runs
from appupdater.core.config_history import device_history
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.models import AppVersion, Device, DeviceApp
from tests.helpers import CATALOG, devices_yaml, load_yaml

pytestmark = pytest.mark.integration

DEVICES = ("press-01", "press-02")
FLEET = devices_yaml(
    *(
        f"{{name: {name}, applications: {{line-monitor: {{configured: '1.0.0', "
        "installed: '1.0.0'}}}"
        for name in DEVICES
    )
)


def _configured() -> dict[str, str]:
    query = (
        DeviceApp.select(Device.name, AppVersion.version)
        .join(Device)
        .switch(DeviceApp)
        .join(AppVersion, on=(DeviceApp.configured == AppVersion.id))
    )
    return dict(query.tuples())


def _waiting_on_a_lock(pg) -> bool:
    row = pg.execute_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    ).fetchone()
    return row[0] > 0


def _race(
    pg, monkeypatch, module, hook: str, first: Callable[[], object], second: Callable[[], object]
):
    """Run `first` in a thread until it reaches `module.hook` (after its read), then `second`
    in another; let `first` go on once `second` finished or waits on a lock. Returns each
    one's exception (None: it succeeded)."""
    inside, release = threading.Event(), threading.Event()
    original = getattr(module, hook)

    def paused(*args, **kwargs):
        found = original(*args, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(30)
        return found

    monkeypatch.setattr(module, hook, paused)
    errors: dict[str, BaseException | None] = {}

    def call(name: str, work: Callable[[], object]) -> None:
        try:
            with pg.connection_context():
                work()
            errors[name] = None
        except BaseException as exc:  # reported by the test
            errors[name] = exc

    one = threading.Thread(target=call, args=("first", first), name="first")
    one.start()
    assert inside.wait(30)
    two = threading.Thread(target=call, args=("second", second), name="second")
    two.start()
    deadline = time.monotonic() + 30
    while two.is_alive() and not _waiting_on_a_lock(pg):
        assert time.monotonic() < deadline, "the second writer neither finished nor waited"
        time.sleep(0.01)
    release.set()
    one.join(30)
    two.join(30)
    assert not one.is_alive() and not two.is_alive()
    return errors["first"], errors["second"]


def _check_histories() -> None:
    for name in DEVICES:
        device = Device.get(Device.name == name)
        numbers = [r.number for r in device_history(device.id)]
        assert numbers == list(range(device.config_revision, 0, -1))


def test_two_engines_applying_two_runs_on_the_same_devices(pg, monkeypatch):
    load_yaml(CATALOG + FLEET)
    to_2 = create_run(
        plan_update([Selection("line-monitor", "2.0.0")]), approved_by="a", default=CONFIG_ONLY
    )
    to_21 = create_run(
        plan_update([Selection("line-monitor", "2.1.0-rc.1")]), approved_by="b", default=CONFIG_ONLY
    )
    errors = _race(
        pg,
        monkeypatch,
        runs,
        "load_catalog",
        lambda: apply_configuration(to_2),
        lambda: apply_configuration(to_21),
    )
    assert errors == (None, None)
    assert _configured() == dict.fromkeys(DEVICES, "2.1.0-rc.1")
    _check_histories()


def test_an_import_beside_a_run_on_the_same_devices(pg, monkeypatch):
    load_yaml(CATALOG + FLEET)
    to_21 = create_run(
        plan_update([Selection("line-monitor", "2.1.0-rc.1")]), approved_by="b", default=CONFIG_ONLY
    )
    newer = FLEET.replace("configured: '1.0.0'", "configured: '2.0.0'")
    errors = _race(
        pg,
        monkeypatch,
        fleetimport,
        "configured_maps",
        lambda: load_yaml(newer, file="newer.yaml"),
        lambda: apply_configuration(to_21),
    )
    assert errors == (None, None)
    assert _configured() == dict.fromkeys(DEVICES, "2.1.0-rc.1")
    _check_histories()
