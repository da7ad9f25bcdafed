"""The run list's queries on PostgreSQL (EXISTS per run, IN lists, case-insensitive search):
the same runs as on SQLite (skipped where no server exists)."""

from __future__ import annotations

import pytest

from appupdater.core.overview import run_summaries
from appupdater.core.run_list import RunFilter, RunState, listed_runs
from appupdater.ui.overview.feed import ALL_RUNS, OverviewFeed
from tests.core.test_overview_history import NOW, history
from tests.helpers import CATALOG, devices_yaml, load_yaml

pytestmark = pytest.mark.integration


def test_run_list_on_postgres(pg):
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
            "{name: press-02, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
            "{name: press-03, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}",
        )
    )
    runs = history(None)
    assert listed_runs(RunFilter(), NOW) == [runs["old-open"], runs["recent-ok"]]
    every = RunFilter(days=None)
    assert listed_runs(every, NOW) == sorted(runs.values(), reverse=True)
    failures = RunFilter(days=None, state=RunState.FAILURES)
    assert listed_runs(failures, NOW) == [runs["old-failed"]]
    in_progress = RunFilter(days=None, state=RunState.IN_PROGRESS)
    assert listed_runs(in_progress, NOW) == [runs["old-open"]]
    assert listed_runs(RunFilter(days=None, text="ALICE"), NOW) == [
        runs["recent-ok"],
        runs["old-ok"],
    ]
    assert listed_runs(RunFilter(days=None, text=f"#{runs['old-ok']}"), NOW) == [runs["old-ok"]]
    [summary] = run_summaries([runs["old-failed"]])
    assert summary.counts == {"failed": 3}
    feed = OverviewFeed()
    feed.filter = every
    assert feed.take_whole(feed.show(ALL_RUNS)())
    assert [r.id for r in feed.runs] == sorted(runs.values(), reverse=True)
