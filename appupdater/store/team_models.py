"""The team's tables: settings every workstation shares, the audit trail of administrator
actions, and notifications by webhook (their events and delivery attempts).

All times are UTC (`UTCDateTimeField`); the fleet and run tables are in models.py.
"""

from __future__ import annotations

import peewee

from appupdater.store.fields import JSONField, UTCDateTimeField, utcnow
from appupdater.store.models import BaseModel


class TeamSetting(BaseModel):
    """A setting every workstation on this database shares (a team's norms, e.g. the default
    rollout strategy), with who changed it last and when; see core/team_settings.py."""

    name = peewee.CharField(primary_key=True)
    value: JSONField[object] = JSONField(null=True)
    changed_at = UTCDateTimeField(default=utcnow)
    changed_by = peewee.CharField(default="")


class AuditEntry(BaseModel):
    """One administrator action: who (the database's user, the OS user, the host), when, what,
    on which objects, with an optional note and its outcome. Append-only: written only by
    core/audit.record, never updated or deleted (see docs/audit.md). `run` is a plain number,
    not a foreign key, so an entry outlives the run it names."""

    id = peewee.AutoField()
    at = UTCDateTimeField(default=utcnow, index=True)
    user = peewee.CharField()
    os_user = peewee.CharField(default="")
    host = peewee.CharField(default="")
    action = peewee.CharField()
    # {"runs": [12], "deployments": [3, 4], "devices": ["edge-01"], "file": ["fleet.yaml"], ...}
    objects: JSONField[dict[str, list[int | str]]] = JSONField(default=dict)
    run = peewee.IntegerField(null=True, index=True)  # the run to open in the overview
    note = peewee.TextField(default="")
    outcome = peewee.CharField(default="done")  # "done", or "refused: <why>"

    class Meta:
        indexes = (
            (("user", "at"), False),
            (("action", "at"), False),
        )


# -- schema 14: notifications by webhook (core/webhooks.py, core/notifications.py) -------------


class Webhook(BaseModel):
    """A URL told about runs (docs/webhooks.md). `secret` signs the bodies: stored, never shown
    back in full nor logged. Removing one keeps its row (`removed_at`), so its deliveries stay
    readable."""

    id = peewee.AutoField()
    url = peewee.TextField()
    secret = peewee.TextField(null=True)
    events: JSONField[list[str]] = JSONField(default=list)  # `EventKind` values subscribed
    created_at = UTCDateTimeField(default=utcnow)
    created_by = peewee.CharField(default="")
    removed_at = UTCDateTimeField(null=True)
    removed_by = peewee.CharField(null=True)


class WebhookEvent(BaseModel):
    """One event to deliver to one webhook, created once (insert-or-ignore on its key, so two
    engines that see the same thing make one row) and sent at most once: a sender claims it
    with a conditional update on `claim`, as engines claim deployments."""

    id = peewee.AutoField()
    webhook = peewee.ForeignKeyField(Webhook, backref="deliveries", on_delete="CASCADE")
    kind = peewee.CharField()
    run = peewee.IntegerField(null=True)
    # what makes it one event: "" for once per run, the pause time, the failures' minute
    key = peewee.CharField(default="")
    body: JSONField[dict[str, object]] = JSONField(default=dict)
    created_at = UTCDateTimeField(default=utcnow)
    state = peewee.CharField(default="pending")  # pending | sending | delivered | failed
    attempts = peewee.IntegerField(default=0)
    next_attempt_at = UTCDateTimeField(default=utcnow)
    claim = peewee.BigIntegerField(default=0)
    claimed_by = peewee.CharField(null=True)
    claimed_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = (
            (("webhook", "kind", "run", "key"), True),
            (("state", "next_attempt_at"), False),
        )


class WebhookAttempt(BaseModel):
    """One try to deliver an event: when, the HTTP status (None: no answer) or the error, how
    long it took."""

    id = peewee.AutoField()
    event = peewee.ForeignKeyField(WebhookEvent, backref="tries", on_delete="CASCADE")
    at = UTCDateTimeField(default=utcnow)
    status = peewee.IntegerField(null=True)
    error = peewee.TextField(default="")
    duration_ms = peewee.IntegerField(default=0)

    class Meta:
        indexes = ((("event", "at"), False),)
