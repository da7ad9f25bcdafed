"""An `appupdater engine` process killed (SIGKILL) during the soak time between two waves: the
next engine opens the second wave once the soak has passed since the first wave finished —
not at once, not never, and each deployment once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.core.waves import Strategy, parse_waves
from appupdater.store.models import Deployment, UpdateRun
from tests.engine import processes
from tests.engine.processes import assert_never_overlapped, kill, stop, wait_for
from tests.helpers import CATALOG, devices_yaml, load_yaml

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 20
SOAK_MINUTES = 0.05  # 3 s


def _wave(run_id: int, wave: int) -> list[Deployment]:
    return list(Deployment.select().where((Deployment.run == run_id) & (Deployment.wave == wave)))


def test_an_engine_killed_during_a_soak_leaves_the_next_wave_to_the_next_engine(db, db_path):
    load_yaml(
        CATALOG
        + devices_yaml(
            *(
                f"{{name: dev-{i:03d}, applications: {{line-monitor: "
                "{configured: '1.0.0', installed: '1.0.0'}}}"
                for i in range(DEVICES)
            )
        )
    )
    run_id = create_run(
        plan_update([Selection("line-monitor")]),
        approved_by="alice",
        strategy=Strategy(parse_waves("5,rest"), soak_minutes=SOAK_MINUTES),
    )
    first = processes.start_engine(str(db_path), latency=0.1, concurrency=8, stale_after=1.5)
    try:
        wait_for(
            lambda: (
                [d.state for d in _wave(run_id, 1)] == ["succeeded"] * 5
                and len(_wave(run_id, 2)) == DEVICES - 5
            ),
            60,
            first,
        )
    finally:
        kill(first)
    assert {d.state for d in _wave(run_id, 2)} == {"held"}
    assert UpdateRun.get_by_id(run_id).open_wave == 1
    second = processes.start_engine(str(db_path), latency=0.1, concurrency=8, stale_after=1.5)
    try:
        wait_for(lambda: {d.state for d in _wave(run_id, 2)} == {"succeeded"}, 90, second)
    finally:
        output = stop(second)
    first_done = max(d.finished_at for d in _wave(run_id, 1))
    second_started = min(d.started_at for d in _wave(run_id, 2))
    assert second_started - first_done >= timedelta(minutes=SOAK_MINUTES), output
    assert UpdateRun.get_by_id(run_id).open_wave == 2
    assert all(d.attempts == 1 for d in Deployment.select().where(Deployment.run == run_id))
    assert_never_overlapped()
