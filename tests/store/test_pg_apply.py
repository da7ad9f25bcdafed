"""Two connections applying one run's configuration at once on PostgreSQL: one applies it,
the other skips it without waiting, and each deployment is created and logged once."""

from __future__ import annotations

import threading

import pytest

import appupdater.core.runs as runs
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.models import Deployment, DeploymentEvent, UpdateRun
from tests.helpers import CATALOG, load_yaml

pytestmark = pytest.mark.integration


def test_a_second_connection_skips_a_run_being_applied(pg, monkeypatch):
    lines = "".join(
        f"  - {{name: dev-{i}, applications: {{line-monitor: "
        f"{{configured: '1.0.0', installed: '1.0.0'}}}}}}\n"
        for i in range(5)
    )
    load_yaml(CATALOG + "devices:\n" + lines)
    run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="test")
    inside, release = threading.Event(), threading.Event()
    log_creation = runs.log_creation

    def held(*args, **kwargs):
        log_creation(*args, **kwargs)
        if threading.current_thread().name == "first":
            inside.set()
            assert release.wait(30)

    monkeypatch.setattr(runs, "log_creation", held)
    results: dict[str, runs.Applied] = {}

    def apply(name: str) -> None:
        with pg.connection_context():
            results[name] = apply_configuration(run_id)

    first = threading.Thread(target=apply, args=("first",), name="first")
    first.start()
    assert inside.wait(30)
    second = threading.Thread(target=apply, args=("second",), name="second")
    second.start()
    second.join(5)
    skipped_without_waiting = not second.is_alive()
    release.set()
    first.join(30)
    second.join(30)
    assert skipped_without_waiting, "the second connection waited for the first"
    assert results["first"].deployments_created == 5
    assert results["second"].already_applied
    assert Deployment.select().count() == 5
    created = DeploymentEvent.select().where(
        DeploymentEvent.message.startswith("configuration updated; deployment created")
    )
    assert created.count() == 5
    assert UpdateRun.get_by_id(run_id).configured_at is not None
