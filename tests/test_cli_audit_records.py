"""The command line leaves the same audit entries as the windows: `update --yes` (the run's
approval), `pause --run N --reason …`, a `rollback --yes` awaiting approval, the requester's own
`approve` refused and another user's done, each by the OS user (tests/identities.py stands in for a second account) on this host."""

from __future__ import annotations

import json
import platform

from appupdater.core import audit
from appupdater.store.team_models import AuditEntry
from tests.identities import act_as
from tests.test_cli import run
from tests.test_cli_approval import database

__all__ = ["database"]  # a fixture, used by name


def entries() -> list[tuple[str, str, str, str, int | None, str, str]]:
    return [
        (e.action, e.user, e.os_user, e.host, e.run, e.note, e.outcome)
        for e in AuditEntry.select()
        .where(AuditEntry.action != audit.IMPORT)
        .order_by(AuditEntry.id)
    ]


def test_update_pause_and_a_refused_approve_on_the_command_line(capsys, database, monkeypatch):
    host = platform.node()
    code, out, _ = run(capsys, *database, "update", "--app", "line-monitor", "--yes", "--json")
    assert code == 0
    first = json.loads(out)["run"]
    code, _, _ = run(capsys, *database, "pause", "--run", str(first), "--reason", "night shift")
    assert code == 0
    assert entries() == [
        (audit.APPROVE, "alice", "alice", host, first, "", "done"),
        (audit.PAUSE, "alice", "alice", host, first, "night shift", "done"),
    ]

    run(capsys, *database, "policy", "--second-approver", "on")
    code, out, _ = run(capsys, *database, "rollback", "--run", str(first), "--yes", "--json")
    second = json.loads(out)["run"]
    code, _, err = run(capsys, *database, "approve", "--run", str(second))
    assert code != 0
    seen = " ".join(err.split())
    [*_, setting, asked, refused] = entries()
    assert setting[:2] == (audit.SETTINGS, "alice")
    note = f"rollback of run #{first}"
    assert asked == (audit.REQUEST_APPROVAL, "alice", "alice", host, second, note, "done")
    assert refused[:5] == (audit.APPROVE, "alice", "alice", host, second)
    assert refused[6].startswith("refused: you (alice) asked for run")
    assert refused[6][len("refused: ") :] in seen

    act_as(monkeypatch, "bob")
    code, _, _ = run(capsys, *database, "approve", "--run", str(second), "--note", "ok")
    assert code == 0
    assert entries()[-1] == (audit.APPROVE, "bob", "bob", host, second, "ok", "done")
