"""On PostgreSQL the audit trail's user is the server's `session_user` — the role the
workstation logged in as — with the OS user beside it: two roles on one OS user are told apart
(skipped where no server exists)."""

from __future__ import annotations

import pytest

from appupdater.core import approvals, audit
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.core.team_settings import ApprovalPolicy, set_approval_policy
from appupdater.demo.fleet import load_demo
from appupdater.errors import RunError
from appupdater.store.team_models import AuditEntry
from tests.identities import act_as
from tests.store.test_pg_approval import become

pytestmark = pytest.mark.integration


def test_the_user_recorded_is_the_session_user(pg, monkeypatch):
    act_as(monkeypatch, "shared-login")
    for role in ("audit_alice", "audit_bob"):
        pg.execute_sql(f"CREATE ROLE {role} LOGIN")
        pg.execute_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        pg.execute_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    load_demo(devices=5, seed=5)
    set_approval_policy(ApprovalPolicy(True), by="admin")
    try:
        become(pg, "audit_alice")
        run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="audit_alice")
        with pytest.raises(RunError):
            approvals.approve(run_id)
        become(pg, "audit_bob")
        approvals.approve(run_id, note="ok")
        query = AuditEntry.select().where(AuditEntry.run == run_id).order_by(AuditEntry.id)
        found = [(e.action, e.user, e.os_user, e.outcome[:8]) for e in query]
        assert found == [
            (audit.REQUEST_APPROVAL, "audit_alice", "shared-login", "done"),
            (audit.APPROVE, "audit_alice", "shared-login", "refused:"),
            (audit.APPROVE, "audit_bob", "shared-login", "done"),
        ]
    finally:
        pg.execute_sql("RESET SESSION AUTHORIZATION")
        for role in ("audit_alice", "audit_bob"):
            pg.execute_sql(f"DROP OWNED BY {role}")
            pg.execute_sql(f"DROP ROLE {role}")
