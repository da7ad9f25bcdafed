"""An engine with 500 deployments in flight is killed with SIGKILL while their progress is being
written, then started again: no state change is lost and none is doubled."""

from __future__ import annotations

import pytest

from appupdater.store.models import Deployment
from tests.engine.processes import (
    STARTED,
    TAKEN_OVER,
    assert_never_overlapped,
    count,
    events_per_deployment,
    kill,
    start_engine,
    stop,
    wait_for,
)
from tests.helpers import behind_on_line_monitor

pytestmark = [pytest.mark.slow, pytest.mark.integration]

DEVICES = 500
LATENCY = 4.0  # seconds per device: long enough that all 500 are running at once
STALE_AFTER = 1.5


def ended() -> dict[int, tuple[str, object]]:
    """deployment id → (state, finished_at) of those that ended."""
    query = Deployment.select(Deployment.id, Deployment.state, Deployment.finished_at).where(
        Deployment.state.in_(["succeeded", "failed", "cancelled"])
    )
    return {d: (state, at) for d, state, at in query.tuples()}


def test_killed_with_500_in_flight_loses_and_doubles_nothing(db, db_path):
    behind_on_line_monitor(DEVICES)
    options = {"latency": LATENCY, "concurrency": DEVICES, "stale_after": STALE_AFTER}
    first = start_engine(str(db_path), **options)
    try:
        wait_for(lambda: count("running") == DEVICES, 60, first)
        # the first ones end while the rest are still reporting progress
        wait_for(lambda: count("succeeded") >= 25, 60, first, step=0.01)
        before = ended()
    finally:
        kill(first)
    after_kill = ended()
    assert count("running") > 0, "killed while deployments were in flight"
    # what had ended before the kill is still ended, the same way, at the same moment
    assert {d: after_kill.get(d) for d in before} == before
    second = start_engine(str(db_path), **options)
    try:
        wait_for(lambda: count("succeeded") == DEVICES, 60, second)
    finally:
        output = stop(second)
    final = ended()
    assert {d: final[d] for d in after_kill} == after_kill, "an ended deployment changed again"
    assert {state for state, _ in final.values()} == {"succeeded"}
    assert_never_overlapped()
    successes = events_per_deployment("deployed to dev-")
    assert len(successes) == DEVICES and set(successes.values()) == {1}, output
    # those that ended before the kill were never started again; the others were, once, after
    # the restarted engine took them over from the dead one
    starts = events_per_deployment(STARTED)
    assert all(starts[d] == 1 for d in after_kill)
    interrupted = set(starts) - set(after_kill)
    assert all(starts[d] == 2 for d in interrupted)
    assert set(events_per_deployment(TAKEN_OVER)) == interrupted
