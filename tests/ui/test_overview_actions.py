"""Acting on deployments in the overview as an administrator does: a question with the count
before acting on several, a sentence with counts afterwards, rows that show what happened,
a reschedule that starts from the current time, a new run opened unfiltered at its top, and
the CSV report saved to the documents folder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QFileDialog

from appupdater.core.runs import apply_configuration
from appupdater.store.models import Deployment
from appupdater.ui.overview.reschedule_dialog import RescheduleDialog
from appupdater.ui.timefmt import local_text, short_local_text
from tests.ui.drive import choose_in_combo, click_action, click_row
from tests.ui.test_overview import WAIT, approve, shown_overview


@pytest.fixture
def overview(qtbot, demo_fleet, engine):
    yield from shown_overview(qtbot, engine)


def opened(qtbot, overview, **kwargs) -> int:
    run_id = approve(**kwargs)
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 5, timeout=WAIT)
    return run_id


def rows_in(overview, state: str) -> list[int]:
    model = overview.model
    return [r for r in range(model.rowCount()) if model.row_at(r).state == state]


def select(qtbot, overview, rows: list[int]) -> list[int]:
    for i, row in enumerate(rows):
        modifier = Qt.KeyboardModifier.ControlModifier if i else Qt.KeyboardModifier.NoModifier
        click_row(qtbot, overview.view, row, modifier=modifier)
    ids = overview.selected_ids()
    assert len(ids) == len(rows)
    return ids


def shows(overview, run_id: int) -> bool:
    """The rows of `run_id` arrived (the run is chosen before they are read)."""
    model = overview.model
    return bool(model.rows) and all(row.run == run_id for row in model.rows)


def said(overview) -> str:
    return overview.statusBar().currentMessage()


def test_cancel_of_several_asks_with_the_count_then_says_what_it_did(
    qtbot, overview, message_boxes
):
    opened(qtbot, overview)
    ids = select(qtbot, overview, rows_in(overview, "queued")[:3])
    message_boxes.answer(text="Keep Them")
    click_action(qtbot, overview, overview.cancel_action)
    assert message_boxes.seen == ["Cancel 3 deployments?"]
    assert {Deployment.get_by_id(i).state for i in ids} == {"queued"}  # kept
    message_boxes.answer(text="Cancel Deployments")
    click_action(qtbot, overview, overview.cancel_action)
    qtbot.waitUntil(lambda: said(overview) == "Cancelled 3 deployments.", timeout=WAIT)
    assert {Deployment.get_by_id(i).state for i in ids} == {"cancelled"}
    # retrying them says so too (no question: nothing is lost)
    click_action(qtbot, overview, overview.retry_action)
    qtbot.waitUntil(lambda: said(overview) == "Queued 3 deployments again.", timeout=WAIT)


def test_one_deployment_is_cancelled_without_a_question(qtbot, overview, message_boxes):
    opened(qtbot, overview)
    [deployment] = select(qtbot, overview, rows_in(overview, "queued")[:1])
    click_action(qtbot, overview, overview.cancel_action)
    qtbot.waitUntil(lambda: said(overview) == "Cancelled 1 deployment.", timeout=WAIT)
    assert message_boxes.seen == [] and Deployment.get_by_id(deployment).state == "cancelled"


def test_deploy_now_asks_then_the_rows_show_what_happened(qtbot, overview, message_boxes):
    opened(qtbot, overview, scheduled=3)
    rows = rows_in(overview, "scheduled")
    ids = select(qtbot, overview, rows[:2])
    was = {i: Deployment.get_by_id(i).scheduled_at for i in ids}
    message_boxes.answer(text="Deploy Now")
    click_action(qtbot, overview, overview.now_action)
    assert message_boxes.seen == ["Deploy 2 deployments now?"]
    qtbot.waitUntil(lambda: said(overview) == "Queued 2 deployments to deploy now.", timeout=WAIT)
    assert {Deployment.get_by_id(i).state for i in ids} == {"queued"}
    model = overview.model

    def cells(deployment_id: int) -> tuple[str, str]:
        row = model.display_row_of(deployment_id)
        return model.index(row, 3).data(), model.index(row, 7).data()

    for deployment_id, at in was.items():
        expected = (f"now, not {short_local_text(at)}", "")
        qtbot.waitUntil(lambda d=deployment_id, e=expected: cells(d) == e, timeout=WAIT)
        tip = model.index(model.display_row_of(deployment_id), 3).data(Qt.ItemDataRole.ToolTipRole)
        assert tip == f"Was scheduled for {local_text(at)}; deployed now instead."
    # the one still waiting keeps its action and time
    waiting = model.row_at(rows[2]).id
    assert cells(waiting) == (
        "at a time",
        local_text(Deployment.get_by_id(waiting).scheduled_at),
    )


def test_reschedule_starts_from_the_current_time(qtbot, overview):
    opened(qtbot, overview, scheduled=2)
    [deployment] = select(qtbot, overview, rows_in(overview, "scheduled")[:1])
    before = Deployment.get_by_id(deployment).scheduled_at
    seen = {}

    def one_hour_later():
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, RescheduleDialog):
            QTimer.singleShot(25, one_hour_later)
            return
        seen["start"] = dialog.chosen()
        seen["current"] = dialog.current.text()
        dialog.edit.setDateTime(dialog.edit.dateTime().addSecs(3600))
        ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
        qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)

    QTimer.singleShot(0, one_hour_later)
    click_action(qtbot, overview, overview.reschedule_action)
    assert abs(seen["start"] - before) < timedelta(milliseconds=1)  # Qt keeps milliseconds
    assert seen["current"] == f"Now scheduled for {local_text(before)}."
    moved = seen["start"] + timedelta(hours=1)
    qtbot.waitUntil(lambda: Deployment.get_by_id(deployment).scheduled_at == moved, timeout=WAIT)
    qtbot.waitUntil(
        lambda: said(overview) == f"Rescheduled 1 deployment for {local_text(moved)}.",
        timeout=WAIT,
    )


def test_a_newly_opened_run_starts_unfiltered_at_its_top(qtbot, overview):
    first = opened(qtbot, overview)
    # opened before the list had it (as right after Approve Update): marked in the list
    [selected] = overview.runs_view.selectionModel().selectedRows()
    assert overview.runs_model.items[selected.row()].id == first
    choose_in_combo(qtbot, overview.state_filter, "Queued")
    overview.view.scrollToBottom()
    qtbot.waitUntil(lambda: overview.view.verticalScrollBar().value() > 0)
    second = approve(("edge-gateway",))
    apply_configuration(second)
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() >= 2, timeout=WAIT)
    runs = [r.id for r in overview.runs_model.items]
    click_row(qtbot, overview.runs_view, runs.index(second))
    qtbot.waitUntil(lambda: shows(overview, second), timeout=WAIT)
    assert overview.state_filter.currentText() == "All states"
    assert overview.model.rowCount() == len(overview.model.rows)
    assert overview.view.verticalScrollBar().value() == 0
    # back to the first: all of its rows, from the top
    click_row(qtbot, overview.runs_view, runs.index(first))
    qtbot.waitUntil(lambda: shows(overview, first), timeout=WAIT)
    qtbot.waitUntil(
        lambda: (
            overview.model.rowCount() == Deployment.select().where(Deployment.run == first).count()
        ),
        timeout=WAIT,
    )
    assert overview.view.verticalScrollBar().value() == 0


def test_the_csv_dialog_starts_in_the_documents_folder(qtbot, overview, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    documents = Path(
        QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation)
    )
    documents.mkdir(parents=True)
    assert documents.is_relative_to(tmp_path)
    run_id = opened(qtbot, overview)
    asked = []
    elsewhere = tmp_path / "reports" / "weekly.csv"
    elsewhere.parent.mkdir()

    def save_as(parent, caption, start, filters):
        asked.append(start)
        return str(elsewhere), filters

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_as)
    click_action(qtbot, overview, overview.export_action)
    qtbot.waitUntil(elsewhere.exists, timeout=WAIT)
    assert asked == [str(documents / f"run-{run_id}.csv")]
    qtbot.waitUntil(lambda: said(overview).startswith("Exported "), timeout=WAIT)
    devices = Deployment.select().where(Deployment.run == run_id).count()
    assert said(overview) == f"Exported {devices} devices of run #{run_id} to {elsewhere}."
    # the next export starts where the last one went
    click_action(qtbot, overview, overview.export_action)
    assert asked[-1] == str(elsewhere.parent / f"run-{run_id}.csv")
    QSettings().remove("overview/export_dir")
    qtbot.waitUntil(lambda: not overview.feed.reading, timeout=WAIT)
