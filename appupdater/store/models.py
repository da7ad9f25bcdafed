"""The peewee models: the single description of the schema.

All times are UTC (`UTCDateTimeField`). State enums live beside the model that uses them.
The `id = peewee.AutoField()` lines declare the primary key peewee would add anyway (same
column, same place), so that the type checker knows about `Model.id`.
"""

from __future__ import annotations

import enum

import peewee

from appupdater.store.fields import JSONField, UTCDateTimeField, utcnow

db = peewee.DatabaseProxy()

LabelValue = str | int | float | bool
Labels = dict[str, LabelValue]


class BaseModel(peewee.Model):
    class Meta:
        database = db
        legacy_table_names = False


class SchemaInfo(BaseModel):
    """One row: the schema version this database was last migrated to."""

    id = peewee.AutoField()
    version = peewee.IntegerField()
    written_by = peewee.CharField()
    migrated_at = UTCDateTimeField(default=utcnow)


class Application(BaseModel):
    """A named product, e.g. ``line-monitor``."""

    id = peewee.AutoField()
    name = peewee.CharField(unique=True)
    description = peewee.TextField(default="")


class AppVersion(BaseModel):
    """One release of an application; its modules are `Module` rows."""

    id = peewee.AutoField()
    application = peewee.ForeignKeyField(Application, backref="versions", on_delete="CASCADE")
    version = peewee.CharField()
    released_at = UTCDateTimeField(null=True)

    class Meta:
        indexes = ((("application", "version"), True),)


class Module(BaseModel):
    """One part of an application version (container, service) with its own version."""

    id = peewee.AutoField()
    app_version = peewee.ForeignKeyField(AppVersion, backref="modules", on_delete="CASCADE")
    position = peewee.IntegerField()
    name = peewee.CharField()
    version = peewee.CharField()
    image = peewee.TextField(default="")
    # what a device agent downloads: a .tar.gz and its SHA-256 (hex)
    artifact_url = peewee.TextField(null=True)
    artifact_sha256 = peewee.CharField(null=True)

    class Meta:
        indexes = ((("app_version", "name"), True),)


class Device(BaseModel):
    """One managed machine."""

    id = peewee.AutoField()
    name = peewee.CharField(unique=True)
    site = peewee.CharField(default="", index=True)
    labels: JSONField[Labels] = JSONField(default=dict)
    endpoint = peewee.TextField(null=True)  # https://host:port of its agent; none: simulated
    tls_ca_file = peewee.TextField(null=True)  # CA to verify the agent's certificate with
    tls_fingerprint = peewee.CharField(null=True)  # or its pinned SHA-256 fingerprint (hex)
    token = peewee.TextField(null=True)  # the agent's bearer token: never shown or exported
    online = peewee.BooleanField(default=True)
    last_seen_at = UTCDateTimeField(null=True)
    # the number of its newest `ConfigRevision` (0: none yet); bumped with every new revision
    config_revision = peewee.IntegerField(default=0)


class DeviceApp(BaseModel):
    """A device's configured (desired) and installed (reported) version of one application."""

    id = peewee.AutoField()
    device = peewee.ForeignKeyField(Device, backref="apps", on_delete="CASCADE")
    application = peewee.ForeignKeyField(Application, on_delete="CASCADE")
    configured = peewee.ForeignKeyField(AppVersion, null=True, on_delete="RESTRICT")
    installed = peewee.ForeignKeyField(AppVersion, null=True, on_delete="RESTRICT")

    class Meta:
        indexes = (
            (("device", "application"), True),
            (("application", "configured"), False),
        )


class UpdateRun(BaseModel):
    """One approved pass of the wizard. Its progress status is derived from its deployments;
    what people decided (paused, resumed, aborted) is stored here once, with who and when."""

    id = peewee.AutoField()
    approved_by = peewee.CharField()
    approved_at = UTCDateTimeField(default=utcnow, index=True)
    configured_at = UTCDateTimeField(null=True)  # when its configuration changes were applied
    note = peewee.TextField(default="")
    # in waves (see core/waves.py and docs/waves.md); None: all at once. {"spec": "1,10%,rest",
    # "waves": [device counts per wave], "soak_minutes": 10, "max_failures_percent": 10}
    strategy: JSONField[dict[str, object] | None] = JSONField(null=True)
    open_wave = peewee.IntegerField(null=True)  # the highest wave opened so far (1-based)
    wave_opened_at = UTCDateTimeField(null=True)
    # failed deployments the administrator accepted by resuming: the limit pauses again only
    # when more fail
    accepted_failures = peewee.IntegerField(default=0)
    paused_at = UTCDateTimeField(null=True)
    paused_by = peewee.CharField(null=True)  # a person, or "failure limit"
    pause_reason = peewee.TextField(null=True)
    resumed_at = UTCDateTimeField(null=True)
    resumed_by = peewee.CharField(null=True)
    aborted_at = UTCDateTimeField(null=True)
    aborted_by = peewee.CharField(null=True)
    # a rollback run: the run it undoes (see core/rollback.py and docs/rollback.md)
    rollback_of = peewee.IntegerField(null=True)
    # why a restoring run (a rollback, a revert) changes configurations: "rollback of run #12",
    # "revert to revision 3", written into its revisions; None for an ordinary run ("run #N").
    # Only a run with a reason may set a configuration to an earlier version.
    reason = peewee.TextField(null=True)
    # schema 13, the second approver (core/approvals.py, docs/approval.md). `approval` None: the
    # team asks for no second approver, so recording the run was its approval (approved_by/at).
    # Otherwise an `Approval` value. `requested_by`/`requested_at`: who asked (identity.who().user
    # of the wizard or `update --yes`), the one person who may never decide it; `expires_at`:
    # when an undecided request expires (requested_at + the team's expiry); `decided_by`/
    # `decided_at`/`decision_note`: who approved or rejected it (a rejection needs a note), or
    # "expired" and when. Only a run with approval None or "approved" is ever configured.
    approval = peewee.CharField(null=True)
    requested_by = peewee.CharField(null=True)
    requested_at = UTCDateTimeField(null=True)
    decided_by = peewee.CharField(null=True)
    decided_at = UTCDateTimeField(null=True)
    decision_note = peewee.TextField(null=True)
    expires_at = UTCDateTimeField(null=True)


class Approval(enum.StrEnum):
    """Where a run stands with the second approver (`UpdateRun.approval`)."""

    AWAITING = "awaiting"  # recorded; nothing configured or deployed, no engine touches it
    APPROVED = "approved"  # by a person other than the requester; its configuration is applied
    REJECTED = "rejected"  # by a person other than the requester, with a note; never applied
    EXPIRED = "expired"  # not decided before `expires_at`; never applied


# A run in one of these is never configured (see core/approvals.py).
NOT_APPROVED = (Approval.AWAITING, Approval.REJECTED, Approval.EXPIRED)


class RunApplication(BaseModel):
    """Which application a run moves to which version."""

    id = peewee.AutoField()
    run = peewee.ForeignKeyField(UpdateRun, backref="applications", on_delete="CASCADE")
    application = peewee.ForeignKeyField(Application, on_delete="RESTRICT")
    to_version = peewee.ForeignKeyField(AppVersion, on_delete="RESTRICT")

    class Meta:
        indexes = ((("run", "application"), True),)


class DeployAction(enum.StrEnum):
    """What happens after a device's configuration is updated (wording from the seed)."""

    NONE = "none"  # Do not deploy the update
    NOW = "now"  # Deploy the update now
    AT = "at"  # Deploy the update at a specified time


class Target(BaseModel):
    """One (run, device, application): from/to versions and the device's deployment action."""

    id = peewee.AutoField()
    run = peewee.ForeignKeyField(UpdateRun, backref="targets", on_delete="CASCADE")
    device = peewee.ForeignKeyField(Device, on_delete="CASCADE")
    application = peewee.ForeignKeyField(Application, on_delete="RESTRICT")
    from_version = peewee.ForeignKeyField(AppVersion, null=True, on_delete="RESTRICT")
    to_version = peewee.ForeignKeyField(AppVersion, on_delete="RESTRICT")
    # what the device reported it ran when the run was approved (None: nothing reported); a
    # deployment takes the device from there, whatever the configuration said
    installed_version = peewee.ForeignKeyField(AppVersion, null=True, on_delete="RESTRICT")
    action = peewee.CharField(choices=[(a.value, a.name) for a in DeployAction])
    scheduled_at = UTCDateTimeField(null=True)
    wave = peewee.IntegerField(null=True)  # 1-based; None: all at once, or not deploy-now
    # a restoring run's: the device's configuration revision it was planned from (the
    # configuration step skips the device when that is no longer its newest), and why the step
    # skipped the device (None: not skipped)
    from_revision = peewee.IntegerField(null=True)
    skipped = peewee.TextField(null=True)

    class Meta:
        indexes = (
            (("run", "device", "application"), True),
            (("device",), False),
        )


class DeploymentState(enum.StrEnum):
    HELD = "held"  # its wave has not opened yet, or its run is paused
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (
            DeploymentState.SUCCEEDED,
            DeploymentState.FAILED,
            DeploymentState.CANCELLED,
        )


# Waiting for a worker or a time; with `running`, the states of work not yet ended.
WAITING_STATES = (
    DeploymentState.HELD,
    DeploymentState.SCHEDULED,
    DeploymentState.QUEUED,
    DeploymentState.RETRYING,
)
OPEN_STATES = (*WAITING_STATES, DeploymentState.RUNNING)


class DeploymentPhase(enum.StrEnum):
    CONNECTING = "connecting"
    DOWNLOADING = "downloading"
    INSTALLING = "installing"
    VERIFYING = "verifying"


class Deployment(BaseModel):
    """One (run, device) push of the device's whole configuration."""

    id = peewee.AutoField()
    run = peewee.ForeignKeyField(UpdateRun, backref="deployments", on_delete="CASCADE")
    device = peewee.ForeignKeyField(Device, on_delete="CASCADE")
    state = peewee.CharField(choices=[(s.value, s.name) for s in DeploymentState])
    wave = peewee.IntegerField(null=True)  # its target's wave; None: all at once, or scheduled
    phase = peewee.CharField(null=True)
    progress = peewee.IntegerField(default=0)
    attempts = peewee.IntegerField(default=0)
    created_at = UTCDateTimeField(default=utcnow)
    scheduled_at = UTCDateTimeField(null=True)
    started_at = UTCDateTimeField(null=True)
    finished_at = UTCDateTimeField(null=True)
    next_attempt_at = UTCDateTimeField(null=True)
    updated_at = UTCDateTimeField(default=utcnow)
    # the `ChangeCounter` value of the transaction that last wrote the row: what pollers ask
    # for "changed since" (see appupdater/store/revisions.py)
    revision = peewee.BigIntegerField(default=0)
    claimed_by = peewee.CharField(null=True)  # which engine instance runs it
    # bumped by every claim: each attempt's writes are conditional on it (see core/attempts.py)
    claim = peewee.BigIntegerField(default=0)
    cancel_requested = peewee.BooleanField(default=False)  # seen by the worker, in any process
    last_message = peewee.TextField(default="")

    class Meta:
        indexes = (
            (("run", "device"), True),
            (("state", "scheduled_at"), False),
            (("state", "next_attempt_at"), False),
            (("device", "state"), False),
            (("run", "state"), False),
            (("run", "wave", "state"), False),
            (("revision",), False),
        )


class DeploymentEvent(BaseModel):
    """One line of a deployment's event log."""

    id = peewee.AutoField()
    deployment = peewee.ForeignKeyField(Deployment, backref="events", on_delete="CASCADE")
    at = UTCDateTimeField(default=utcnow)
    level = peewee.CharField(default="info")
    message = peewee.TextField()

    class Meta:
        indexes = ((("deployment", "at"), False),)


class EngineInstance(BaseModel):
    """A running engine (this app, another instance, `appupdater engine`) and its heartbeat;
    a deployment claimed by an instance whose heartbeat stopped was interrupted. Other engines
    judge it by `beat`, a counter it bumps on every step, timed on their own monotonic clocks:
    `heartbeat_at` is its own wall clock, shown, never compared (see core/liveness.py)."""

    id = peewee.CharField(primary_key=True)
    host = peewee.CharField()
    pid = peewee.IntegerField()
    started_at = UTCDateTimeField(default=utcnow)
    heartbeat_at = UTCDateTimeField(default=utcnow, index=True)
    beat = peewee.BigIntegerField(default=0)


class ConfigRevision(BaseModel):
    """One numbered, immutable version of a device's whole configured map, with who, when and
    why (see store/config_revisions.py). Numbers count 1, 2, … per device; `Device.config_revision`
    is the newest. `configured` maps application id (text, as JSON keys are) to version id."""

    id = peewee.AutoField()
    device = peewee.ForeignKeyField(Device, on_delete="CASCADE")
    number = peewee.IntegerField()
    replaced = peewee.IntegerField(null=True)  # the number before it; None for revision 1
    at = UTCDateTimeField(default=utcnow)
    by = peewee.CharField(default="")
    reason = peewee.TextField(default="")  # "run #12", "import of fleet.yaml", "migrated", …
    run = peewee.IntegerField(null=True, index=True)  # the run whose configuration step made it
    configured: JSONField[dict[str, int]] = JSONField(default=dict)

    class Meta:
        indexes = ((("device", "number"), True),)


class ChangeCounter(BaseModel):
    """Counters bumped inside write transactions; see appupdater/store/revisions.py."""

    name = peewee.CharField(primary_key=True)
    value = peewee.BigIntegerField(default=0)


# -- schema 11: health and drift as the periodic probe finds them (core/devices.py) -------------


class Health(enum.StrEnum):
    """A device's health in one word: the worst of its modules' (see core/devices.py)."""

    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"  # a module's health hook failed, or it did not start
    UNKNOWN = "unknown"  # a module without a health hook, or without an answer


class DeviceHealth(BaseModel):
    """What the newest answering probe of a device found: its active modules and their health,
    and its drift. One row per device that answered a probe (none: never probed)."""

    device = peewee.ForeignKeyField(Device, primary_key=True, on_delete="CASCADE")
    # module -> {"version": active version, "health": "healthy" | "unknown" | "unhealthy…"}
    modules: JSONField[dict[str, dict[str, str]]] = JSONField(default=dict)
    health = peewee.CharField(choices=[(h.value, h.name) for h in Health], index=True)
    # one line per module, the unhealthy first: "web-ui 2.0.0: unhealthy after 60 s: refused"
    detail = peewee.TextField(default="")
    at = UTCDateTimeField()
    # what runs differs from what it ran as configured ("line-monitor runs 1.0.0, configured
    # 2.0.0"); None: it runs its configuration, or it was never deployed to
    drift = peewee.TextField(null=True, index=True)
