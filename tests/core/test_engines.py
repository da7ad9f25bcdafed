"""The engines sharing a database, as a window lists them (core/engines.py)."""

from __future__ import annotations

from datetime import timedelta

from appupdater.core import scheduling
from appupdater.core.engines import engines
from appupdater.core.runs import DEPLOY_NOW
from tests.core.lifecycle import T0, approve_and_configure, load_fleet


def test_each_engine_with_what_it_runs_now(db):
    load_fleet(("press-01", "press-02", "press-03"), versions=4)
    for k, device in enumerate(("press-01", "press-02", "press-03"), start=1):
        approve_and_configure(k, device, DEPLOY_NOW, T0)
    scheduling.heartbeat("engine-a", "workstation-7", 4242, T0)
    scheduling.heartbeat("engine-b", "server-2", 17, T0 + timedelta(seconds=5))
    assert len(scheduling.claim("engine-a", T0, 2)) == 2
    assert len(scheduling.claim("engine-b", T0, 10)) == 1
    listed = engines()
    assert [(e.host, e.pid, e.running) for e in listed] == [
        ("workstation-7", 4242, 2),
        ("server-2", 17, 1),
    ]
    assert listed[0].started_at == T0 and listed[1].beat >= 1
    scheduling.forget_instance("engine-b")
    assert [e.host for e in engines()] == ["workstation-7"]
