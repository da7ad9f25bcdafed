"""An engine whose attempt another engine took over (it was thought dead: suspended, stalled)
stops that attempt at its next scheduling step, even when the device reports no progress, says
so in its log, and writes nothing more for it."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

from appupdater.core import scheduling
from appupdater.engine.engine import Engine
from appupdater.engine.gateways.base import Gateway, ProbeResult, Stopped
from appupdater.engine.settings import EngineSettings
from appupdater.store.models import Deployment
from tests.engine.helpers import approve, deployment, events, state

WAIT = 15_000


class QuietInstall(Gateway):
    """A long install that reports nothing until it is told to stop."""

    def __init__(self) -> None:
        self.stopped = threading.Event()

    def probe(self, device):
        return ProbeResult(True)

    def deploy(self, job, progress, should_stop):
        while not should_stop():
            self.stopped.wait(0.01)
        self.stopped.set()
        raise Stopped()


def test_an_attempt_taken_over_stops_at_the_next_step_and_writes_nothing(
    qtbot, sim_devices, caplog
):
    run_id = approve(devices=["press-01"])
    gateway = QuietInstall()
    settings = EngineSettings(tick_ms=40, stale_after=timedelta(seconds=2), probe_interval=None)
    engine = Engine(gateway, settings)
    engine.start()
    try:
        qtbot.waitUntil(lambda: state(run_id, "press-01") == "running", timeout=WAIT)
        d = deployment(run_id, "press-01")
        # another engine judged this one dead, requeued the attempt and claimed it anew
        Deployment.update(state="queued", claimed_by=None).where(Deployment.id == d.id).execute()
        scheduling.heartbeat("other", "elsewhere", 2, datetime.now(UTC))
        [theirs] = scheduling.claim("other", datetime.now(UTC), 1)
        before = events(d.id)
        with caplog.at_level(logging.WARNING, logger="appupdater.engine"):
            qtbot.waitUntil(lambda: engine.running == 0, timeout=WAIT)
        assert gateway.stopped.is_set()
        assert f"deployment {d.id}: taken over by another engine; stopped here" in caplog.text
        after = deployment(run_id, "press-01")
        assert (after.state, after.claimed_by, after.claim) == ("running", "other", theirs.claim)
        assert events(d.id) == before
    finally:
        assert engine.stop(interrupt=True, msecs=10_000)
