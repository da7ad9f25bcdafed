"""Work that waits for this workstation: deployments scheduled, queued or retrying, which
run only while an App Updater (or `appupdater engine`) is running on the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import peewee

from appupdater.core.progress import state_counts
from appupdater.core.words import plural
from appupdater.store.models import WAITING_STATES, Deployment, DeploymentState
from appupdater.store.rows import scalar

S = DeploymentState


@dataclass(frozen=True)
class WaitingWork:
    scheduled: int
    queued: int
    retrying: int
    next_at: datetime | None  # the earliest scheduled time or next attempt (UTC), if any

    @property
    def total(self) -> int:
        return self.scheduled + self.queued + self.retrying

    def describe(self) -> str:
        """`3 deployments are waiting: 2 scheduled, 1 retrying`; `2 deployments are
        scheduled` where all wait alike."""
        parts = [
            f"{number} {word}"
            for number, word in (
                (self.scheduled, "scheduled"),
                (self.queued, "queued"),
                (self.retrying, "retrying"),
            )
            if number
        ]
        verb = "is" if self.total == 1 else "are"
        if len(parts) == 1:  # `12 deployments are scheduled`
            return f"{plural(self.total, 'deployment')} {verb} {parts[0].split(' ', 1)[1]}"
        return f"{plural(self.total, 'deployment')} {verb} waiting: " + ", ".join(parts)


def waiting_work() -> WaitingWork:
    """Counts by state (one grouped, indexed read) and the next moment one of them is due."""
    counts = state_counts(WAITING_STATES)
    moments = [
        scalar(
            Deployment.select(peewee.fn.MIN(column)).where(Deployment.state == state),
            datetime,
        )
        for state, column, number in (
            (S.SCHEDULED, Deployment.scheduled_at, counts[S.SCHEDULED]),
            (S.RETRYING, Deployment.next_attempt_at, counts[S.RETRYING]),
        )
        if number
    ]
    known = [m for m in moments if m is not None]
    return WaitingWork(
        counts[S.SCHEDULED], counts[S.QUEUED], counts[S.RETRYING], min(known) if known else None
    )
