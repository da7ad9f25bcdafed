"""The overview over a long history: the run list shows recent and unfinished runs, older ones
by a filter; finished runs are not recounted on every poll; a refresh that fails is said."""

from __future__ import annotations

from datetime import timedelta

import peewee
import pytest
from PySide6.QtCore import Qt

import appupdater.ui.overview.feed as feed_module
from appupdater.core.planning import Selection, plan_update
from appupdater.core.progress import RunStatus
from appupdater.core.runs import apply_configuration, create_run
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.models import Deployment, UpdateRun
from appupdater.store.revisions import next_revision
from appupdater.ui.overview.feed import ALL_RUNS, OverviewFeed
from appupdater.ui.overview.window import OverviewWindow
from tests.ui.drive import choose_in_combo

WAIT = 20_000


def run_of(app: str, version: str | None = None, days_ago: float = 0, by: str = "test") -> int:
    """A configured run of `app` for every affected device, approved `days_ago`."""
    at = utcnow() - timedelta(days=days_ago)
    run_id = create_run(plan_update([Selection(app, version)]), approved_by=by, now=at)
    apply_configuration(run_id, now=at)
    return run_id


def finish(run_id: int, state: str = "succeeded", **values) -> None:
    """An engine ends every deployment of the run: one transaction, one revision."""
    with writing():
        Deployment.update(state=state, **values, revision=next_revision()).where(
            Deployment.run == run_id
        ).execute()


@pytest.fixture
def history(demo_fleet):
    """A year-old finished run, a 40-day-old one with failures, and a recent one in progress."""
    old = run_of("line-monitor", "2.0.0", days_ago=365, by="alice")
    finish(old)
    failed = run_of("line-monitor", "2.1.0", days_ago=40, by="bob")
    finish(failed, "failed")
    recent = run_of("edge-gateway", days_ago=1, by="carol")
    return {"old": old, "failed": failed, "recent": recent}


def shown(feed: OverviewFeed, run_id: int | None) -> None:
    assert feed.take_whole(feed.show(run_id)())


def test_all_runs_holds_the_rows_of_the_listed_runs_only(history):
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    assert [r.id for r in feed.runs] == [history["recent"]]
    assert {row.run for row in feed.table.rows} == {history["recent"]}
    newer = run_of("line-monitor")  # approved elsewhere: its rows join the ones shown
    feed.take_changes(feed.changes()())
    assert [r.id for r in feed.runs] == [newer, history["recent"]]
    assert {row.run for row in feed.table.rows} == {newer, history["recent"]}


def test_all_runs_holds_as_many_rows_as_fit(history, monkeypatch):
    newer = run_of("line-monitor")
    monkeypatch.setattr(feed_module, "ALL_ROWS_LIMIT", 1)
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    assert [r.id for r in feed.runs] == [newer, history["recent"]]
    assert {row.run for row in feed.table.rows} == {newer}  # the newest, even past the limit


def test_finished_runs_are_not_recounted_until_a_change_reopens_one(history, monkeypatch):
    feed = OverviewFeed()
    feed.filter = feed.filter.__class__(days=None)
    shown(feed, history["recent"])
    assert set(feed.final) == {history["old"], history["failed"]}
    read_again: list[list[int]] = []
    real = feed_module.run_summaries

    def counted(only=None):
        read_again.append(list(only or []))
        return real(only)

    monkeypatch.setattr(feed_module, "run_summaries", counted)
    for _ in range(feed.FULL_EVERY):
        feed.take_changes(feed.changes()())
    assert read_again == [[history["recent"]]]  # the tenth tick: the unfinished run alone
    # a retry of the year-old run's deployments reopens it: read again, in progress
    read_again.clear()
    finish(history["old"], "queued")
    feed.take_changes(feed.changes()())
    assert read_again == [[history["old"]]]
    summary = {r.id: r for r in feed.runs}[history["old"]]
    assert summary.status is RunStatus.IN_PROGRESS and history["old"] not in feed.final
    finish(history["old"])
    feed.take_changes(feed.changes()())
    assert {r.id: r for r in feed.runs}[history["old"]].status is RunStatus.COMPLETED
    assert history["old"] in feed.final


def test_a_filter_changed_while_one_run_is_shown_keeps_its_rows(history):
    feed = OverviewFeed()
    shown(feed, history["recent"])
    rows = feed.table.rows
    assert feed.filter_runs(feed.filter.__class__(days=None)) is None
    result = feed.changes()()
    assert result.listed == [history["recent"], history["failed"], history["old"]]
    feed.take_changes(result)
    assert feed.table.rows is rows and len(feed.runs) == 3


@pytest.fixture
def overview(qtbot, history, engine):
    window = OverviewWindow(engine, interval_ms=100)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: window.indicator.text().startswith("Updated"), timeout=WAIT)
    yield window
    window.close()


def listed(window) -> list[int]:
    return [run.id for run in window.runs_model.items]


def test_older_runs_are_one_choice_away(qtbot, overview, history, screenshot):
    bar = overview.run_filter
    assert listed(overview) == [history["recent"]]
    assert bar.count.text() == "1 run listed"
    choose_in_combo(qtbot, bar.period, "Last 12 months")
    qtbot.waitUntil(lambda: listed(overview) == [history["recent"], history["failed"]])
    choose_in_combo(qtbot, bar.period, "All time")
    qtbot.waitUntil(lambda: len(listed(overview)) == 3)
    assert bar.count.text() == "3 runs listed"
    screenshot(overview, "overview-history-all-time")
    choose_in_combo(qtbot, bar.state, "With failures")
    qtbot.waitUntil(lambda: listed(overview) == [history["failed"]])
    qtbot.keyClicks(bar.search, "carol")  # the recent run is in progress: no failures
    qtbot.waitUntil(lambda: listed(overview) == [])
    assert bar.count.text() == "No runs match these filters"
    bar.search.clear()
    choose_in_combo(qtbot, bar.state, "Any state")
    qtbot.keyClicks(bar.search, "alice")
    qtbot.waitUntil(lambda: listed(overview) == [history["old"]])
    # the year-old run is opened with a click: its deployments are read then
    qtbot.mouseClick(
        overview.runs_view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=overview.runs_view.visualRect(overview.runs_model.index(0, 0)).center(),
    )
    old_rows = Deployment.select().where(Deployment.run == history["old"]).count()
    qtbot.waitUntil(lambda: overview.run_id == history["old"])
    qtbot.waitUntil(lambda: overview.model.rowCount() == old_rows)
    screenshot(overview, "overview-history-search")


def test_a_failed_refresh_is_said_until_one_works(qtbot, overview, monkeypatch):
    real = feed_module.deployment_rows

    def locked(*args, **kwargs):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(feed_module, "deployment_rows", locked)
    qtbot.waitUntil(lambda: overview.indicator.text().startswith("Could not refresh at"))
    text = overview.indicator.text()
    assert ": database is locked; showing data from " in text
    assert "database is locked" in overview.indicator.toolTip()
    monkeypatch.setattr(feed_module, "deployment_rows", real)
    qtbot.waitUntil(lambda: overview.indicator.text().startswith("Updated"), timeout=WAIT)
    assert overview.indicator.toolTip() == ""


def test_runs_out_of_the_default_list_are_not_approved_recently(history):
    assert UpdateRun.get_by_id(history["old"]).approved_at < utcnow() - timedelta(days=300)


def test_changes_to_the_shown_run_are_counted_from_its_rows_not_read_again(history, monkeypatch):
    """A rollout of 100,000 deployments touches its run on every poll: counting its rows in the
    database each time would cost more than reading the changes."""
    feed = OverviewFeed()
    shown(feed, history["recent"])
    read_again: list[list[int]] = []
    real = feed_module.run_summaries
    monkeypatch.setattr(
        feed_module, "run_summaries", lambda only=None: read_again.append(only) or real(only)
    )
    finish(history["recent"], "running")
    feed.take_changes(feed.changes()())
    assert read_again == []
    [summary] = [r for r in feed.runs if r.id == history["recent"]]
    assert set(summary.counts) == {"running"}


def test_the_window_says_when_all_runs_shows_the_newest_runs_rows_only(
    qtbot, history, engine, monkeypatch
):
    newer = run_of("line-monitor")
    monkeypatch.setattr(feed_module, "ALL_ROWS_LIMIT", 1)
    window = OverviewWindow(engine, interval_ms=100)
    window.show()
    qtbot.waitUntil(lambda: window.indicator.text().startswith("Updated"), timeout=WAIT)
    rows = Deployment.select().where(Deployment.run == newer).count()
    assert window.showing.text() == (f"{rows} of {rows} deployments of the newest run")
    assert "Select an older run" in window.showing.toolTip()
    window.close()


def test_a_new_run_configured_after_it_was_listed_joins_the_rows_shown(history):
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    newer = create_run(plan_update([Selection("line-monitor")]), approved_by="test")
    feed.take_changes(feed.changes()())  # listed, configuring: no rows yet
    assert newer in {r.id for r in feed.runs}
    apply_configuration(newer)
    feed.take_changes(feed.changes()())
    assert newer in {row.run for row in feed.table.rows}


def test_a_run_reopened_just_before_a_whole_read_is_not_shown_finished(history):
    """A retry elsewhere, then the administrator picks another run before the next poll: the
    whole read must not take the cached 'finished' summary of the reopened run."""
    feed = OverviewFeed()
    feed.filter = feed.filter.__class__(days=None)
    shown(feed, history["recent"])
    assert history["old"] in feed.final
    finish(history["old"], "queued")  # retried by another workstation
    shown(feed, ALL_RUNS)  # no incremental read in between
    summary = {r.id: r for r in feed.runs}[history["old"]]
    assert summary.status is RunStatus.IN_PROGRESS and history["old"] not in feed.final


def test_a_run_listed_late_joins_the_rows_shown_even_when_older_than_the_newest(history):
    """On PostgreSQL run N may commit after run N+1: it still joins the rows shown."""
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    late = run_of("line-monitor", days_ago=0.5)
    feed.newest = late  # as if a newer run had been seen before it committed
    for _ in range(feed.FULL_EVERY):  # the list is read again on a full tick at the latest
        feed.take_changes(feed.changes()())
    assert late in feed.held


def test_every_deployment_state_has_a_colour_a_bar_place_and_a_filter():
    """A state the overview does not know is missing from the bar and the filter (held, of
    runs in waves, was)."""
    from appupdater.store.models import DeploymentState
    from appupdater.ui.overview.style import BAR_ORDER, STATE_COLOUR, STATE_ICON, STATES

    every = set(DeploymentState)
    assert set(BAR_ORDER) == set(STATES) == set(STATE_COLOUR) == set(STATE_ICON) == every
