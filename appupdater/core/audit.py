"""The audit trail: who did what, when, from where (docs/audit.md).

Every administrator action calls `record` INSIDE its own write transaction, so the entry and the
action commit or roll back together. Entries are append-only: `record` is the one place that
writes `AuditEntry` (tests/core/test_audit_append_only.py checks the code for any other)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from appupdater.core.identity import who
from appupdater.store.fields import utcnow
from appupdater.store.models import AuditEntry

# Action names, as stored (stable: filters and `appupdater audit --action` use them).
APPROVE = "approve"
REQUEST_APPROVAL = "request approval"
REJECT = "reject"
EXPIRE = "expire"
CANCEL = "cancel"
RETRY = "retry"
DEPLOY_NOW = "deploy now"
RESCHEDULE = "reschedule"
PAUSE = "pause"
RESUME = "resume"
ABORT = "abort"
NEXT_WAVE = "next wave"
ROLLBACK = "rollback"
IMPORT = "import"
EXPORT = "export"
CONNECTION = "connection"
SETTINGS = "settings"
WEBHOOK_ADD = "webhook add"
WEBHOOK_REMOVE = "webhook remove"

ACTIONS: tuple[str, ...] = (
    APPROVE,
    REQUEST_APPROVAL,
    REJECT,
    EXPIRE,
    CANCEL,
    RETRY,
    DEPLOY_NOW,
    RESCHEDULE,
    PAUSE,
    RESUME,
    ABORT,
    NEXT_WAVE,
    ROLLBACK,
    IMPORT,
    EXPORT,
    CONNECTION,
    SETTINGS,
    WEBHOOK_ADD,
    WEBHOOK_REMOVE,
)

DONE = "done"
REFUSED = "refused"  # an outcome "refused: <why>" starts with it


def refused(why: str) -> str:
    """The outcome of an action that was refused as a whole, e.g. "refused: already finished"."""
    return f"{REFUSED}: {why}"


def record(
    action: str,
    *,
    objects: Mapping[str, Sequence[int | str]] | None = None,
    note: str = "",
    run: int | None = None,
    outcome: str = DONE,
    now: datetime | None = None,
) -> None:
    """Append one entry for `action` by the acting user (identity.who()). Call it inside the
    action's write transaction. `objects` names what it touched: {"runs": [12],
    "deployments": [3, 4], "devices": ["edge-01"], …}; `run` is the run the entry links to."""
    acting = who()
    AuditEntry.insert(
        at=now or utcnow(),
        user=acting.user,
        os_user=acting.os_user,
        host=acting.host,
        action=action,
        objects={name: list(values) for name, values in (objects or {}).items()},
        run=run,
        note=note,
        outcome=outcome,
    ).execute()
