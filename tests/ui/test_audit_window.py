"""View → Audit log…: one window, newest first, read a page at a time off the GUI thread;
filters by time, user, action and text change the rows and the count; new entries appear while
it is open; Export CSV… writes what is filtered; an entry's run opens in the overview."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from appupdater.core import audit
from appupdater.core import audit_query as q
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.ui.audit_window import NOTHING_MATCHES, NOTHING_YET, AuditWindow
from tests.audit_entries import PEOPLE, fill, record_as
from tests.ui.conftest import shots_folder
from tests.ui.drive import LEFT, choose_in_combo, choose_menu, click_action, click_row

SHOTS = shots_folder("auditui18")


def _open(qtbot, main_window) -> AuditWindow:
    choose_menu(qtbot, main_window, "View", "Audit log…")
    [window] = [w for w in main_window.findChildren(AuditWindow) if w.isVisible()]
    window.follow_timer.setInterval(50)
    users = len(q.users())  # the choices come after the first page
    qtbot.waitUntil(
        lambda: window.count.text() != "Loading…" and window.filters.user.count() == 1 + users
    )
    return window


def _column(window, column):
    model = window.model
    return [model.index(row, column).data() for row in range(model.rowCount())]


def _wait_rows(qtbot, window, expected_count):
    qtbot.waitUntil(
        lambda: (
            window.count.text() == f"{expected_count:,} entries"
            and window.model.rowCount() == min(expected_count, q.PAGE)
        )
    )


@pytest.fixture(autouse=True)
def _closed_at_the_end(main_window):
    yield
    for window in main_window.findChildren(AuditWindow):
        window.close()


@pytest.fixture
def demo_fleet(db, monkeypatch):
    """The demo fleet as tests/ui/conftest.py loads it, but loaded before the audit trail began
    (its import is not an entry): these tests count and order the entries they write."""
    from tests.ui import conftest

    with monkeypatch.context() as quiet:
        quiet.setattr(audit, "record", lambda *args, **kwargs: None)
        conftest.demo_fleet.__wrapped__(db)
    assert q.count(q.AuditFilter()) == 0
    return db


@pytest.fixture
def entries(demo_fleet):
    fill(60)
    return demo_fleet


def test_one_window_newest_first_with_a_count(qtbot, main_window, entries, qtmodeltester):
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 60)
    assert window.count.text() == "60 entries"
    times = _column(window, window.model.TIME)
    assert times == sorted(times, reverse=True)
    # 2026-11-03 19:00 UTC is 20:00 in Berlin
    assert times[0] == "2026-11-03 20:00:00"
    assert _column(window, window.model.USER)[:3] == ["ops_role (OS user carol)", "bob", "alice"]
    assert window.model.index(0, window.model.OBJECTS).data() == "run #60; device edge-19"
    qtmodeltester.check(window.model)
    choose_menu(qtbot, main_window, "View", "Audit log…")
    assert [w for w in main_window.findChildren(AuditWindow)] == [window]
    window.close()


def test_filters_change_the_rows(qtbot, main_window, entries):
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 60)
    bar = window.filters

    choose_in_combo(qtbot, bar.user, "bob")
    _wait_rows(qtbot, window, 20)
    assert set(_column(window, window.model.USER)) == {"bob"}

    choose_in_combo(qtbot, bar.action, "cancel")
    _wait_rows(qtbot, window, 4)  # bob has every third entry, cancel every fifth: 15 apart
    assert set(_column(window, window.model.ACTION)) == {"cancel"}

    choose_in_combo(qtbot, bar.user, "All users")
    _wait_rows(qtbot, window, 12)
    qtbot.keyClicks(bar.search, "NIGHT")  # notes on every seventh entry
    _wait_rows(qtbot, window, 2)  # entries 1 and 36 (i = 0 and 35): cancels with a note
    assert set(_column(window, window.model.NOTE)) == {"night shift"}

    bar.search.clear()
    choose_in_combo(qtbot, bar.action, "All actions")
    _wait_rows(qtbot, window, 60)
    # a custom range, typed into From and To (local time) and taken with Return
    choose_in_combo(qtbot, bar.period, "Custom range")
    _wait_rows(qtbot, window, 0)  # the last week: the entries are of November 2026's first days
    for edit, typed in ((bar.since_edit, "2026-11-01 10:00"), (bar.until_edit, "2026-11-01 12:59")):
        qtbot.mouseClick(edit.lineEdit(), LEFT)
        qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClicks(edit, typed)
        qtbot.keyClick(edit, Qt.Key.Key_Return)
        assert edit.dateTime().toString("yyyy-MM-dd HH:mm") == typed
        assert bar.period.currentText() == "Custom range"
    _wait_rows(qtbot, window, 3)  # 09:00, 10:00, 11:00 UTC
    assert _column(window, window.model.TIME) == [
        "2026-11-01 12:00:00",
        "2026-11-01 11:00:00",
        "2026-11-01 10:00:00",
    ]
    choose_in_combo(qtbot, bar.user, "alice")
    choose_in_combo(qtbot, bar.action, "import")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.empty)
    assert window.empty.text() == NOTHING_MATCHES and window.count.text() == "0 entries"
    window.close()


def test_presets_count_back_from_now_and_new_entries_appear(qtbot, main_window, demo_fleet):
    now = datetime.now(UTC)
    fill(50, start=now - timedelta(hours=49, minutes=30))  # the last 20 are within 24 hours
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 50)
    choose_in_combo(qtbot, window.filters.period, "Last 24 hours")
    _wait_rows(qtbot, window, 24)
    record_as(PEOPLE[1], audit.PAUSE, datetime.now(UTC), run=5, note="written while open")
    _wait_rows(qtbot, window, 25)
    assert window.model.index(0, window.model.NOTE).data() == "written while open"
    window.close()


def test_more_rows_are_read_as_the_table_scrolls(qtbot, main_window, demo_fleet):
    fill(450)
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 450)
    window.view.setFocus()
    for _ in range(3):  # two more pages, one per Ctrl+End at the bottom
        before = window.model.rowCount()
        if before == 450:
            break
        qtbot.keyClick(window.view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda b=before: window.model.rowCount() > b and not window.model.fetching)
    assert window.model.rowCount() == 450
    ids = [e.id for e in window.model.items]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 450
    window.close()


def test_export_csv_writes_what_is_filtered(qtbot, main_window, entries, monkeypatch, tmp_path):
    record_as(PEOPLE[1], audit.CANCEL, datetime(2026, 12, 1, 9, 0, tzinfo=UTC), note="Grüße — ok")
    window = _open(qtbot, main_window)
    choose_in_combo(qtbot, window.filters.user, "bob")
    _wait_rows(qtbot, window, 21)
    target = tmp_path / "bob.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(window.exported):
        click_action(qtbot, window, window.export_action)
    assert window.statusBar().currentMessage() == f"Exported 21 entries to {target}"
    with target.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == q.CSV_HEADER and len(rows) == 22
    assert rows[1][:3] == ["2026-12-01T09:00:00Z", "2026-12-01 10:00:00+01:00", "bob"]
    assert rows[1][-2] == "Grüße — ok" and {r[2] for r in rows[1:]} == {"bob"}
    window.close()


def test_an_unwritable_path_says_why(
    qtbot, main_window, entries, monkeypatch, tmp_path, message_boxes
):
    window = _open(qtbot, main_window)
    target = tmp_path / "no-such-folder" / "audit.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    message_boxes.answer()
    click_action(qtbot, window, window.export_action)
    qtbot.waitUntil(lambda: bool(message_boxes.seen))
    assert message_boxes.seen == [
        f"Could not write {target}: No such file or directory.\n\n"
        "Choose another folder or file name."
    ]
    assert window.export_action.isEnabled()
    window.close()


def test_open_run_in_overview(qtbot, main_window, demo_fleet):
    run_id = create_run(plan_update([Selection("line-monitor", "1.2.0")]), approved_by="alice")
    record_as(
        PEOPLE[0], audit.IMPORT, datetime(2026, 11, 2, tzinfo=UTC), objects={"file": ["f.yaml"]}
    )
    record_as(PEOPLE[1], audit.PAUSE, datetime(2026, 11, 3, tzinfo=UTC), run=run_id)
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 3)  # the run's own approval (now), the pause, the import
    assert _column(window, window.model.ACTION) == ["approve", "pause", "import"]
    assert not window.open_run_action.isEnabled()
    click_row(qtbot, window.view, 2)  # the import names no run
    assert not window.open_run_action.isEnabled()
    click_row(qtbot, window.view, 1)
    assert window.open_run_action.isEnabled()
    index = window.model.index(1, 0)
    qtbot.mouseDClick(window.view.viewport(), LEFT, pos=window.view.visualRect(index).center())
    overview = main_window.overview
    assert overview is not None and overview.isVisible()
    qtbot.waitUntil(lambda: overview.run_id == run_id)
    overview.close()
    window.close()


def test_screenshots(qtbot, main_window, demo_fleet):
    SHOTS.mkdir(parents=True, exist_ok=True)
    window = _open(qtbot, main_window)
    assert window.empty.text() == NOTHING_YET and window.stack.currentWidget() is window.empty
    for width, height in ((1280, 800), (1024, 700)):
        window.resize(width, height)
        QApplication.processEvents()
        assert window.grab().save(str(SHOTS / f"audit-empty-{width}x{height}.png"))
    window.close()
    now = datetime.now(UTC)
    notes = ("", "wrong site, Frühschicht asked to wait", "", "customer window moved to Friday")
    for i in range(50):
        person = PEOPLE[i % 3]
        action = audit.ACTIONS[i % len(audit.ACTIONS)]
        objects = {"runs": [100 + i % 9], "deployments": list(range(i, i + i % 6 + 1))}
        if i % 4 == 0:
            objects = {"devices": [f"press-{i:02d}"]}
        outcome = audit.refused("the deployment had finished") if i % 13 == 5 else audit.DONE
        record_as(
            person, action, now - timedelta(hours=50 - i), objects=objects, run=100 + i % 9,
            note=notes[i % 4], outcome=outcome,
        )  # fmt: skip
    choose_menu(qtbot, main_window, "View", "Audit log…")
    _wait_rows(qtbot, window, 50)
    click_row(qtbot, window.view, 2)
    for width, height in ((1280, 800), (1024, 700)):
        window.resize(width, height)
        QApplication.processEvents()
        assert window.grab().save(str(SHOTS / f"audit-{width}x{height}.png"))
    choose_in_combo(qtbot, window.filters.user, "bob")
    qtbot.keyClicks(window.filters.search, "friday")
    qtbot.waitUntil(lambda: window.count.text() == "4 entries")
    assert window.grab().save(str(SHOTS / "audit-filtered-1024x700.png"))
    window.close()


def test_new_entries_still_appear_after_closing_during_a_look(qtbot, main_window, demo_fleet):
    fill(3)
    window = _open(qtbot, main_window)
    _wait_rows(qtbot, window, 3)
    window._look_for_new()  # a look in flight when the person closes the window
    window.close()
    choose_menu(qtbot, main_window, "View", "Audit log…")
    assert window.isVisible()
    _wait_rows(qtbot, window, 3)
    record_as(PEOPLE[1], audit.PAUSE, datetime.now(UTC), run=5, note="after reopening")
    _wait_rows(qtbot, window, 4)
    window.close()
