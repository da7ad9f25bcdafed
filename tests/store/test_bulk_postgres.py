"""The bulk layer on PostgreSQL sends many rows per statement (multi-row VALUES), not one
statement per row: a 100k-device demo was 15x slower than on SQLite with `executemany`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appupdater.demo.fleet import load_demo
from appupdater.store.bulk import PAGE_ROWS, insert_rows, update_rows
from appupdater.store.db import writing
from appupdater.store.fields import to_db_time
from appupdater.store.models import AppVersion, Device, DeviceApp

pytestmark = pytest.mark.integration


class CountingCursor:
    """The driver's cursor, counting the statements sent through it."""

    def __init__(self, cursor, calls):
        self._cursor, self._calls = cursor, calls

    def execute(self, sql, params=None):
        self._calls.append("execute")
        return self._cursor.execute(sql, params)

    def executemany(self, sql, rows):
        self._calls.append("executemany")
        return self._cursor.executemany(sql, rows)

    def copy_expert(self, sql, file):
        self._calls.append("copy")
        return self._cursor.copy_expert(sql, file)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


@pytest.fixture
def statements(pg, monkeypatch):
    calls: list[str] = []
    real = pg.cursor
    monkeypatch.setattr(pg, "cursor", lambda *a, **k: CountingCursor(real(*a, **k), calls))
    return calls


def test_inserts_are_multi_row_and_fill_defaults(pg, statements):
    rows = 2 * PAGE_ROWS + 7
    seen = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    with writing():
        statements.clear()  # the BEGIN
        insert_rows(
            Device,
            (Device.name, Device.endpoint, Device.last_seen_at),
            (
                (f"dev-{i:05d}", None if i % 2 else f"https://d{i}", to_db_time(seen))
                for i in range(rows)
            ),
        )
        assert statements == ["copy"]  # one COPY for all rows
    assert Device.select().count() == rows
    odd, even = Device.get(Device.name == "dev-00001"), Device.get(Device.name == "dev-00002")
    assert odd.endpoint is None and even.endpoint == "https://d2"
    assert even.last_seen_at == seen and even.online is True and even.labels == {}
    with writing():
        statements.clear()
        insert_rows(Device, (Device.name,), [("dev-00001",), ("new",)], ignore=True)
        assert statements == ["execute"]  # skipping duplicates: VALUES … ON CONFLICT
    assert Device.select().count() == rows + 1


AWKWARD = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "N", "", "ünïcødé ✓", 'a,b;"c"']


def test_copy_keeps_every_character_and_null(pg, statements):
    with writing():
        statements.clear()
        insert_rows(
            Device,
            (Device.name, Device.endpoint, Device.online),
            [(f"d{i}", text, i % 2 == 0) for i, text in enumerate(AWKWARD)]
            + [("none", None, False)],
        )
        assert statements == ["copy"]
    stored = {d.name: (d.endpoint, d.online) for d in Device.select()}
    assert stored == {
        **{f"d{i}": (text, i % 2 == 0) for i, text in enumerate(AWKWARD)},
        "none": (None, False),
    }


def test_updates_are_multi_row_with_nulls_and_composite_keys(pg, statements):
    load_demo(devices=40, seed=3)
    apps = list(DeviceApp.select().order_by(DeviceApp.id))
    version = AppVersion.get(AppVersion.application == apps[0].application_id)
    chosen = [a for a in apps if a.application_id == version.application_id]
    with writing():
        statements.clear()
        update_rows(
            DeviceApp,
            [DeviceApp.configured, DeviceApp.installed],
            [(None, version.id, a.device_id, a.application_id) for a in chosen],
            keys=[DeviceApp.device, DeviceApp.application],
        )
        update_rows(Device, [Device.site, Device.online], [("moved", False, chosen[0].device_id)])
        assert "executemany" not in statements and len(statements) <= 4  # with column types
    for each in DeviceApp.select().where(DeviceApp.application == version.application_id):
        assert each.configured_id is None and each.installed_id == version.id
    moved = Device.get_by_id(chosen[0].device_id)
    assert moved.site == "moved" and moved.online is False


def test_a_nul_in_a_devices_words_is_kept_visible_not_refused(pg):
    """An agent's log line may carry NUL, which PostgreSQL's text cannot hold: the event and
    the end's message are written with it spelled out."""
    from appupdater.core.events import Event, log_events
    from appupdater.store.models import DeploymentEvent

    load_demo(devices=3, seed=1)
    from appupdater.core.planning import Selection, plan_update
    from appupdater.core.runs import apply_configuration, create_run
    from tests.helpers import behind_on_line_monitor  # noqa: F401  (fleet above is enough)

    run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="t")
    apply_configuration(run_id)
    deployment = DeploymentEvent.select().first().deployment_id
    with writing():
        log_events([(deployment, Event.info(datetime.now(UTC), "agent: bad\x00byte"))])
    assert DeploymentEvent.select().order_by(DeploymentEvent.id.desc()).first().message == (
        "agent: bad\\x00byte"
    )
