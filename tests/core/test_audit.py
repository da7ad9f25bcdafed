"""The audit trail's one append function: who, where, what, on which objects, in the caller's
transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import peewee
import pytest

from appupdater.core import audit
from appupdater.core.identity import who
from appupdater.store.db import writing
from appupdater.store.team_models import AuditEntry


def test_record_keeps_who_where_what_and_on_which_objects(db):
    when = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    audit.record(
        audit.CANCEL,
        objects={"runs": [3], "deployments": (7, 8)},
        note="wrong site",
        run=3,
        now=when,
    )
    entry = AuditEntry.get()
    me = who()
    assert (entry.user, entry.os_user, entry.host) == (me.user, me.os_user, me.host)
    assert (entry.action, entry.run, entry.note, entry.outcome) == (
        "cancel",
        3,
        "wrong site",
        "done",
    )
    assert entry.objects == {"runs": [3], "deployments": [7, 8]}
    assert entry.at == when


def test_an_entry_rolls_back_with_the_action_it_records(db):
    with pytest.raises(peewee.IntegrityError), writing():
        audit.record(audit.PAUSE, run=1)
        raise peewee.IntegrityError("the action failed")
    assert AuditEntry.select().count() == 0
