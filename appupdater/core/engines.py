"""The engines sharing this database, as a window lists them: where each runs, since when, its
heartbeat counter and how many deployments it runs now.

An engine's row exists while it runs (it removes it when it stops; another engine removes it
when it takes its deployments over), so the list is the engines that are alive or not yet
judged dead. Whether one fell silent is judged by the reader, by its beat standing still on
the reader's own clock (`core/liveness.py`), never by comparing the times the rows hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import peewee

from appupdater.store.models import Deployment, DeploymentState, EngineInstance
from appupdater.store.rows import tuples


@dataclass(frozen=True)
class EngineRow:
    id: str
    host: str
    pid: int
    started_at: datetime  # its own clock, shown only
    heartbeat_at: datetime  # its own clock, shown only
    beat: int
    running: int  # deployments it runs now


def engines() -> list[EngineRow]:
    """Every registered engine with its running deployments counted, oldest first."""
    running = (
        Deployment.select(Deployment.claimed_by, peewee.fn.COUNT(Deployment.id).alias("n"))
        .where(Deployment.state == DeploymentState.RUNNING)
        .group_by(Deployment.claimed_by)
    )
    pairs = tuples(running, tuple[str | None, int])
    counts = {claimed_by: n for claimed_by, n in pairs if claimed_by is not None}
    rows = EngineInstance.select().order_by(EngineInstance.started_at, EngineInstance.id)
    return [
        EngineRow(e.id, e.host, e.pid, e.started_at, e.heartbeat_at, e.beat, counts.get(e.id, 0))
        for e in rows
    ]
