"""A device's deployment that has not ended, and the rule that keeps one per device.

A deployment pushes the device's whole configuration, so a newer run's deployment carries
everything an older pending one would: the newer one *supersedes* it. The older ends
`cancelled` with "superseded by run #N" in its log, in the transaction that made the newer one
wait. So a device never has two waiting deployments; a running one is never interrupted (the
newer one waits until the device is free).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import peewee

from appupdater.core.events import Event, log_events
from appupdater.store.models import OPEN_STATES, WAITING_STATES, Deployment, DeploymentState
from appupdater.store.revisions import Stamp, stamped
from appupdater.store.rows import returned, tuples

S = DeploymentState
_CHUNK = 500  # ids per IN (...): well under every driver's limit on parameters


@dataclass(frozen=True, slots=True)
class PendingDeployment:
    """A device's deployment that has not ended: waiting or running."""

    deployment_id: int
    run_id: int
    device_id: int
    state: DeploymentState
    # when it starts: the scheduled time, or the next attempt's; None for queued and running
    at: datetime | None
    # it waits only to ask the device to stop what it was cancelled in (attempts.py)
    stopping: bool = False

    @property
    def supersedable(self) -> bool:
        """A waiting deployment; a newer run's deployment for the device replaces it."""
        return self.state in WAITING_STATES and not self.stopping


def pending_deployments(device_ids: Iterable[int] | None = None) -> dict[int, PendingDeployment]:
    """Each device's newest deployment that has not ended (of `device_ids`, or of every
    device), by device id."""
    query = Deployment.select(
        Deployment.id,
        Deployment.run,
        Deployment.device,
        Deployment.state,
        Deployment.scheduled_at,
        Deployment.next_attempt_at,
        Deployment.cancel_requested,
    ).where(Deployment.state.in_(list(OPEN_STATES)))
    wanted = None if device_ids is None else set(device_ids)
    found: dict[int, PendingDeployment] = {}
    rows = tuples(
        query.order_by(Deployment.run),
        tuple[int, int, int, str, datetime | None, datetime | None, bool],
    )
    for deployment_id, run_id, device_id, state, scheduled_at, next_attempt_at, stop in rows:
        if wanted is not None and device_id not in wanted:
            continue
        state = S(state)
        at = {S.SCHEDULED: scheduled_at, S.RETRYING: next_attempt_at}.get(state)
        stopping = bool(stop) and state in WAITING_STATES
        found[device_id] = PendingDeployment(deployment_id, run_id, device_id, state, at, stopping)
    return found


def superseded_message(run_id: int) -> str:
    return f"superseded by run #{run_id}: its deployment pushes this device's whole configuration"


@dataclass(frozen=True, slots=True)
class Superseded:
    """A waiting deployment that a later run's deployment replaced."""

    deployment_id: int
    device_id: int
    run_id: int


def supersede(
    run_id: int, device_ids: Iterable[int], now: datetime, stamp: Stamp | None = None
) -> list[Superseded]:
    """Cancel the waiting deployments of earlier runs on `device_ids`, which `run_id`'s
    deployments replace. Call it inside the transaction that makes those deployments wait;
    `stamp` is that transaction's (taken here if not given)."""
    devices = list(set(device_ids))
    earlier = (
        Deployment.state.in_(list(WAITING_STATES))
        & (Deployment.run < run_id)
        & ~Deployment.cancel_requested  # it asks its device to stop: not replaced
    )
    if not devices or not Deployment.select(Deployment.id).where(earlier).limit(1).exists():
        return []  # the common case, answered with one indexed read whatever the run's size
    stamp = stamp or stamped(now)
    message = superseded_message(run_id)
    cancelled: list[Superseded] = []
    for start in range(0, len(devices), _CHUNK):
        query = (
            Deployment.update(
                state=S.CANCELLED,
                finished_at=now,
                next_attempt_at=None,
                last_message=message,
                **stamp,
            )
            .where(Deployment.device.in_(devices[start : start + _CHUNK]) & earlier)
            .returning(Deployment.id, Deployment.device, Deployment.run)
        )
        cancelled.extend(Superseded(*row) for row in returned(query, tuple[int, int, int]))
    log_events((s.deployment_id, Event.info(now, message)) for s in cancelled)
    return cancelled


def newer_waiting(deployment_ids: Iterable[int]) -> dict[int, int]:
    """Of `deployment_ids`, those whose device has a waiting deployment of a later run: by
    deployment id, that later run's id. Such a deployment must not wait again (retry, requeue):
    the later run's deployment carries everything it would."""
    ids = list(deployment_ids)
    later = Deployment.alias("later")
    found: dict[int, int] = {}
    for start in range(0, len(ids), _CHUNK):
        query = (
            Deployment.select(Deployment.id, peewee.fn.MAX(later.run))
            .join(later, on=(later.device == Deployment.device) & (later.run > Deployment.run))
            .where(
                Deployment.id.in_(ids[start : start + _CHUNK])
                & later.state.in_(list(WAITING_STATES))
                & ~later.cancel_requested  # it only asks its device to stop
            )
            .group_by(Deployment.id)
        )
        found.update(tuples(query, tuple[int, int]))
    return found


def make_room(
    deployment_ids: Iterable[int], now: datetime, stamp: Stamp
) -> tuple[list[int], dict[int, int]]:
    """Before ended `deployment_ids` wait again (an administrator's retry or reschedule): one
    whose device has a waiting deployment of a later run may not, nor may one of several on a
    device but that of the latest run; the others supersede the waiting deployments of
    earlier runs on their devices. Returns (the ids that may wait; the others, by id, with the
    later run that carries them). Call it inside the transaction that makes them wait."""
    ids = list(deployment_ids)
    blocked = newer_waiting(ids)
    newest: dict[int, tuple[int, int]] = {}  # device → (run, deployment) of the latest run
    for start in range(0, len(ids), _CHUNK):
        chunk = [d for d in ids[start : start + _CHUNK] if d not in blocked]
        query = Deployment.select(Deployment.id, Deployment.run, Deployment.device).where(
            Deployment.id.in_(chunk)
        )
        for deployment_id, run_id, device_id in tuples(query, tuple[int, int, int]):
            other = newest.get(device_id)
            if other is None or other[0] < run_id:
                newest[device_id] = (run_id, deployment_id)
                if other is not None:
                    blocked[other[1]] = run_id
            else:
                blocked[deployment_id] = other[0]
    by_run: dict[int, set[int]] = {}
    for device_id, (run_id, _) in newest.items():
        by_run.setdefault(run_id, set()).add(device_id)
    for run_id, devices in by_run.items():
        supersede(run_id, devices, now, stamp)
    return [d for d in ids if d not in blocked], blocked
