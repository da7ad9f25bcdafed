"""Following the audit trail on PostgreSQL, where ids are not commit order: T1 takes an id and
stays open while T2 takes the next and commits. A look sees T2's entry; T1's arrives at the
next look after it commits; a rolled-back T1's id is forgotten once T1 has ended. Skipped where
no server exists."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from appupdater.core import audit
from appupdater.core import audit_follow as follow
from appupdater.core import audit_query as q
from appupdater.store.db import writing
from tests.audit_entries import PEOPLE, START, acting_as, fill, record_as

pytestmark = pytest.mark.integration
EVERY = q.AuditFilter()


class Ending(Exception):
    """Rolls the open transaction back."""


@contextmanager
def open_transaction(pg, note: str, commit: bool) -> Iterator[None]:
    """T1: on its own connection, records an entry and waits inside its transaction until the
    block ends; then commits it (or rolls it back)."""
    recorded, release = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def t1() -> None:
        try:
            with pg.connection_context(), acting_as(PEOPLE[0]), writing():
                audit.record(audit.CANCEL, note=note, now=START + timedelta(days=1))
                recorded.set()
                assert release.wait(30)
                if not commit:
                    raise Ending
        except Ending:
            pass
        except BaseException as exc:  # reported by the test
            failures.append(exc)
            recorded.set()

    thread = threading.Thread(target=t1, name="t1")
    thread.start()
    try:
        assert recorded.wait(30)
        yield
    finally:
        release.set()
        thread.join(30)
    assert not failures and not thread.is_alive()


def test_an_entry_committed_after_a_higher_id_still_arrives(pg):
    fill(2)
    start = follow.begin()
    with open_transaction(pg, "T1, committed late", commit=True):
        record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=2), note="T2")
        first = follow.look(EVERY, start)
        assert [e.note for e in first.entries] == ["T2"]
        assert [e.id for e in first.entries] == [4]
        assert [g.id for g in first.following.gaps] == [3]
        still = follow.look(EVERY, first.following)  # T1 is open: the gap stays
        assert still.entries == [] and still.following.gaps == first.following.gaps
    late = follow.look(EVERY, first.following)
    assert [(e.id, e.note) for e in late.entries] == [(3, "T1, committed late")]
    assert late.following == follow.Following(last=4)


def test_a_first_page_read_while_t1_is_open_still_gets_its_entry(pg):
    fill(2)
    with open_transaction(pg, "T1", commit=True):
        record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=2), note="T2")
        with follow.snapshot():
            page, start = q.entries(EVERY), follow.begin()
        assert [e.id for e in page] == [4, 2, 1] and [g.id for g in start.gaps] == [3]
    assert [e.note for e in follow.look(EVERY, start).entries] == ["T1"]


def test_a_rolled_back_id_is_forgotten_once_its_transaction_ended(pg):
    fill(2)
    start = follow.begin()
    with open_transaction(pg, "T1, rolled back", commit=False):
        record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=2), note="T2")
        following = follow.look(EVERY, start).following
        for _ in range(3):
            following = follow.look(EVERY, following).following
            assert [g.id for g in following.gaps] == [3]
    ended = follow.look(EVERY, following)
    assert ended.entries == [] and ended.following == follow.Following(last=4)
