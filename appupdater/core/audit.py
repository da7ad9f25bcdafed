"""The audit trail: who did what, when, from where (docs/audit.md).

Every administrator action calls `record` INSIDE its own write transaction, so the entry and the
action commit or roll back together. Entries are append-only: `record` is the one place that
writes `AuditEntry` (tests/core/test_audit_append_only.py checks the code for any other)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Protocol

from peewee import chunked

from appupdater.core.identity import who
from appupdater.errors import AppUpdaterError
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.models import Deployment, Device
from appupdater.store.rows import tuples
from appupdater.store.team_models import AuditEntry


class Restoring(Protocol):
    """What an entry reads of a plan: whether it restores (a rollback or a revert)."""

    @property
    def reason(self) -> str | None: ...
    @property
    def rollback_of(self) -> int | None: ...


Objects = Mapping[str, Sequence[int | str]]
CHUNK = 900  # ids per query (SQLite limits the variables of one statement)
OUTCOME_LENGTH = 255  # the column's width (a CharField): a longer message is shortened

log = logging.getLogger("appupdater")

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
    """The outcome of an action that was refused as a whole, e.g. "refused: already finished"
    (a long message shortened to what the column holds)."""
    text = f"{REFUSED}: {' '.join(why.split())}"
    return text if len(text) <= OUTCOME_LENGTH else text[: OUTCOME_LENGTH - 1] + "…"


def record(
    action: str,
    *,
    objects: Objects | None = None,
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


def record_refusal(
    action: str,
    why: str,
    *,
    objects: Objects | None = None,
    note: str = "",
    run: int | None = None,
    now: datetime | None = None,
) -> None:
    """Append a refused action's entry in its own small transaction: call it after the
    action's own transaction rolled back, so only the refusal is kept. Best effort: when the
    database cannot take it (locked, read-only, a role without INSERT), it is logged and the
    caller's own error — what the person must read — goes on."""
    try:
        with writing():
            record(action, objects=objects, note=note, run=run, outcome=refused(why), now=now)
    except Exception:  # best effort: the person is told why they were refused, not this
        log.warning("the refusal of %r could not be recorded (%s)", action, why, exc_info=True)


@contextmanager
def refusing(
    action: str,
    *,
    objects: Objects | None = None,
    note: str = "",
    run: int | None = None,
    now: datetime | None = None,
) -> Iterator[None]:
    """Around an action (outside its transaction): an `AppUpdaterError` it raises — what the
    person is told — is recorded as the action refused, then raised on."""
    try:
        yield
    except AppUpdaterError as exc:
        record_refusal(action, str(exc), objects=objects, note=note, run=run, now=now)
        raise


def deployment_objects(ids: Iterable[int]) -> tuple[dict[str, list[int | str]], int | None]:
    """What an entry about deployments names: the deployments, their devices and runs; and the
    run to link to when they all belong to one."""
    ids = sorted(set(ids))
    rows = [
        row
        for batch in chunked(ids, CHUNK)
        for row in tuples(
            Deployment.select(Deployment.run, Device.name)
            .join(Device)
            .where(Deployment.id.in_(batch)),
            tuple[int, str],
        )
    ]
    runs = sorted({run for run, _ in rows})
    names = sorted({name for _, name in rows})
    objects: dict[str, list[int | str]] = {
        "runs": list(runs),
        "deployments": list(ids),
        "devices": list(names),
    }
    return objects, runs[0] if len(runs) == 1 else None


def record_new_run(
    run_id: int,
    awaiting: bool,
    note: str,
    plan: Restoring,
    devices: Sequence[str] = (),
    now: datetime | None = None,
) -> None:
    """The entry of a run just recorded (inside `create_run`'s transaction): the request for
    approval when it awaits a second person; else its approval, which recording it is — a
    rollback or a revert (`reason` set: "rollback of run #12") as ROLLBACK, naming what it
    rolls back (the run; a revert's device)."""
    reason, rollback_of = plan.reason, plan.rollback_of
    action = REQUEST_APPROVAL if awaiting else ROLLBACK if reason else APPROVE
    objects: dict[str, list[int | str]] = {"runs": [run_id]}
    if rollback_of is not None:
        objects["runs"].append(rollback_of)
    elif reason:
        objects["devices"] = list(devices)
    shown = "; ".join(part for part in (reason, note.strip()) if part)
    record(action, objects=objects, note=shown, run=run_id, now=now)
