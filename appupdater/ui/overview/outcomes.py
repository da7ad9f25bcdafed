"""What the overview says around an administrator's action on deployments: the question it
asks before acting on several at once, and one sentence with counts for what happened.
Plain Python (no Qt), so that every wording is tested without a window."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from appupdater.core.overview import DeploymentRow, parse_time
from appupdater.core.words import plural
from appupdater.store.models import DeploymentState as S


def _the_others(count: int, singular: str, several: str) -> str:
    """`The other one was …` / `The other 2 were …`: what became of the selected deployments
    an action did not apply to (another window or engine may have changed them meanwhile)."""
    return f"The other one {singular}." if count == 1 else f"The other {count} {several}."


def _selected(count: int) -> str:
    return "the selected deployment" if count == 1 else "the selected deployments"


def cancel_question(rows: Sequence[DeploymentRow]) -> tuple[str, str]:
    """(question, what follows) before cancelling `rows` (the cancellable ones selected)."""
    running = sum(row.state == S.RUNNING for row in rows)
    waiting = len(rows) - running
    parts = []
    if waiting:
        verb = "is" if waiting == 1 else "are"
        parts.append(f"{plural(waiting, 'waiting deployment')} {verb} cancelled at once")
    if running:
        verb = "is" if running == 1 else "are"
        parts.append(f"{plural(running, 'running deployment')} {verb} asked to stop")
    detail = "; ".join(parts) + ". You can retry cancelled deployments later."
    return f"Cancel {plural(len(rows), 'deployment')}?", detail


def deploy_now_question(
    rows: Sequence[DeploymentRow], local: Callable[[datetime], str]
) -> tuple[str, str]:
    """(question, what follows) before deploying `rows` (scheduled or retrying) now; `local`
    shows a time as the tables do."""
    times = sorted(
        moment
        for row in rows
        if row.state == S.SCHEDULED and (moment := parse_time(row.scheduled_at)) is not None
    )
    detail = "They start as soon as a worker and their device are free"
    if times and times[0] == times[-1]:
        detail += f", instead of at {local(times[0])}"
    elif times:
        detail += f", instead of at their times between {local(times[0])} and {local(times[-1])}"
    if any(row.state == S.RETRYING for row in rows):
        detail += "; retrying ones do not wait for their next attempt"
    return f"Deploy {plural(len(rows), 'deployment')} now?", detail + "."


def cancelled(stopped: int, asked: int, selected: int) -> str:
    if not stopped and not asked:
        return f"Nothing to cancel: {_selected(selected)} had already finished."
    sentences = []
    if stopped:
        sentences.append(f"Cancelled {plural(stopped, 'deployment')}.")
    if asked:
        sentences.append(f"Asked {plural(asked, 'running deployment')} to stop.")
    if left := selected - stopped - asked:
        sentences.append(_the_others(left, "had already finished", "had already finished"))
    return " ".join(sentences)


def retried(changed: int, selected: int) -> str:
    if not changed:
        return f"Nothing to retry: {_selected(selected)} had not failed or been cancelled."
    sentence = f"Queued {plural(changed, 'deployment')} again."
    if left := selected - changed:
        return f"{sentence} {_the_others(left, 'had not failed', 'had not failed')}"
    return sentence


def deployed_now(changed: int, selected: int) -> str:
    if not changed:
        verb = "was" if selected == 1 else "were"
        return f"Nothing to deploy now: {_selected(selected)} {verb} no longer waiting."
    sentence = f"Queued {plural(changed, 'deployment')} to deploy now."
    if left := selected - changed:
        return f"{sentence} {_the_others(left, 'was not waiting', 'were not waiting')}"
    return sentence


def rescheduled(changed: int, selected: int, at: str) -> str:
    if not changed:
        return f"Nothing rescheduled: {_selected(selected)} had started or succeeded meanwhile."
    sentence = f"Rescheduled {plural(changed, 'deployment')} for {at}."
    if left := selected - changed:
        return f"{sentence} {_the_others(left, 'was running or done', 'were running or done')}"
    return sentence


def exported(devices: int, run_id: int, path: str) -> str:
    return f"Exported {plural(devices, 'device')} of run #{run_id} to {path}."
