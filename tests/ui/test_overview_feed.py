"""The overview's polling protocol, without widgets: whole and incremental reads, the revision
seen, results of a run no longer shown, and counts that agree with the rows held."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

import appupdater.ui.overview.feed as feed_module
from appupdater.core.planning import Selection, plan_update
from appupdater.core.progress import RunStatus
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.db import writing
from appupdater.store.models import Deployment
from appupdater.store.revisions import next_revision
from appupdater.ui.overview.feed import ALL_RUNS, OverviewFeed
from tests.helpers import CATALOG, devices_yaml, load_yaml

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
def four_presses(db):
    """press-01..04 on line-monitor 1.0.0 (press-01 also on edge-gateway 3.9)."""
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
            *(
                f"{{name: press-0{i}, applications: {{line-monitor: {{configured: '1.0.0', installed: '1.0.0'}}}}}}"
                for i in (2, 3, 4)
            ),
        )
    )
    return db


def run_of(app: str, version: str | None = None, **kwargs) -> int:
    """An approved, configured run of `app` for every affected device."""
    run_id = create_run(plan_update([Selection(app, version)]), approved_by="test", **kwargs)
    apply_configuration(run_id)
    return run_id


def touch(*ids: int, **values) -> None:
    """Another writer changes deployments, as an engine does: one transaction, one revision."""
    values.setdefault("last_message", "touched")
    with writing():
        Deployment.update(**values, revision=next_revision()).where(
            Deployment.id.in_(ids)
        ).execute()


def ids_of(run_id: int) -> list[int]:
    query = Deployment.select(Deployment.id).where(Deployment.run == run_id)
    return [d for (d,) in query.order_by(Deployment.id).tuples()]


def shown(feed: OverviewFeed, run_id: int | None) -> None:
    assert feed.take_whole(feed.show(run_id)())


def test_a_poll_reads_only_what_changed_and_moves_the_seen_revision(four_presses):
    run_id = run_of("line-monitor")
    feed = OverviewFeed()
    shown(feed, run_id)
    assert len(feed.table.rows) == 4 and feed.seen > 0
    _, second, *_ = ids_of(run_id)
    touch(second)
    read = feed.changes()
    result = read()
    assert [r.id for r in result.rows] == [second]
    touched, arrived = feed.take_changes(result)
    assert arrived == [] and [feed.table.rows[p].id for p in touched] == [second]
    assert feed.table.rows[touched[0]].message == "touched"
    # nothing changed since: the next poll reads nothing and keeps the revision
    seen = feed.seen
    quiet = feed.changes()()
    assert quiet.rows == [] and quiet.seen == seen
    assert feed.take_changes(quiet) == ([], [])


def test_a_change_between_the_revision_and_the_rows_is_read_again_not_lost(
    four_presses, monkeypatch
):
    """The whole read takes the revision before the rows: a write landing in between is in
    the rows already and comes again with the next poll, never neither."""
    run_id = run_of("line-monitor")
    target = ids_of(run_id)[0]
    real = feed_module.deployment_rows

    def rows_after_a_write(*args, **kwargs):
        if not kwargs and len(args) == 1:  # the whole read of the run
            touch(target, last_message="in between")
        return real(*args, **kwargs)

    monkeypatch.setattr(feed_module, "deployment_rows", rows_after_a_write)
    feed = OverviewFeed()
    shown(feed, run_id)
    assert feed.table.rows[feed.table.position_of(target)].message == "in between"
    monkeypatch.setattr(feed_module, "deployment_rows", real)
    touch(ids_of(run_id)[1])
    result = feed.changes()()
    assert ids_of(run_id)[1] in {r.id for r in result.rows}


def test_unfinished_runs_are_recounted_every_tenth_tick_and_the_list_read_when_a_run_appears(
    four_presses,
):
    run_id = run_of("line-monitor", "1.5.0")
    feed = OverviewFeed()
    shown(feed, run_id)
    recounted, relisted = [], []
    for _ in range(feed.FULL_EVERY):
        result = feed.changes()()
        recounted.append([r.id for r in result.runs])
        relisted.append(result.listed)
        feed.take_changes(result)
    assert recounted == [[]] * (feed.FULL_EVERY - 1) + [[run_id]]  # queued: unfinished
    assert relisted == [None] * (feed.FULL_EVERY - 1) + [[run_id]]
    newer = run_of("edge-gateway")  # made elsewhere: the next poll reads the list again
    result = feed.changes()()
    assert result.listed == [newer, run_id] and newer in {r.id for r in result.runs}
    feed.take_changes(result)
    assert [r.id for r in feed.runs] == [newer, run_id]


def test_changes_to_another_run_update_its_summary_without_a_full_read(four_presses):
    shown_run = run_of("line-monitor", "1.5.0")
    other = run_of("edge-gateway")
    feed = OverviewFeed()
    shown(feed, shown_run)
    [press_01] = ids_of(other)
    touch(press_01, state="failed")
    result = feed.changes()()
    assert result.listed is None and [r.id for r in result.runs] == [other]
    assert result.rows == []  # rows of runs not shown are not held
    feed.take_changes(result)
    summary = {r.id: r for r in feed.runs}[other]
    assert summary.counts == {"failed": 1} and summary.status is RunStatus.COMPLETED_WITH_FAILURES


def test_results_of_a_run_no_longer_shown_are_dropped(four_presses):
    first = run_of("line-monitor", "1.5.0")
    second = run_of("line-monitor", "2.0.0")
    feed = OverviewFeed()
    late_whole = feed.show(first)
    shown(feed, second)
    assert not feed.take_whole(late_whole())
    assert {r.run for r in feed.table.rows} == {second}
    late_poll = feed.changes()
    feed.show(ALL_RUNS)  # the administrator picked "all runs" meanwhile
    assert feed.take_changes(late_poll()) is None


def test_one_read_at_a_time(four_presses):
    feed = OverviewFeed()
    read = feed.show(ALL_RUNS)
    assert feed.changes() is None  # the whole read is still under way
    feed.take_whole(read())
    poll = feed.changes()
    assert poll is not None and feed.changes() is None
    feed.read_failed()  # e.g. the database was locked: the next tick reads again
    assert feed.changes() is not None


def test_the_shown_run_is_counted_from_its_rows_not_from_another_query(four_presses, monkeypatch):
    """Run summaries are counted by a separate query; a deployment that ends between the two
    reads must not leave the bar and status disagreeing with the rows."""
    run_id = run_of("line-monitor", "1.5.0")
    ids = ids_of(run_id)
    real = feed_module.run_summaries

    def summaries_after_a_change(*args, **kwargs):
        touch(*ids, state="succeeded")  # every deployment ends right between the reads
        return real(*args, **kwargs)

    monkeypatch.setattr(feed_module, "run_summaries", summaries_after_a_change)
    feed = OverviewFeed()
    shown(feed, run_id)
    [summary] = feed.runs
    assert summary.counts == {"queued": len(ids)}  # as the rows held say
    assert summary.status is RunStatus.IN_PROGRESS
    monkeypatch.setattr(feed_module, "run_summaries", real)
    feed.take_changes(feed.changes()())
    [summary] = feed.runs
    assert summary.counts == {"succeeded": len(ids)} and summary.status is RunStatus.COMPLETED


def test_a_run_with_deployments_reads_as_configured_however_the_read_raced(four_presses):
    run_id = run_of("line-monitor", "1.5.0")
    feed = OverviewFeed()
    shown(feed, run_id)
    [summary] = feed.runs
    racing = replace(summary, configured=False)
    [reconciled] = feed.reconciled([racing])
    assert reconciled.status is RunStatus.IN_PROGRESS


def test_a_run_without_deployments_is_completed_once_configured(four_presses):
    run_id = run_of("line-monitor", "1.5.0", default=CONFIG_ONLY)
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    [summary] = feed.runs
    assert summary.id == run_id and summary.counts == {}
    assert summary.status is RunStatus.COMPLETED


def test_a_dropped_late_poll_does_not_let_a_poll_start_before_the_whole_read_lands(four_presses):
    """The run picked while a poll was under way: that poll's result is dropped — and the
    whole read of the run is still under way, so no new poll may start. One that did read
    the changes without the run's rows (not held yet) and moved the seen revision past them:
    the window showed the run 'in progress' for good (the self-test's overview, now and then)."""
    run_id = run_of("line-monitor", "2.0.0")
    feed = OverviewFeed()
    shown(feed, ALL_RUNS)
    late_poll = feed.changes()
    whole = feed.show(run_id)  # picked meanwhile
    assert feed.take_changes(late_poll()) is None  # dropped
    assert feed.changes() is None  # the run's whole read is still under way
    read = whole()
    touch(*ids_of(run_id), state="succeeded")  # the engine ends them after that read
    assert feed.take_whole(read)
    poll = feed.changes()
    assert poll is not None
    feed.take_changes(poll())
    assert {r.state for r in feed.table.rows} == {"succeeded"}
    [run] = [r for r in feed.runs if r.id == run_id]
    assert run.status is RunStatus.COMPLETED
