"""The Deployment Overview follows a rollout through the database, keeps selection and scroll
across refreshes, acts on selected deployments, exports a run, and survives an unreadable
database."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog

from appupdater.core.csvcells import safe_row
from appupdater.core.overview import REPORT_HEADER, run_report
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import DeviceAction, apply_configuration, create_run
from appupdater.store.db import writing
from appupdater.store.fields import utcnow
from appupdater.store.models import DeployAction, Deployment, DeploymentEvent, Device
from appupdater.store.revisions import next_revision
from appupdater.ui.overview.feed import DeploymentTable, counts_of
from appupdater.ui.overview.models import DeploymentsModel, RunsModel
from appupdater.ui.overview.reschedule_dialog import RescheduleDialog
from appupdater.ui.overview.window import OverviewWindow
from tests.ui.drive import click_action, click_row

WAIT = 20_000


def shown_overview(qtbot, engine):
    """An overview acting through `engine`, shown at 1280×800 and loaded; closed after."""
    window = OverviewWindow(engine, interval_ms=100)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: window.indicator.text().startswith("Updated"), timeout=WAIT)
    yield window
    window.close()


@pytest.fixture
def overview(qtbot, demo_fleet, engine):
    """The overview on the demo fleet, acting through `engine` (not started)."""
    yield from shown_overview(qtbot, engine)


def approve(apps=("line-monitor",), scheduled=0, now=None) -> int:
    plan = plan_update([Selection(a) for a in apps])
    devices = [d.id for d in plan.devices()]
    at = (now or utcnow()) + timedelta(hours=3)
    actions = {d: DeviceAction(DeployAction.AT, at) for d in devices[:scheduled]}
    return create_run(plan, actions, approved_by="test")


def states(window) -> dict[str, str]:
    m = window.model
    return {m.row_at(r).device: m.row_at(r).state for r in range(m.rowCount())}


def test_follows_a_rollout_to_completion(qtbot, overview, engine, screenshot):
    Device.update(labels={"sim.latency_s": 1.0}).execute()
    Device.update(labels={"sim.latency_s": 1.0, "sim.failure_rate": 1}).where(
        Device.name == "lab-rig-01"
    ).execute()
    run_id = approve(("line-monitor", "edge-gateway"), scheduled=3)
    overview.show_run(run_id)
    engine.start()
    qtbot.waitUntil(lambda: "running" in states(overview).values(), timeout=WAIT)
    running = [
        r for r in range(overview.model.rowCount()) if overview.model.row_at(r).state == "running"
    ]
    qtbot.waitUntil(
        lambda: any(overview.model.row_at(r).progress > 0 for r in running), timeout=WAIT
    )
    overview.view.selectRow(running[0])
    qtbot.waitUntil(lambda: overview.details.log.topLevelItemCount() > 1, timeout=WAIT)
    screenshot(overview, "overview-rollout")
    total = Deployment.select().where(Deployment.run == run_id).count()
    qtbot.waitUntil(
        lambda: (
            list(states(overview).values()).count("scheduled") == 3
            and "running" not in states(overview).values()
            and "queued" not in states(overview).values()
        ),
        timeout=60_000,
    )
    qtbot.waitUntil(
        lambda: (
            overview.runs_model.items[0].counts
            == {
                s: Deployment.select()
                .where((Deployment.run == run_id) & (Deployment.state == s))
                .count()
                for s in ("scheduled", "succeeded", "failed")
                if Deployment.select()
                .where((Deployment.run == run_id) & (Deployment.state == s))
                .count()
            }
        ),
        timeout=WAIT,
    )
    run = overview.runs_model.items[0]
    assert run.total == total and run.status == "in progress"
    screenshot(overview, "overview-mixed-states")
    # the database is the truth: the model shows exactly its states
    assert states(overview) == {
        d.device.name: d.state for d in Deployment.select().where(Deployment.run == run_id)
    }


def test_filter_sort_and_selection_survive_refreshes(qtbot, overview):
    run_id = approve()
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 5, timeout=WAIT)
    header = overview.view.horizontalHeader()
    header.setSortIndicator(0, Qt.SortOrder.DescendingOrder)  # as a header click does
    names = [overview.model.row_at(r).device for r in range(overview.model.rowCount())]
    assert names == sorted(names, reverse=True)
    click_row(qtbot, overview.view, 2)
    chosen = overview.model.row_at(2).id
    overview.view.scrollTo(overview.model.index(2, 0))
    scroll = overview.view.verticalScrollBar().value()
    # another writer changes rows: the refresh updates them in place
    with writing():
        Deployment.update(
            last_message="touched", updated_at=utcnow(), revision=next_revision()
        ).where(Deployment.run == run_id).execute()
    qtbot.waitUntil(lambda: overview.model.row_at(0).message == "touched", timeout=WAIT)
    assert overview.selected_ids() == [chosen]
    assert overview.view.verticalScrollBar().value() == scroll
    # filter by state and text
    index = overview.state_filter.findText("Queued")
    overview.state_filter.setCurrentIndex(index)
    assert {overview.model.row_at(r).state for r in range(overview.model.rowCount())} == {"queued"}
    qtbot.keyClicks(overview.text_filter, names[0])
    assert [overview.model.row_at(r).device for r in range(overview.model.rowCount())] == [names[0]]


def test_actions_change_the_database(qtbot, overview, monkeypatch, message_boxes):
    run_id = approve(scheduled=2)
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 3, timeout=WAIT)
    model = overview.model
    scheduled = [r for r in range(model.rowCount()) if model.row_at(r).state == "scheduled"]
    queued = [r for r in range(model.rowCount()) if model.row_at(r).state == "queued"]
    # deploy now a scheduled one
    click_row(qtbot, overview.view, scheduled[0])
    target = model.row_at(scheduled[0]).id
    click_action(qtbot, overview, overview.now_action)
    qtbot.waitUntil(lambda: Deployment.get_by_id(target).state == "queued", timeout=WAIT)
    # cancel two queued ones at once
    click_row(qtbot, overview.view, queued[0])
    click_row(qtbot, overview.view, queued[1], modifier=Qt.KeyboardModifier.ControlModifier)
    ids = overview.selected_ids()
    assert len(ids) == 2
    message_boxes.answer(text="Cancel Deployments")
    click_action(qtbot, overview, overview.cancel_action)
    qtbot.waitUntil(
        lambda: {Deployment.get_by_id(i).state for i in ids} == {"cancelled"}, timeout=WAIT
    )
    qtbot.waitUntil(
        lambda: (
            {states(overview)[model.row_at(model.display_row_of(i)).device] for i in ids}
            == {"cancelled"}
        ),
        timeout=WAIT,
    )
    # retry them
    click_action(qtbot, overview, overview.retry_action)
    qtbot.waitUntil(
        lambda: {Deployment.get_by_id(i).state for i in ids} == {"queued"}, timeout=WAIT
    )
    # reschedule the other scheduled one, through the dialog
    at = utcnow() + timedelta(days=2)
    monkeypatch.setattr(RescheduleDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(RescheduleDialog, "chosen", lambda self: at)
    click_row(qtbot, overview.view, scheduled[1])
    other = model.row_at(scheduled[1]).id
    click_action(qtbot, overview, overview.reschedule_action)
    qtbot.waitUntil(lambda: Deployment.get_by_id(other).scheduled_at == at, timeout=WAIT)
    assert (
        DeploymentEvent.select()
        .where(
            (DeploymentEvent.deployment == other)
            & DeploymentEvent.message.startswith("rescheduled")
        )
        .exists()
    )


def test_reschedule_dialog_refuses_the_past(qtbot):
    dialog = RescheduleDialog(3)
    qtbot.addWidget(dialog)
    dialog.edit.setDateTime(dialog.edit.dateTime().addSecs(-3 * 3600))
    dialog.show()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.error.isVisible() and "is in the past: choose a later time" in dialog.error.text()
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
    dialog.edit.setDateTime(dialog.edit.dateTime().addSecs(6 * 3600))
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_csv_export_matches_the_database(qtbot, overview, tmp_path, monkeypatch):
    run_id = approve(scheduled=1)
    apply_configuration(run_id)
    # what an agent answered is someone else's text: never a formula in a spreadsheet
    first = Deployment.select().where(Deployment.run == run_id).order_by(Deployment.id).first()
    Deployment.update(last_message='=HYPERLINK("http://evil")').where(
        Deployment.id == first.id
    ).execute()
    overview.show_run(run_id)
    qtbot.waitUntil(
        lambda: overview.model.rowCount() > 0 and overview.export_action.isEnabled(), timeout=WAIT
    )
    target = tmp_path / "report.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    click_action(qtbot, overview, overview.export_action)
    qtbot.waitUntil(target.exists, timeout=WAIT)
    with target.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == REPORT_HEADER
    expected = [tuple(str(v) for v in safe_row(r)) for r in run_report(run_id)]
    assert expected == [tuple(r) for r in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in {r[-1] for r in rows[1:]}
    devices = {r[0] for r in rows[1:]}
    assert devices == {d.device.name for d in Deployment.select().where(Deployment.run == run_id)}


def test_a_second_process_is_reflected(qtbot, overview, db_path):
    before = overview.runs_model.rowCount()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "appupdater",
            "--database",
            str(db_path),
            "update",
            "--app",
            "edge-gateway",
            "--deploy",
            "none",
            "--yes",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() == before + 1, timeout=WAIT)
    assert overview.runs_model.items[0].status == "completed"


def test_unreadable_database_is_reported_then_recovers(qtbot, overview, db_path):
    moved = db_path.with_name("elsewhere.sqlite3")
    for suffix in ("", "-wal", "-shm"):
        source = db_path.with_name(db_path.name + suffix)
        if source.exists():
            source.rename(moved.with_name(moved.name + suffix))
    qtbot.waitUntil(
        lambda: overview.indicator.text().startswith("Could not refresh at"), timeout=WAIT
    )
    for suffix in ("", "-wal", "-shm"):
        target = db_path.with_name(db_path.name + suffix)
        target.unlink(missing_ok=True)
        source = moved.with_name(moved.name + suffix)
        if source.exists():
            source.rename(target)
    qtbot.waitUntil(lambda: overview.indicator.text().startswith("Updated"), timeout=WAIT)


def test_models_pass_the_model_tester(qtmodeltester, demo_fleet):
    from appupdater.core.overview import deployment_rows, run_summaries, target_summaries

    run_id = approve(scheduled=2)
    apply_configuration(run_id)
    runs = RunsModel()
    runs.set_runs(run_summaries())
    qtmodeltester.check(runs)
    table = DeploymentTable()
    rows = deployment_rows(run_id)
    table.load(rows, target_summaries([run_id]), counts_of(rows))
    model = DeploymentsModel(table)
    model.reload()
    model.sort(4)
    model.set_filter({"queued"}, "")
    qtmodeltester.check(model)


def test_counts_agree_with_the_rows_when_a_change_lands_between_reads(qtbot, overview, monkeypatch):
    """The overview reads a run's rows and its counts one after the other; an engine that
    finishes a deployment in between must not leave the run's bar and status off (seen:
    'in progress' for ~8 s after the last deployment ended, until a full recount)."""
    import appupdater.ui.overview.feed as feed_module

    run_id = approve()
    apply_configuration(run_id)
    [first, *_] = Deployment.select().where(Deployment.run == run_id).order_by(Deployment.id)
    real = feed_module.run_summaries
    finished = []

    def summaries_after_a_change(*args, **kwargs):
        if not finished:  # the engine ends one deployment right between the two reads
            finished.append(first.id)
            with writing():
                Deployment.update(
                    state="succeeded", updated_at=utcnow(), revision=next_revision()
                ).where(Deployment.id == first.id).execute()
        return real(*args, **kwargs)

    monkeypatch.setattr(feed_module, "run_summaries", summaries_after_a_change)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.state_of(first.id) == "succeeded", timeout=WAIT)
    overview.poll()
    qtbot.waitUntil(lambda: not overview.feed.reading, timeout=WAIT)

    truth = {}
    for (state,) in Deployment.select(Deployment.state).where(Deployment.run == run_id).tuples():
        truth[state] = truth.get(state, 0) + 1
    [shown] = [r for r in overview.runs_model.items if r.id == run_id]
    assert shown.counts == truth
