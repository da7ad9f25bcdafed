"""What a deployment of a run approved by a second person pushes when an import changed the
device's configuration after the approval (core/approved_config.py, through load_jobs): the
approved configuration, the import's change waiting; nothing else changes for other runs."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core import approvals
from appupdater.core.jobs import load_jobs
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.store.fields import utcnow
from appupdater.store.models import Deployment
from tests.helpers import CATALOG, load_yaml
from tests.identities import act_as


def devices(gateway: str, monitor: str = "1.0.0") -> str:
    return CATALOG + (
        "devices:\n"
        "  - {name: press-01, applications: {"
        f"line-monitor: {{configured: '{monitor}', installed: '1.0.0'}}, "
        f"edge-gateway: {{configured: '{gateway}', installed: '3.9'}}}}}}\n"
    )


@pytest.fixture
def fleet(db):
    load_yaml(devices("3.9"))


def _run(monkeypatch, version: str, policy: bool) -> int:
    if policy:
        set_approval_policy(ApprovalPolicy(True, timedelta(hours=24)), by="admin", now=utcnow())
    act_as(monkeypatch, "alice")
    run_id = create_run(plan_update([Selection("line-monitor", version)]), approved_by="alice")
    if policy:
        act_as(monkeypatch, "bob")
        approvals.approve(run_id)  # applies its configuration
    else:
        apply_configuration(run_id)
    return run_id


def pushed(run_id: int):
    [deployment] = Deployment.select().where(Deployment.run == run_id)
    [job] = load_jobs([deployment.id], "engine-a")
    return {app.application: app.version for app in job.config}, job.waits, job.along


def test_an_import_after_the_approval_is_left_out_and_named(fleet, monkeypatch):
    run_id = _run(monkeypatch, "2.0.0", policy=True)
    load_yaml(devices("3.10", monitor="2.0.0"), file="later.yaml")
    config, waits, along = pushed(run_id)
    assert config == {"edge-gateway": "3.9", "line-monitor": "2.0.0"}
    assert waits == ("edge-gateway 3.10 (import of later.yaml)",)
    assert along == ()


def test_without_a_second_approver_the_import_rides_and_is_said(fleet, monkeypatch):
    run_id = _run(monkeypatch, "2.0.0", policy=False)
    load_yaml(devices("3.10", monitor="2.0.0"), file="later.yaml")
    config, waits, along = pushed(run_id)
    assert config == {"edge-gateway": "3.10", "line-monitor": "2.0.0"}
    assert waits == () and along == ("edge-gateway 3.9 → 3.10",)


def test_an_import_before_the_request_was_reviewed_and_rides(fleet, monkeypatch):
    """Configured before the request: the review listed it as also pushed, the approver saw
    it."""
    load_yaml(devices("3.10"), file="earlier.yaml")
    run_id = _run(monkeypatch, "2.0.0", policy=True)
    config, waits, along = pushed(run_id)
    assert config == {"edge-gateway": "3.10", "line-monitor": "2.0.0"}
    assert waits == () and along == ("edge-gateway 3.9 → 3.10",)


def test_a_later_approved_run_carries_the_import(fleet, monkeypatch):
    """Retried after a later approved run (whose review showed the import) configured the
    device: the deployment pushes that run's configuration, never an older one."""
    first = _run(monkeypatch, "1.5.0", policy=True)
    load_yaml(devices("3.10", monitor="1.5.0"), file="later.yaml")
    second = _run(monkeypatch, "2.0.0", policy=True)
    assert Deployment.get(Deployment.run == first).state == "cancelled"  # superseded
    config, waits, _ = pushed(first)
    assert config == {"edge-gateway": "3.10", "line-monitor": "2.0.0"}
    assert waits == ()
    assert pushed(second)[:2] == (config, ())
