"""`appupdater status --json`: each deployment's action and its moments (ISO 8601, UTC), read
from deployments brought into their states the way the engine does."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from appupdater.core import attempts, scheduling
from appupdater.core.runs import DEPLOY_NOW, DeviceAction
from appupdater.core.status import status_document
from appupdater.store.models import DeployAction
from tests.core.lifecycle import T0, approve, load_fleet

CLAIMED = T0 + timedelta(minutes=1)
ENDED = T0 + timedelta(minutes=2)
AT = T0 + timedelta(hours=1)
BACKOFF = timedelta(seconds=30)


@pytest.fixture
def states(db):
    """press-01 scheduled for 10:00; press-02 failed once at 09:02 and is retried at 09:02:30;
    press-03 succeeded at 09:02."""
    from appupdater.core.runs import apply_configuration

    load_fleet(versions=3)
    run_id = approve(
        1,
        {
            "press-01": DeviceAction(DeployAction.AT, AT),
            "press-02": DEPLOY_NOW,
            "press-03": DEPLOY_NOW,
        },
        T0,
    )
    apply_configuration(run_id, T0)
    scheduling.heartbeat("engine-a", "host-a", 1, CLAIMED)
    jobs = {job.device: job for job in scheduling.claim("engine-a", CLAIMED, 10)}
    assert set(jobs) == {"press-02", "press-03"}
    attempts.fail(
        jobs["press-02"],
        ENDED,
        "press-02 unreachable",
        transient=True,
        max_attempts=3,
        backoff=BACKOFF,
        events=[],
    )
    attempts.succeed(jobs["press-03"], ENDED, "running 1.1.0", events=[])
    return run_id


def test_each_deployment_has_its_action_and_moments(states):
    by_device = {d["device"]: d for d in status_document()["deployments"]}
    moments = ("action", "scheduled_at", "started_at", "finished_at", "next_attempt_at")
    assert {name: [d[k] for k in moments] for name, d in by_device.items()} == {
        "press-01": ["at", "2026-11-27T10:00:00+00:00", None, None, None],
        "press-02": ["now", None, "2026-11-27T09:01:00+00:00", None, "2026-11-27T09:02:30+00:00"],
        "press-03": [
            "now",
            None,
            "2026-11-27T09:01:00+00:00",
            "2026-11-27T09:02:00+00:00",
            None,
        ],
    }
    assert [by_device[n]["state"] for n in sorted(by_device)] == [
        "scheduled",
        "retrying",
        "succeeded",
    ]
    json.dumps(status_document())  # every value is JSON


def test_the_earlier_keys_stay(states):
    [deployment, *_] = status_document(states)["deployments"]
    assert {"id", "run", "device", "state", "phase", "progress", "attempts", "message"} <= set(
        deployment
    )


def test_times_are_utc_whatever_the_workstation_zone(states, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        by_device = {d["device"]: d for d in status_document()["deployments"]}
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert by_device["press-01"]["scheduled_at"] == "2026-11-27T10:00:00+00:00"
