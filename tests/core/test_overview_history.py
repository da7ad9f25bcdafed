"""The overview's run list over a long history: recent and unfinished runs by default, older
ones by time, state and words; summaries read for the listed runs only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core.overview import run_summaries
from appupdater.core.planning import Selection, plan_update
from appupdater.core.run_list import RunFilter, RunState, listed_runs
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.models import Deployment, UpdateRun

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def run(app: str, version: str, days_ago: float, by: str = "test", state: str = "") -> int:
    """A configured run approved `days_ago`; its deployments all in `state` if given."""
    at = NOW - timedelta(days=days_ago)
    run_id = create_run(plan_update([Selection(app, version)]), approved_by=by, now=at)
    apply_configuration(run_id, now=at)
    if state:
        Deployment.update(state=state).where(Deployment.run == run_id).execute()
    return run_id


def history(three_presses) -> dict[str, int]:
    return {
        "old-ok": run("line-monitor", "1.5.0", 400, by="alice", state="succeeded"),
        "old-failed": run("line-monitor", "2.0.0", 40, by="bob", state="failed"),
        "recent-ok": run("line-monitor", "2.1.0-rc.1", 2, by="alice", state="succeeded"),
        # made last, not to be superseded, though approved long ago: still queued
        "old-open": run("edge-gateway", "3.10", 90, by="carol"),
    }


def test_by_default_recent_and_unfinished_runs_are_listed(three_presses):
    runs = history(three_presses)
    assert listed_runs(RunFilter(), NOW) == [runs["old-open"], runs["recent-ok"]]
    assert RunFilter().default and not RunFilter(days=None).default


def test_older_runs_are_one_filter_away(three_presses):
    runs = history(three_presses)
    assert listed_runs(RunFilter(days=30), NOW) == [runs["old-open"], runs["recent-ok"]]
    assert listed_runs(RunFilter(days=365), NOW) == [
        runs["old-open"],
        runs["recent-ok"],
        runs["old-failed"],
    ]
    assert listed_runs(RunFilter(days=None), NOW) == sorted(runs.values(), reverse=True)


def test_the_state_filter(three_presses):
    runs = history(three_presses)
    every = RunFilter(days=None)
    assert listed_runs(RunFilter(days=None, state=RunState.IN_PROGRESS), NOW) == [runs["old-open"]]
    assert listed_runs(RunFilter(days=None, state=RunState.FINISHED), NOW) == [
        runs["recent-ok"],
        runs["old-failed"],
        runs["old-ok"],
    ]
    assert listed_runs(RunFilter(days=None, state=RunState.FAILURES), NOW) == [runs["old-failed"]]
    assert every.state is RunState.ANY


def test_search_by_number_approver_or_application(three_presses):
    runs = history(three_presses)

    def found(text: str) -> list[int]:
        return listed_runs(RunFilter(days=None, text=text), NOW)

    assert found("ALICE") == [runs["recent-ok"], runs["old-ok"]]
    assert found("gateway") == [runs["old-open"]]
    assert found(f"#{runs['old-failed']}") == [runs["old-failed"]]
    assert found("nobody") == []
    # the time filter still holds: a search for an old run names it with "All time"
    assert listed_runs(RunFilter(text="bob"), NOW) == []


def test_summaries_of_some_runs_read_those_runs_only(three_presses):
    runs = history(three_presses)
    [summary] = run_summaries([runs["old-failed"]])
    assert summary.id == runs["old-failed"] and summary.counts == {"failed": 3}
    assert summary.applications == "line-monitor → 2.0.0"
    assert run_summaries([]) == []
    assert UpdateRun.select().count() == 4
