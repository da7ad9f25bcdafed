"""A pause set by a third process (`appupdater pause`) stops two `appupdater engine` processes
from starting more of the run, within a step; `appupdater resume` lets them finish it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from appupdater.store.models import DeploymentEvent, EngineInstance, UpdateRun
from tests.engine import processes
from tests.engine.processes import assert_never_overlapped, count, stop, wait_for
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]
DEVICES = 200


def _starts() -> int:
    return DeploymentEvent.select().where(DeploymentEvent.message.startswith("attempt ")).count()


def _beats() -> dict[str, int]:
    return dict(EngineInstance.select(EngineInstance.id, EngineInstance.beat).tuples())


def _verb(db_path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "appupdater", "--database", str(db_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_two_engines_respect_a_pause_set_by_another_process(db, db_path):
    run_id = behind_on_line_monitor(DEVICES)
    engines = [
        processes.start_engine(str(db_path), latency=0.15, concurrency=8, stale_after=1.5)
        for _ in range(2)
    ]
    try:
        wait_for(lambda: count("succeeded") >= 20, 60, *engines)
        assert "paused" in _verb(db_path, "pause", "--run", str(run_id))
        assert UpdateRun.get_by_id(run_id).paused_at is not None
        # running ones finish; nothing new starts
        wait_for(lambda: count("running") == 0, 30, *engines)
        started = _starts()
        beats = _beats()
        wait_for(lambda: all(_beats().get(e, 0) >= b + 3 for e, b in beats.items()), 30, *engines)
        assert _starts() == started
        assert count("queued") == DEVICES - count("succeeded") > 0
        assert _verb(db_path, "resume", "--run", str(run_id)) == f"run #{run_id} resumed\n"
        wait_for(lambda: count("succeeded") == DEVICES, 120, *engines)
    finally:
        outputs = [stop(e) for e in engines]
    assert _starts() == DEVICES, outputs
    assert_never_overlapped()
