"""Several `appupdater engine` processes on one rollout, one of them killed with SIGKILL while it
runs deployments: three engines on a real PostgreSQL server, two on a SQLite file. Every
deployment ends succeeded, none runs twice at once, and the dead engine's running deployments
are taken over by the engines still alive."""

from __future__ import annotations

import pytest

from appupdater.store.models import Deployment, EngineInstance
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

DEVICES = 600
LATENCY = 0.5  # seconds per device: the rollout lasts a few seconds
CONCURRENCY = 30  # per engine
STALE_AFTER = 1.5


@pytest.fixture(params=[("postgresql", 3), ("sqlite", 2)], ids=["postgresql-3", "sqlite-2"])
def fleet(request) -> tuple[str, int]:
    """(database location, number of engines): an approved run for 600 devices in it."""
    kind, engines = request.param
    if kind == "postgresql":
        request.getfixturevalue("pg")
        location = request.getfixturevalue("pg_url")
    else:
        request.getfixturevalue("db")
        location = str(request.getfixturevalue("db_path"))
    behind_on_line_monitor(DEVICES)
    return location, engines


def instances() -> dict[int, str]:
    """pid → engine instance id, of the engines registered now."""
    return dict(EngineInstance.select(EngineInstance.pid, EngineInstance.id).tuples())


def running_on(instance: str) -> set[int]:
    query = Deployment.select(Deployment.id).where(
        (Deployment.state == "running") & (Deployment.claimed_by == instance)
    )
    return {d for (d,) in query.tuples()}


def test_an_engine_killed_midway_is_taken_over_by_the_others(fleet):
    location, n = fleet
    engines = [
        start_engine(location, latency=LATENCY, concurrency=CONCURRENCY, stale_after=STALE_AFTER)
        for _ in range(n)
    ]
    victim, survivors = engines[0], engines[1:]
    outputs: list[str] = []
    try:
        wait_for(lambda: {e.pid for e in engines} <= set(instances()), 60, *engines)
        ids = instances()
        dead, alive = ids[victim.pid], {ids[e.pid] for e in survivors}
        # midway: a good part done, and the victim runs deployments right now
        wait_for(
            lambda: count("succeeded") >= DEVICES // 4 and running_on(dead), 60, *engines, step=0.02
        )
        kill(victim)
        orphaned = running_on(dead)  # the dead engine writes nothing more: these stay its own
        assert orphaned, "the engine was killed with deployments running"
        assert count("succeeded") < DEVICES, "killed midway, not at the end"
        wait_for(lambda: count("succeeded") == DEVICES, 60, *survivors)
    finally:
        outputs = [stop(e) for e in engines]
    log = "\n".join(outputs)
    assert Deployment.select().count() == DEVICES
    assert_never_overlapped()
    # each deployment started once, except the dead engine's running ones: started again once
    starts = events_per_deployment(STARTED)
    assert len(starts) == DEVICES
    assert {d: k for d, k in starts.items() if k != 1} == dict.fromkeys(orphaned, 2), log
    # ... after another engine took them over, and that engine ran them to the end
    assert set(events_per_deployment(TAKEN_OVER)) == orphaned, log
    finished_by = dict(
        Deployment.select(Deployment.id, Deployment.claimed_by)
        .where(Deployment.id.in_(sorted(orphaned)))
        .tuples()
    )
    assert set(finished_by.values()) <= alive, finished_by
    # every deployment ended once
    ended = events_per_deployment("deployed to dev-")
    assert len(ended) == DEVICES and set(ended.values()) == {1}
    everyone = {c for (c,) in Deployment.select(Deployment.claimed_by).distinct().tuples()}
    assert alive <= everyone, "every engine still alive took part"
