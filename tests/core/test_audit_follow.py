"""Following the audit trail (core/audit_follow.py) on SQLite: what a look finds, the gaps it
keeps and how long, and a first page that starts the following in its own snapshot."""

from __future__ import annotations

from datetime import timedelta

from appupdater.core import audit
from appupdater.core import audit_follow as follow
from appupdater.core import audit_query as q
from tests.audit_entries import PEOPLE, START, fill, record_as

EVERY = q.AuditFilter()


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _gaps(*ids: int, open_then: follow.OpenSet = frozenset(), at: float = 0.0):
    return tuple(follow.Gap(i, at, open_then) for i in ids)


def test_a_look_finds_what_was_committed_since_and_only_once(db):
    fill(5)
    start = follow.begin()
    assert start == follow.Following(last=5)
    record_as(PEOPLE[1], audit.RESUME, START + timedelta(days=2), run=7)
    record_as(PEOPLE[0], audit.CANCEL, START + timedelta(days=3))
    found = follow.look(EVERY, start)
    assert [e.action for e in found.entries] == ["cancel", "resume"]
    assert found.following == follow.Following(last=7) and found.found == [6, 7]
    again = follow.look(EVERY, found.following)
    assert again.entries == [] and again.following == found.following
    bob = follow.look(q.AuditFilter(user="bob"), start)
    assert [e.run for e in bob.entries] == [7] and bob.following.last == 7


def test_a_gap_is_asked_for_once_more_then_forgotten_on_sqlite(db):
    """SQLite commits one writer at a time: an id below a committed one is already final
    (and a rolled-back id is taken again by the next entry, so gaps are rare there)."""
    fill(4)
    waiting = follow.Following(last=4, gaps=_gaps(3, 9))  # 9: beyond the newest, never written
    found = follow.look(EVERY, waiting)
    assert [e.id for e in found.entries] == [3]
    assert found.following == follow.Following(last=4)


def test_a_first_page_notes_the_gaps_among_the_newest_ids(db):
    fill(4)
    q.AuditEntry.delete().where(q.AuditEntry.id == 2).execute()  # as if rolled back
    start = follow.begin()
    assert start.last == 4 and [g.id for g in start.gaps] == [2]
    assert follow.look(EVERY, start).following == follow.Following(last=4)


def test_where_the_server_cannot_say_a_gap_is_kept_for_a_while(db, monkeypatch):
    clock = Ticks()
    monkeypatch.setattr(follow, "open_transactions", lambda: None)
    fill(3)
    following = follow.Following(last=3, gaps=_gaps(5, open_then=None, at=clock.now))
    clock.now += follow.FALLBACK_S - 1
    following = follow.look(EVERY, following, clock).following
    assert [g.id for g in following.gaps] == [5]
    clock.now += 1
    assert follow.look(EVERY, following, clock).following == follow.Following(last=3)


def test_gaps_noticed_are_kept_until_decided_and_bounded(db, monkeypatch):
    monkeypatch.setattr(follow, "open_transactions", lambda: None)
    monkeypatch.setattr(follow, "MAX_GAPS", 3)
    fill(6)
    q.AuditEntry.delete().where(q.AuditEntry.id.between(2, 5)).execute()
    found = follow.look(EVERY, follow.Following(last=1))
    assert [e.id for e in found.entries] == [6]
    assert [g.id for g in found.following.gaps] == [3, 4, 5]  # the newest three of 2..5


def test_many_new_entries_ask_for_the_first_page_again(db, monkeypatch):
    monkeypatch.setattr(follow, "MOST", 10)
    start = follow.begin()
    fill(11)
    found = follow.look(EVERY, start)
    assert found.many and found.following == start
