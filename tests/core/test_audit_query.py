"""Reading the audit trail: one filter, newest first, in pages by key, and the CSV rows."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from appupdater.core import audit
from appupdater.core import audit_query as q
from tests.audit_entries import PEOPLE, START, fill, record_as


@pytest.fixture
def filled(db):
    fill(60)
    return db


def test_newest_first_and_pages_by_key_see_every_entry_once(filled):
    first = q.entries(q.AuditFilter(), limit=25)
    assert [e.at for e in first] == sorted((e.at for e in first), reverse=True)
    assert first[0].at == START + timedelta(hours=59)
    seen = list(first)
    while len(page := q.entries(q.AuditFilter(), seen[-1].key, 25)):
        seen += page
    assert len(seen) == 60 == len({e.id for e in seen}) == q.count(q.AuditFilter())
    assert list(q.all_entries(q.AuditFilter(), page=7)) == seen


def test_entries_at_the_same_moment_page_by_id(db):
    moment = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    for _ in range(5):
        record_as(PEOPLE[0], audit.PAUSE, moment)
    first = q.entries(q.AuditFilter(), limit=2)
    rest = q.entries(q.AuditFilter(), first[-1].key, 10)
    assert [e.id for e in first + rest] == [5, 4, 3, 2, 1]


def test_each_filter(filled):
    def ids(**spec):
        return {e.id for e in q.entries(q.AuditFilter(**spec), limit=None)}

    everything = q.entries(q.AuditFilter(), limit=None)
    assert ids(user="bob") == {e.id for e in everything if e.user == "bob"} != set()
    assert ids(action="cancel") == {e.id for e in everything if e.action == "cancel"} != set()
    since, until = START + timedelta(hours=10), START + timedelta(hours=20)
    assert ids(since=since, until=until) == {e.id for e in everything if since <= e.at < until}
    assert len(ids(since=since, until=until)) == 10
    # free text: note, outcome, objects (a device, a run), host, OS user; case-insensitive
    assert ids(text="NIGHT shift") == {e.id for e in everything if e.note} != set()
    assert ids(text="refused") == {e.id for e in everything if e.outcome != "done"} != set()
    assert ids(text="edge-07") == {e.id for e in everything if "edge-07" in e.objects["devices"]}
    assert ids(text="ws-carol") == ids(text="carol") == ids(user="ops_role")
    assert ids(text="100%") == set()  # wildcards are matched as themselves
    both = ids(user="alice", action="approve", text="night")
    assert both == {
        e.id for e in everything if (e.user, e.action) == ("alice", "approve") and e.note
    }
    assert q.count(q.AuditFilter(user="alice", action="approve", text="night")) == len(both)


def test_choices_entries_by_id_and_the_latest_id(filled):
    assert q.users() == ["alice", "bob", "ops_role"]
    assert q.actions() == sorted(["approve", "cancel", "import", "pause", "settings"])
    latest = q.latest_id()
    assert latest == 60 and q.by_ids(q.AuditFilter(), []) == []
    record_as(PEOPLE[1], audit.RESUME, START + timedelta(days=9), run=7)
    record_as(PEOPLE[0], audit.RESUME, START + timedelta(days=9, hours=1))
    assert [e.user for e in q.by_ids(q.AuditFilter(), [60, 61, 62])] == ["alice", "bob", "ops_role"]
    assert [e.run for e in q.by_ids(q.AuditFilter(user="bob"), [61, 62])] == [7]
    assert len(q.by_ids(q.AuditFilter(), range(1, 2000))) == 62  # more ids than one IN list


def test_objects_in_words():
    objects = {"runs": [12], "deployments": [3, 4], "devices": ["edge-01"], "file": ["f.yaml"]}
    assert q.objects_text(objects) == ("run #12; deployments #3, #4; device edge-01; file f.yaml")
    many = {"deployments": list(range(1, 1001))}
    assert q.objects_text(many, most=3) == "deployments #1, #2, #3, … 997 more"


def test_csv_has_a_header_both_times_and_words(db):
    record_as(
        PEOPLE[2],
        audit.CANCEL,
        datetime(2026, 11, 28, 9, 30, tzinfo=UTC),
        objects={"deployments": [3, 4]},
        run=12,
        note="Überstunden, «nicht» jetzt",
    )
    out = io.StringIO(newline="")
    assert q.write_csv(q.AuditFilter(), out) == 1
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(header) == q.CSV_HEADER
    assert row == [
        "2026-11-28T09:30:00Z",
        "2026-11-28 10:30:00+01:00",  # the tests run in Europe/Berlin
        "ops_role",
        "carol",
        "ws-carol",
        "cancel",
        "deployments #3, #4",
        "12",
        "Überstunden, «nicht» jetzt",
        "done",
    ]


def test_the_same_reads_on_postgresql(pg):
    fill(60)
    record_as(PEOPLE[1], audit.PAUSE, START + timedelta(days=9), note="100% of wave_1")
    everything = q.entries(q.AuditFilter(), limit=None)
    assert len(everything) == 61 and everything[0].note == "100% of wave_1"
    first = q.entries(q.AuditFilter(), limit=25)
    rest = q.entries(q.AuditFilter(), first[-1].key, None)
    assert [e.id for e in first + rest] == [e.id for e in everything]
    assert q.count(q.AuditFilter(user="bob")) == 21
    assert {e.id for e in q.entries(q.AuditFilter(text="EDGE-07"), limit=None)} == {8, 48}
    assert [e.note for e in q.entries(q.AuditFilter(text="0% of wave_"))] == ["100% of wave_1"]
    assert q.entries(q.AuditFilter(text="0%_of")) == []
    since, until = START + timedelta(hours=10), START + timedelta(hours=20)
    assert q.count(q.AuditFilter(since=since, until=until)) == 10
    assert q.users() == ["alice", "bob", "ops_role"] and q.latest_id() == 61


def test_a_device_name_beyond_ascii_is_found_in_the_objects(db):
    moment = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    record_as(PEOPLE[0], audit.CANCEL, moment, objects={"devices": ["Presse-Üb-01"]})
    record_as(PEOPLE[0], audit.CANCEL, moment, objects={"devices": ["press-02"]})
    [found] = q.entries(q.AuditFilter(text="Üb-01"), limit=None)
    assert found.objects == {"devices": ["Presse-Üb-01"]}


def test_a_note_that_looks_like_a_formula_is_exported_as_text(db):
    moment = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
    record_as(PEOPLE[0], audit.CANCEL, moment, note='=HYPERLINK("http://evil","click")')
    record_as(PEOPLE[0], audit.CANCEL, moment, note="-1 day, as asked")
    out = io.StringIO()
    assert q.write_csv(q.AuditFilter(), out) == 2
    notes = [row[8] for row in list(csv.reader(io.StringIO(out.getvalue())))[1:]]
    assert notes == ["'-1 day, as asked", '\'=HYPERLINK("http://evil","click")']
