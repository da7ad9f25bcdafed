"""The second approver on PostgreSQL, where the user is the server's `session_user`: two roles
(SET SESSION AUTHORIZATION) on one workstation's OS user. The requester's own approval is
refused; the other role's approval configures the run and creates its deployments; a rejection
leaves the fleet as it was (skipped where no server exists)."""

from __future__ import annotations

import pytest

from appupdater.core import approvals
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.demo.fleet import load_demo
from appupdater.errors import RunError
from appupdater.store.models import Deployment, DeviceApp, UpdateRun
from tests.identities import act_as

pytestmark = pytest.mark.integration


def become(database, role: str) -> None:
    database.execute_sql(f"SET SESSION AUTHORIZATION {role}")


def fleet():
    configured = [(d.id, d.configured_id) for d in DeviceApp.select().order_by(DeviceApp.id)]
    return configured, Deployment.select().count()


def test_two_postgres_roles_approve_and_reject(pg, monkeypatch):
    act_as(monkeypatch, "shared-login")  # one OS user: the server's user decides
    for role in ("alice", "bob"):
        pg.execute_sql(f"CREATE ROLE {role} LOGIN")
        pg.execute_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        pg.execute_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    load_demo(devices=10, seed=5)
    set_approval_policy(ApprovalPolicy(True), by="admin")
    try:
        become(pg, "alice")
        before = fleet()
        plan = plan_update([Selection("line-monitor")])
        first = create_run(plan, approved_by="alice")
        second = create_run(plan, approved_by="alice")
        assert UpdateRun.get_by_id(first).requested_by == "alice"
        assert apply_configuration(first).approval == "awaiting"
        with pytest.raises(RunError, match=r"you \(alice\) asked for run"):
            approvals.approve(first)
        assert fleet() == before

        become(pg, "bob")
        approvals.reject(second, note="one of them is enough")
        assert fleet() == before
        applied = approvals.approve(first, note="ok")
        assert applied.deployments_created == len(plan.devices())
        run = UpdateRun.get_by_id(first)
        assert (run.approval, run.decided_by) == ("approved", "bob")
        assert fleet() != before
        assert UpdateRun.get_by_id(second).configured_at is None
    finally:
        pg.execute_sql("RESET SESSION AUTHORIZATION")
        for role in ("alice", "bob"):
            pg.execute_sql(f"DROP OWNED BY {role}")
            pg.execute_sql(f"DROP ROLE {role}")
