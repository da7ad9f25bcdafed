"""The selected deployment's panes: what they say when empty, and times in their messages
shown in local time like the tables (tests run in Europe/Berlin, see tests/conftest.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip

from appupdater.core.runs import apply_configuration
from appupdater.store.db import writing
from appupdater.store.models import Deployment
from appupdater.store.revisions import next_revision
from appupdater.ui.overview.details import CHANGES_HINT, LOG_HINT
from appupdater.ui.timefmt import local_text, local_times_in, short_local_text
from tests.ui.drive import click_row
from tests.ui.test_overview import WAIT, approve, shown_overview


@pytest.fixture
def overview(qtbot, demo_fleet, engine):
    yield from shown_overview(qtbot, engine)


def test_utc_stamps_in_messages_become_local_time():
    # November: Berlin is UTC+1; July: UTC+2
    assert (
        local_times_in(
            "configuration updated; deployment created, scheduled for 2026-11-28 16:00 UTC"
        )
        == "configuration updated; deployment created, scheduled for 2026-11-28 17:00"
    )
    assert (
        local_times_in("rescheduled for 2026-07-01 23:30 UTC") == "rescheduled for 2026-07-02 01:30"
    )
    assert (
        local_times_in("retrying in 60 s (attempt 2 of 3)") == "retrying in 60 s (attempt 2 of 3)"
    )
    assert local_times_in("a UTC clock said 2026-13-40 99:99 UTC") == (
        "a UTC clock said 2026-13-40 99:99 UTC"
    )


def test_empty_panes_say_what_to_select(qtbot, overview, screenshot):
    details = overview.details
    assert details.log.topLevelItemCount() == 0 and details.log.hint() == LOG_HINT
    assert details.changes.topLevelItemCount() == 0 and details.changes.hint() == CHANGES_HINT
    assert "Select a deployment" in LOG_HINT and "Select a deployment" in CHANGES_HINT


def test_the_log_shows_scheduled_times_in_local_time(qtbot, overview):
    run_id = approve(scheduled=1)
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 1, timeout=WAIT)
    model = overview.model
    [row] = [r for r in range(model.rowCount()) if model.row_at(r).state == "scheduled"]
    deployment = Deployment.get_by_id(model.row_at(row).id)
    click_row(qtbot, overview.view, row)
    log = overview.details.log
    qtbot.waitUntil(lambda: log.topLevelItemCount() > 0, timeout=WAIT)
    [created] = [
        log.topLevelItem(i).text(2)
        for i in range(log.topLevelItemCount())
        if "scheduled for" in log.topLevelItem(i).text(2)
    ]
    assert created.endswith(f"scheduled for {local_text(deployment.scheduled_at)}")
    assert "UTC" not in created


def test_the_last_message_column_shows_local_time(qtbot, overview):
    run_id = approve()
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 0, timeout=WAIT)
    first = overview.model.row_at(0).id
    with writing():
        Deployment.update(
            last_message="rescheduled for 2026-11-28 16:00 UTC", revision=next_revision()
        ).where(Deployment.id == first).execute()
    cell = overview.model.index(0, 12)
    qtbot.waitUntil(lambda: cell.data() == "rescheduled for 2026-11-28 17:00", timeout=WAIT)
    assert cell.data(Qt.ItemDataRole.ToolTipRole) == "rescheduled for 2026-11-28 17:00"


def test_short_times_name_the_day_when_it_is_near():
    now = datetime(2026, 11, 27, 22, 30, tzinfo=UTC)  # 23:30 in Berlin
    assert short_local_text(datetime(2026, 11, 27, 16, 0, tzinfo=UTC), now) == "17:00"
    assert short_local_text(datetime(2026, 11, 27, 23, 30, tzinfo=UTC), now) == "tomorrow 00:30"
    assert short_local_text(datetime(2026, 11, 26, 12, 0, tzinfo=UTC), now) == "yesterday 13:00"
    assert short_local_text(datetime(2026, 12, 1, 8, 0, tzinfo=UTC), now) == "2026-12-01 09:00"


LONG = (
    "line-monitor: collector 2.0.0 did not answer its health check on port 8443 within 30 s; "
    "rolled back to 1.0.0 and kept the previous configuration"
)


def hover(qtbot, view, row: int, column: int) -> str:
    """What a person reads when resting the mouse on a cell: its tooltip, or nothing."""
    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible())
    index = view.model().index(row, column)
    view.scrollTo(index)
    at = view.visualRect(index).center()
    event = QHelpEvent(QEvent.Type.ToolTip, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_clipped_text_is_readable_in_a_tooltip_and_above_the_log(qtbot, overview):
    run_id = approve(("line-monitor", "edge-gateway"))
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 1, timeout=WAIT)
    assert overview.view.isColumnHidden(1)  # one run shown: its number is said above
    model, view = overview.model, overview.view
    both = next(r for r in range(model.rowCount()) if "," in model.index(r, 2).data())
    apps = model.index(both, 2).data()
    assert apps == "edge-gateway, line-monitor"
    view.setColumnWidth(2, 60)
    assert hover(qtbot, view, both, 2) == apps  # clipped: the whole text as a tooltip
    view.setColumnWidth(2, 400)
    assert hover(qtbot, view, both, 2) == ""  # shown whole: no tooltip repeats it
    # the last message whole, above the selected deployment's log
    deployment = model.row_at(both).id
    with writing():
        Deployment.update(last_message=LONG, revision=next_revision()).where(
            Deployment.id == deployment
        ).execute()
    qtbot.waitUntil(lambda: model.row_at(both).message == LONG, timeout=WAIT)
    click_row(qtbot, view, both)
    heading = overview.details.heading
    qtbot.waitUntil(lambda: heading.isVisible() and LONG in heading.text(), timeout=WAIT)
    assert heading.text() == f"{model.row_at(both).device} — queued: {LONG}"
    # unselected, then selected again: shown again
    view.clearSelection()
    qtbot.waitUntil(lambda: not heading.isVisible())
    assert overview.details.log.topLevelItemCount() == 0
    click_row(qtbot, view, both)
    qtbot.waitUntil(lambda: overview.details.log.topLevelItemCount() > 0, timeout=WAIT)
    assert heading.isVisible()


def test_the_changes_pane_shows_what_a_waiting_deployment_also_pushes(qtbot, overview, screenshot):
    """agv-91's line-monitor deployment also pushes edge-gateway 4.0.0 (configured earlier,
    the device runs 3.6.0): the pane lists it after the run's own, with why."""
    from appupdater.core.along import ALONG_NOTE
    from tests.helpers import devices_yaml, load_yaml

    load_yaml(
        devices_yaml(
            "{name: agv-91, site: Hall 2, applications: "
            "{line-monitor: {configured: '1.0.0', installed: '1.0.0'}, "
            "edge-gateway: {configured: '4.0.0', installed: '3.6.0'}}}"
        )
    )
    run_id = approve()
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 0, timeout=WAIT)
    model = overview.model
    [row] = [r for r in range(model.rowCount()) if model.row_at(r).device == "agv-91"]
    click_row(qtbot, overview.view, row)
    changes = overview.details.changes
    qtbot.waitUntil(lambda: changes.topLevelItemCount() == 2, timeout=WAIT)
    own, along = changes.topLevelItem(0), changes.topLevelItem(1)
    assert own.text(0) == "line-monitor"
    assert [along.text(c) for c in range(4)] == ["edge-gateway", "", "3.6.0", "4.0.0"]
    assert along.child(0).text(0) == ALONG_NOTE
    assert along.childCount() > 1  # the note, then its modules
    screenshot(overview, "overview-changes-also-pushed")
