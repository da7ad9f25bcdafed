"""Random sequences of runs, rollbacks, reverts and imports: every device's history stays a
gapless chain (1, 2, …, each replacing the one before) whose newest revision is the device's
current configuration, replaying the recorded changes rebuilds every revision, and only a
rollback or a revert ever takes an application to an earlier version."""

from __future__ import annotations

import itertools
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appupdater.core.config_history import device_history
from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_revert, plan_rollback
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.core.versions import parse_version
from appupdater.errors import AppUpdaterError
from appupdater.store.db import close_database, open_database
from appupdater.store.models import Device, UpdateRun
from appupdater.store.models import db as db_proxy
from tests.core.test_rollback import snapshot
from tests.helpers import CATALOG, devices_yaml, load_yaml

DEVICES = ("press-01", "press-02", "press-03")
VERSIONS = {
    "line-monitor": ("1.0.0", "1.5.0", "2.0.0", "2.1.0-rc.1"),
    "edge-gateway": ("3.9", "3.10"),
}
_COPIES = itertools.count()

run_step = st.tuples(
    st.just("run"),
    st.sampled_from(sorted(VERSIONS)),
    st.integers(0, 3),
    st.sets(st.sampled_from(DEVICES), min_size=1),
)
rollback_step = st.tuples(st.just("rollback"), st.integers(0, 5), st.sets(st.sampled_from(DEVICES)))
revert_step = st.tuples(st.just("revert"), st.sampled_from(DEVICES), st.integers(1, 6))
import_step = st.tuples(
    st.just("import"),
    st.sampled_from(DEVICES),
    st.sampled_from(sorted(VERSIONS)),
    st.integers(0, 3),
)
steps = st.lists(
    st.one_of(run_step, run_step, rollback_step, rollback_step, revert_step, import_step),
    max_size=12,
)


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "template.sqlite3"
    open_database(str(path))
    load_yaml(
        CATALOG
        + devices_yaml(
            "{name: press-01, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'},"
            " edge-gateway: {configured: '3.9', installed: '3.9'}}}",
            "{name: press-02, applications: {line-monitor: {configured: '1.5.0', installed: '1.0.0'}}}",
            "{name: press-03, applications: {line-monitor: {installed: '1.0.0'},"
            " edge-gateway: {installed: '3.9'}}}",
        )
    )
    close_database()
    db_proxy.initialize(None)
    return path


def _apply(step) -> None:
    kind = step[0]
    ids = {d.name: d.id for d in Device.select()}
    try:
        if kind == "run":
            _, app, index, devices = step
            versions = VERSIONS[app]
            plan = plan_update([Selection(app, versions[index % len(versions)])])
            chosen = [ids[name] for name in devices]
            run_id = create_run(plan, approved_by="a", devices=chosen, default=CONFIG_ONLY)
        elif kind == "rollback":
            _, back, devices = step
            runs = [r.id for r in UpdateRun.select().order_by(UpdateRun.id)]
            if not runs:
                return
            chosen = [ids[name] for name in devices] or None
            plan = plan_rollback(runs[-1 - back % len(runs)], chosen)
            run_id = create_run(plan, approved_by="b", default=CONFIG_ONLY)
        elif kind == "revert":
            _, name, number = step
            plan = plan_revert(ids[name], number)
            run_id = create_run(plan, approved_by="c", default=CONFIG_ONLY)
        else:
            _, name, app, index = step
            versions = VERSIONS[app]
            load_yaml(
                devices_yaml(
                    f"{{name: {name}, applications: {{{app}: "
                    f"{{configured: '{versions[index % len(versions)]}'}}}}}}"
                )
            )
            return
    except AppUpdaterError:  # nothing to do (no device affected, nothing to roll back, …)
        return
    apply_configuration(run_id)


def _check() -> None:
    current = snapshot()
    for device in Device.select():
        history = list(reversed(device_history(device.id)))
        assert [r.number for r in history] == list(range(1, len(history) + 1))
        assert [r.replaced for r in history] == [None, *range(1, len(history))]
        assert history[-1].number == device.config_revision
        assert history[-1].configured == current.get(device.name, {})
        replayed: dict[str, str] = {}
        for before, revision in zip([None, *history], history, strict=False):
            for change in revision.changes:
                if change.to_version is None:
                    replayed.pop(change.application)
                else:
                    replayed[change.application] = change.to_version
                restoring = revision.reason.startswith(("rollback of run #", "revert to "))
                if before is not None and change.from_version and not restoring:
                    assert parse_version(change.to_version or "0") > parse_version(
                        change.from_version
                    ), (device.name, revision.reason, change)
            assert replayed == revision.configured


@settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps)
def test_histories_replay_to_the_current_configuration(template, steps):
    path = template.with_name(f"copy-{next(_COPIES)}.sqlite3")
    shutil.copyfile(template, path)
    open_database(str(path))
    try:
        for step in steps:
            _apply(step)
            _check()
    finally:
        close_database()
        db_proxy.initialize(None)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
