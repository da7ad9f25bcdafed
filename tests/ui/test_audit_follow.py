"""The open Audit log follows the trail: an entry committed late — with an older time, or on
PostgreSQL with an id below one already shown — appears without Refresh, at its place by time,
only if the filters match it, once, and the selected row and what is in view stay put."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core import audit
from appupdater.ui.audit_window import AuditWindow
from tests.audit_entries import PEOPLE, START, fill, record_as
from tests.core.test_audit_follow_pg import open_transaction
from tests.ui.drive import choose_in_combo, click_row
from tests.ui.test_audit_window import _closed_at_the_end, _open, demo_fleet  # noqa: F401


def _keys_newest_first(window) -> bool:
    keys = [e.key for e in window.model.items]
    return keys == sorted(keys, reverse=True) and len({e.id for e in window.model.items}) == len(
        keys
    )


@pytest.mark.usefixtures("demo_fleet")
def test_a_late_entry_lands_at_its_place_keeping_selection_and_view(qtbot, main_window):
    fill(450)  # bob wrote every third: 150, all read at once
    window = _open(qtbot, main_window)
    window.resize(1024, 700)
    choose_in_combo(qtbot, window.filters.user, "bob")
    qtbot.waitUntil(lambda: window.count.text() == "150 entries" and window.model.rowCount() == 150)
    click_row(qtbot, window.view, 80)
    selected = window.selected_entry()
    bar = window.view.verticalScrollBar()
    assert selected is not None and bar.value() > 0
    top = window.view.indexAt(window.view.viewport().rect().topLeft())
    top_id, top_y = window.model.items[top.row()].id, window.view.visualRect(top).top()

    late = selected.at + timedelta(minutes=30)  # between the selected row and the one above
    record_as(PEOPLE[1], audit.PAUSE, late, note="committed late, bob")
    record_as(PEOPLE[0], audit.PAUSE, late, note="committed late, alice")  # filtered out
    record_as(PEOPLE[1], audit.RESUME, START + timedelta(days=30), note="newest")
    qtbot.waitUntil(lambda: window.count.text() == "152 entries")

    items = window.model.items
    assert len(items) == 152 and _keys_newest_first(window)
    assert items[0].note == "newest"
    assert [e.note for e in items if e.note.startswith("committed late")] == ["committed late, bob"]
    row = next(r for r, e in enumerate(items) if e.note == "committed late, bob")
    assert items[row + 1].id == selected.id  # just above the selected row
    assert window.selected_entry() == selected
    now_top = window.view.indexAt(window.view.viewport().rect().topLeft())
    assert (items[now_top.row()].id, window.view.visualRect(now_top).top()) == (top_id, top_y)
    window.close()


@pytest.mark.integration
def test_on_postgresql_a_lower_id_committed_later_appears(qtbot, pg):
    fill(3)
    window = AuditWindow(follow_ms=50)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.count.text() == "3 entries")
    with open_transaction(pg, "T1, committed late", commit=True):
        record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=2), note="T2")
        qtbot.waitUntil(lambda: window.count.text() == "4 entries")
        assert window.model.items[0].note == "T2"
    qtbot.waitUntil(lambda: window.count.text() == "5 entries")
    items = window.model.items
    assert [e.note for e in items[:2]] == ["T2", "T1, committed late"]
    assert items[1].id < items[0].id and _keys_newest_first(window)
    window.close()


@pytest.mark.integration
def test_on_postgresql_a_rolled_back_id_is_forgotten(qtbot, pg):
    fill(3)
    window = AuditWindow(follow_ms=50)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.count.text() == "3 entries")
    with open_transaction(pg, "T1, rolled back", commit=False):
        record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=2), note="T2")
        qtbot.waitUntil(lambda: [g.id for g in window.following.gaps] == [4])
    qtbot.waitUntil(lambda: window.following.gaps == () and window.following.last == 5)
    assert window.count.text() == "4 entries"
    window.close()
