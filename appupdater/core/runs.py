"""Recording an approved update run, and applying its configuration changes.

`create_run` writes the run, its targets and its audit entry in one transaction.
`apply_configuration` then sets each target device's configured version and creates its
deployment (queued for *now*, held for *now* in a wave not yet open, scheduled for *at a time*,
none for *do not deploy*); it runs once per run, so calling it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

import peewee

from appupdater.core import approvals, audit, rollout
from appupdater.core.catalog import load_catalog
from appupdater.core.pending import supersede
from appupdater.core.planning import Plan
from appupdater.core.run_log import log_creation
from appupdater.core.run_revisions import (
    TargetRow,
    moved_past_targets,
    moved_since_planned,
    write_run_revisions,
)
from appupdater.core.waves import Strategy, resolve_waves, stored_strategy
from appupdater.errors import RunError
from appupdater.heap import gc_paused
from appupdater.store.bulk import insert_rows, is_postgres, update_rows
from appupdater.store.config_revisions import lock_devices
from appupdater.store.db import writing
from appupdater.store.fields import to_db_time, utcnow
from appupdater.store.models import (
    NOT_APPROVED,
    Approval,
    DeployAction,
    Deployment,
    DeploymentState,
    DeviceApp,
    RunApplication,
    Target,
    UpdateRun,
)
from appupdater.store.revisions import next_revision
from appupdater.store.rows import one, tuples


@dataclass(frozen=True)
class DeviceAction:
    """A device's deployment action; `at` (aware) only for `DeployAction.AT`."""

    action: DeployAction
    at: datetime | None = None

    def __post_init__(self) -> None:
        if (self.action is DeployAction.AT) != (self.at is not None):
            raise ValueError("a time is given exactly when the action is AT")
        if self.at is not None and self.at.tzinfo is None:
            raise ValueError("deployment times must be timezone-aware")


# The columns of a target row, in the order `create_run` writes them.
TARGET_FIELDS = (
    Target.run,
    Target.device,
    Target.application,
    Target.from_version,
    Target.to_version,
    Target.installed_version,
    Target.action,
    Target.scheduled_at,
    Target.wave,
)

DEPLOY_NOW = DeviceAction(DeployAction.NOW)
CONFIG_ONLY = DeviceAction(DeployAction.NONE)


def validate_actions(
    plan: Plan, actions: Mapping[int, DeviceAction], now: datetime | None = None
) -> None:
    """Raise `RunError` naming every device whose deployment time is not in the future."""
    now = now or utcnow()
    names = {d.id: d.name for d in plan.devices()}
    late = [
        (names.get(device_id, f"device #{device_id}"), action.at)
        for device_id, action in actions.items()
        if action.at is not None and action.at <= now
    ]
    if late:
        shown = ", ".join(f"{name} ({_local(at)})" for name, at in late[:5])
        more = f" and {len(late) - 5} more" if len(late) > 5 else ""
        raise RunError(
            f"The deployment time is in the past for {shown}{more}: choose a time after "
            f"{_local(now)} (times in the workstation's local time)."
        )


def _local(moment: datetime) -> str:
    """A moment as people here read it: local time, to the minute."""
    return f"{moment.astimezone():%Y-%m-%d %H:%M}"


def create_run(
    plan: Plan,
    actions: Mapping[int, DeviceAction] | None = None,
    *,
    approved_by: str,
    devices: Iterable[int] | None = None,
    default: DeviceAction = DEPLOY_NOW,
    note: str = "",
    now: datetime | None = None,
    strategy: Strategy | None = None,
    waves: Mapping[int, int] | None = None,
) -> int:
    """Record an approved run of `plan` for `devices` (default: all affected) and return its id.
    With the team's second approver on, the run is recorded awaiting approval (see
    core/approvals.py): `apply_configuration` leaves it alone until another person approves it.

    `actions` maps device id to its action; devices not in it get `default`. With a `strategy`
    the deploy-now devices go in waves: `waves` maps each to its wave (1-based), or, without
    it, they fill the strategy's waves in the targets' order. Everything is written in one
    transaction, or nothing is.
    """
    actions = dict(actions or {})
    chosen = set(devices) if devices is not None else None
    targets = [t for t in plan.targets if chosen is None or t.device.id in chosen]
    if not targets:
        raise RunError("no devices selected: nothing to update")
    now = now or utcnow()
    chosen_actions = {t.device.id: actions.get(t.device.id, default) for t in targets}
    validate_actions(plan, chosen_actions, now)
    names = {t.device.id: t.device.name for t in targets}
    deploy_now = {d for d in names if chosen_actions[d].action is DeployAction.NOW}
    wave_of = resolve_waves(names, deploy_now, strategy, waves)
    stored = stored_strategy(strategy, wave_of)
    asked = approvals.request(now)
    with gc_paused(), writing():
        run = UpdateRun.create(
            approved_by=approved_by,
            approved_at=now,
            note=note,
            strategy=stored,
            rollback_of=plan.rollback_of,
            reason=plan.reason,
            **(asked.columns() if asked else {}),
        )
        RunApplication.insert_many(
            [(run.id, app.id, version.id) for app, version in plan.selections],
            fields=[RunApplication.run, RunApplication.application, RunApplication.to_version],
        ).execute()
        cache: dict[DeviceAction, tuple[str, str | None]] = {}
        rows = []
        for t in targets:
            action = chosen_actions[t.device.id]
            kept = cache.get(action)
            if kept is None:
                kept = cache[action] = (action.action.value, to_db_time(action.at))
            installed = t.installed.id if t.installed is not None else None
            rows.append(
                (
                    run.id,
                    t.device.id,
                    t.app.id,
                    t.from_version.id,
                    t.to_version.id,
                    installed,
                    *kept,
                    wave_of.get(t.device.id),
                )
            )
        if plan.reason is None:
            insert_rows(Target, TARGET_FIELDS, rows)
        else:  # restoring: each device's revision it was planned from
            restoring = [(*row, plan.revisions[row[1]]) for row in rows]
            insert_rows(Target, (*TARGET_FIELDS, Target.from_revision), restoring)
        reverted = sorted(set(names.values())) if plan.reason and plan.rollback_of is None else ()
        audit.record_new_run(run.id, asked is not None, note, plan, reverted, now)
    return run.id


@dataclass(frozen=True)
class Applied:
    """What `apply_configuration` did."""

    configurations_updated: int
    deployments_created: int
    already_applied: bool = False  # or being applied by another process at this moment
    # devices of a restoring run skipped: configured otherwise since the run was planned
    skipped: int = 0
    skips: Mapping[int, str] = field(default_factory=dict)  # those devices' ids → why
    # not applied because the run is not approved: "awaiting", "rejected" or "expired"
    approval: str | None = None


def apply_configuration(run_id: int, now: datetime | None = None) -> Applied:
    """Set the configured versions of the run's targets and create its deployments, once.

    A device whose configuration of one of the run's applications meanwhile moved past the
    target (another run, an import, while the run waited for its approver or its engine) is
    skipped whole: it keeps its configuration (never downgrade) and gets no deployment of this
    run, which would push what the run never said; the reason is on its targets, logged and in
    `Applied.skips` (`run_revisions.moved_past_targets`). A restoring run (a rollback or a
    revert: `UpdateRun.reason` set) is the other way round: it sets exactly its targets'
    versions, earlier ones too, but only on a device whose newest configuration revision is
    still the one the run was planned from (`Target.from_revision`, re-checked here, in the
    transaction); any other device is skipped whole (no configuration change, no deployment),
    with the reason on its targets, logged and in `Applied.skips`. Every device whose configuration
    changed gets a new revision (reason "run #N", or the run's reason), in the same transaction.
    Several engines may try at once: the first marks the run as configured (a conditional update, in
    the transaction that applies it), the others skip it. A run awaiting a second approver, rejected
    or expired is never applied (`Applied.approval` says why)."""
    now = now or utcnow()
    with writing():
        if not _take_run(run_id, now):
            (approval,) = one(
                UpdateRun.select(UpdateRun.approval).where(UpdateRun.id == run_id),
                tuple[str | None],
            )
            if approval in NOT_APPROVED:
                return Applied(0, 0, approval=approval)
            return Applied(0, 0, already_applied=True)
        # the revisions name who approved: the second person where the team asks for one
        by, reason, aborted_by = one(
            UpdateRun.select(
                peewee.fn.COALESCE(UpdateRun.decided_by, UpdateRun.approved_by),
                UpdateRun.reason,
                UpdateRun.aborted_by,
            ).where(UpdateRun.id == run_id),
            tuple[str, str | None, str | None],
        )
        query = (
            Target.select(
                Target.device,
                Target.application,
                Target.to_version,
                Target.action,
                Target.scheduled_at,
                Target.wave,
                DeviceApp.id,
                DeviceApp.configured,
            )
            .join(
                DeviceApp,
                on=(DeviceApp.device == Target.device)
                & (DeviceApp.application == Target.application),
            )
            .where(Target.run == run_id)
        )
        lock_devices(Target.select(Target.device).where(Target.run == run_id))
        rows = cast("list[TargetRow]", list(query.tuples()))
        catalog = load_catalog()
        versions = catalog.versions
        if reason is not None:
            stale = moved_since_planned(run_id)
        else:
            stale = moved_past_targets(run_id, rows, versions)
        updates = []
        changed: dict[int, dict[int, int]] = {}
        deploy: dict[int, tuple[str, datetime | None]] = {}
        wave_of: dict[int, int] = {}
        for (
            device_id,
            app_id,
            to_id,
            action,
            scheduled_at,
            wave,
            device_app_id,
            configured_id,
        ) in rows:
            if device_id in stale:
                continue
            current = versions.get(configured_id) if configured_id is not None else None
            if (
                current is None
                or current.parsed.key < versions[to_id].parsed.key
                or (reason is not None and configured_id != to_id)
            ):
                updates.append((to_id, device_app_id))
                changed.setdefault(device_id, {})[app_id] = to_id
            if action != DeployAction.NONE:
                deploy.setdefault(device_id, (action, scheduled_at))
            if wave is not None:
                wave_of[device_id] = wave
        first_wave = min(wave_of.values(), default=None)
        if first_wave is not None:
            UpdateRun.update(open_wave=first_wave, wave_opened_at=now).where(
                UpdateRun.id == run_id
            ).execute()
        update_rows(DeviceApp, [DeviceApp.configured], updates)
        write_run_revisions(run_id, changed, now, by, reason or f"run #{run_id}")
        stamp = to_db_time(now)
        revision = next_revision() if deploy else 0
        replaced = {
            s.device_id: s.run_id
            for s in supersede(run_id, deploy, now, {"updated_at": now, "revision": revision})
        }
        deployment_rows = []
        for device_id, (action, scheduled_at) in deploy.items():
            wave = wave_of.get(device_id)
            state = (
                DeploymentState.SCHEDULED
                if action != DeployAction.NOW
                else DeploymentState.HELD
                if wave is not None and wave != first_wave
                else DeploymentState.QUEUED
            )
            deployment_rows.append(
                (
                    run_id,
                    device_id,
                    state.value,
                    stamp,
                    stamp,
                    revision,
                    to_db_time(scheduled_at),
                    wave,
                )
            )
        insert_rows(
            Deployment,
            (
                Deployment.run,
                Deployment.device,
                Deployment.state,
                Deployment.created_at,
                Deployment.updated_at,
                Deployment.revision,
                Deployment.scheduled_at,
                Deployment.wave,
            ),
            deployment_rows,
            ignore=True,
        )
        held = {d: w for d, w in wave_of.items() if w != first_wave}
        log_creation(run_id, now, deploy, replaced, held)
        if aborted_by is not None:  # aborted before this: its configuration, none of its work
            why = f"cancelled: run aborted by {aborted_by} before its deployments were created"
            rollout.cancel_waiting(run_id, now, why)
    return Applied(len(updates), len(deployment_rows), skipped=len(stale), skips=stale)


def _take_run(run_id: int, now: datetime) -> bool:
    """Mark the run as configured if no one has, inside the caller's transaction; False when
    another process did or is doing it. On PostgreSQL the run's row lock is taken first with
    SKIP LOCKED, so an engine skips a run another engine is applying instead of waiting for it
    (and, once that commits, finds it configured). SQLite's write transaction lets one in."""
    mine = (
        (UpdateRun.id == run_id)
        & UpdateRun.configured_at.is_null()
        & (UpdateRun.approval.is_null() | (UpdateRun.approval == Approval.APPROVED.value))
    )
    if is_postgres(UpdateRun._meta.database):
        locked = UpdateRun.select(UpdateRun.id).where(mine)
        # peewee takes the lock clause as text; its stubs allow only a bool
        locked = locked.for_update("FOR UPDATE SKIP LOCKED")  # type: ignore[arg-type]
        if not list(tuples(locked, tuple[int])):
            return False
    return bool(UpdateRun.update(configured_at=now).where(mine).execute())
