"""The event each new deployment of a run starts its log with (see `runs.apply_configuration`)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from appupdater.core.events import Event, log_events
from appupdater.store.models import DeployAction, Deployment
from appupdater.store.rows import sql_rows


def log_creation(
    run_id: int,
    now: datetime,
    deploy: Mapping[int, tuple[str, datetime | None]],
    replaced: Mapping[int, int],
    held: Mapping[int, int],
) -> None:
    """One event per new deployment of the run, written in SQL to stay fast for big runs:
    only the ids are read back (raw), what each says comes from `deploy` (device → action and
    time, as just written); `replaced` maps a device to the earlier run whose waiting
    deployment this one superseded."""
    message = "configuration updated; deployment created"
    sql, params = (
        Deployment.select(Deployment.id, Deployment.device).where(Deployment.run == run_id).sql()
    )
    texts: dict[tuple[tuple[str, datetime | None], int | None], str] = {}
    events = []
    for deployment_id, device_id in sql_rows(sql, params, tuple[int, int]):
        chosen = deploy.get(device_id)
        if chosen is None:  # not one this call created
            continue
        wave = held.get(device_id)
        key = (chosen, wave)
        text = texts.get(key)
        if text is None:
            action, scheduled_at = chosen
            text = texts[key] = (
                f"{message}, held until wave {wave} opens"
                if wave is not None
                else f"{message}, queued to deploy now"
                if action == DeployAction.NOW
                else f"{message}, scheduled for {scheduled_at:%Y-%m-%d %H:%M} UTC"
            )
        earlier = replaced.get(device_id)
        if earlier is not None:
            text += f"; it replaces the waiting deployment of run #{earlier}"
        events.append((deployment_id, Event.info(now, text)))
    log_events(events)
