"""A run in waves in the Deployment Overview, as an administrator follows and steers it: the
run's row says where it stands (its wave, the next wave's time during a soak, why it paused,
who aborted it), the toolbar offers Pause, Resume, Start next wave now and Abort run only where
they apply and they change the run in the database, and the deployments filter by wave."""

from __future__ import annotations

import getpass
from datetime import timedelta

import pytest

from appupdater.core.planning import Selection, plan_update
from appupdater.core.run_decisions import pause
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.waves import Strategy, parse_waves
from appupdater.store.fields import utcnow
from appupdater.store.models import Deployment, Device, Target, UpdateRun
from tests.ui.drive import choose_in_combo, click_action, click_row
from tests.ui.test_overview import WAIT, approve, shown_overview

ME = getpass.getuser()


@pytest.fixture
def overview(qtbot, demo_fleet, engine):
    yield from shown_overview(qtbot, engine)


def approve_in_waves(spec: str, soak: float = 0.0, canary_fails: bool = False) -> int:
    """A run of line-monitor in waves `spec` on every affected device (each deployment takes
    a second), its canary broken when `canary_fails`."""
    Device.update(labels={"sim.latency_s": 1.0}).execute()
    plan = plan_update([Selection("line-monitor")])
    run_id = create_run(
        plan,
        {},
        approved_by="test",
        strategy=Strategy(parse_waves(spec), soak_minutes=soak, max_failures_percent=10),
    )
    if canary_fails:
        canary = Target.get((Target.run == run_id) & (Target.wave == 1)).device
        Device.update(labels={"sim.latency_s": 1.0, "sim.failure_rate": 1}).where(
            Device.id == canary
        ).execute()
    return run_id


def status(overview) -> str:
    return overview.runs_model.index(0, 5).data() or ""


def offered(overview) -> set[str]:
    acting = overview.run_acting
    actions = {
        "pause": acting.pause,
        "resume": acting.resume,
        "next wave": acting.next_wave,
        "abort": acting.abort,
    }
    return {name for name, act in actions.items() if act.isEnabled()}


def opened(qtbot, overview, run_id: int) -> None:
    apply_configuration(run_id)
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() > 0, timeout=WAIT)
    click_row(qtbot, overview.runs_view, 0)
    qtbot.waitUntil(lambda: overview.model.rowCount() > 5, timeout=WAIT)


def run(run_id: int) -> UpdateRun:
    return UpdateRun.get_by_id(run_id)


def test_a_failing_canary_pauses_the_run_and_the_toolbar_steers_it(
    qtbot, overview, engine, screenshot, message_boxes
):
    run_id = approve_in_waves("1,rest", canary_fails=True)
    opened(qtbot, overview, run_id)
    engine.start()
    qtbot.waitUntil(
        lambda: status(overview) == "paused: 1 of 1 failed in wave 1, limit 10 %", timeout=WAIT
    )
    assert offered(overview) == {"resume", "abort"}
    later = Deployment.select().where((Deployment.run == run_id) & (Deployment.wave == 2))
    assert {d.state for d in later} == {"held"}
    overview.resize(1280, 800)
    screenshot(overview, "overview-paused-run-in-waves-1280x800")
    overview.resize(1024, 700)
    screenshot(overview, "overview-paused-run-in-waves-1024x700")
    overview.resize(1280, 800)

    click_action(qtbot, overview, overview.run_acting.resume)
    qtbot.waitUntil(lambda: run(run_id).resumed_by == ME, timeout=WAIT)
    assert run(run_id).paused_at is None
    qtbot.waitUntil(lambda: status(overview).startswith("in progress · wave 2 of 2"), timeout=WAIT)
    # the last wave is open: nothing to start next, whatever the counts read a moment earlier
    assert offered(overview) == {"pause", "abort"}

    click_action(qtbot, overview, overview.run_acting.pause)
    qtbot.waitUntil(lambda: run(run_id).paused_by == ME, timeout=WAIT)
    qtbot.waitUntil(lambda: status(overview) == f"paused by {ME} · wave 2 of 2", timeout=WAIT)
    assert offered(overview) == {"resume", "abort"}

    unfinished = [
        d.id
        for d in Deployment.select().where(
            (Deployment.run == run_id)
            & Deployment.state.not_in(["succeeded", "failed", "cancelled"])
        )
    ]
    assert unfinished
    message_boxes.answer(text="Keep It")
    click_action(qtbot, overview, overview.run_acting.abort)
    assert message_boxes.seen == [f"Abort run #{run_id}?"]
    assert run(run_id).aborted_at is None
    message_boxes.answer(text="Abort Run")
    click_action(qtbot, overview, overview.run_acting.abort)
    qtbot.waitUntil(lambda: run(run_id).aborted_by == ME, timeout=WAIT)
    qtbot.waitUntil(lambda: status(overview).startswith(f"aborted by {ME}"), timeout=WAIT)
    engine.stop(interrupt=True, msecs=WAIT)
    states = {Deployment.get_by_id(i).state for i in unfinished}
    assert states <= {"cancelled", "succeeded", "failed"} and "cancelled" in states
    assert offered(overview) == set()
    # its cancelled deployments are not offered a retry: an aborted run starts nothing again
    qtbot.waitUntil(
        lambda: any(
            overview.model.row_at(r).state == "cancelled" for r in range(overview.model.rowCount())
        ),
        timeout=WAIT,
    )
    row = next(
        r for r in range(overview.model.rowCount()) if overview.model.row_at(r).state == "cancelled"
    )
    click_row(qtbot, overview.view, row)
    assert not overview.acting.retry.isEnabled() and not overview.acting.reschedule.isEnabled()
    assert (
        overview.acting.retry.toolTip() == f"Run #{run_id} was aborted: nothing of it starts again"
    )


def test_a_soak_shows_the_next_wave_time_and_start_next_wave_skips_it(
    qtbot, overview, engine, screenshot
):
    run_id = approve_in_waves("2,rest", soak=30)
    opened(qtbot, overview, run_id)
    # the Wave column and the wave filter, for a run in waves
    assert not overview.view.isColumnHidden(overview.model.WAVE)
    assert overview.wave_filter.isVisible()
    choose_in_combo(qtbot, overview.wave_filter, "Wave 1 (canary)")
    shown = [overview.model.row_at(r).id for r in range(overview.model.rowCount())]
    first = [
        d.id for d in Deployment.select().where((Deployment.run == run_id) & (Deployment.wave == 1))
    ]
    assert sorted(shown) == sorted(first) and len(first) == 2
    assert {overview.model.index(r, overview.model.WAVE).data() for r in range(2)} == {"1"}
    choose_in_combo(qtbot, overview.wave_filter, "All waves")
    assert overview.model.rowCount() == len(overview.model.rows)

    engine.start()
    qtbot.waitUntil(lambda: ", next wave at " in status(overview), timeout=WAIT)
    assert status(overview).startswith("in progress · wave 1 of 2, next wave at ")
    assert offered(overview) == {"pause", "next wave", "abort"}
    overview.resize(1280, 800)
    screenshot(overview, "overview-run-in-waves-soaking-1280x800")
    overview.resize(1024, 700)
    screenshot(overview, "overview-run-in-waves-soaking-1024x700")
    overview.resize(1280, 800)

    click_action(qtbot, overview, overview.run_acting.next_wave)
    qtbot.waitUntil(lambda: run(run_id).open_wave == 2, timeout=WAIT)
    assert (
        not Deployment.select()
        .where((Deployment.run == run_id) & (Deployment.state == "held"))
        .exists()
    )
    qtbot.waitUntil(lambda: status(overview).startswith("in progress · wave 2 of 2"), timeout=WAIT)
    assert "next wave" not in offered(overview)


def test_a_run_all_at_once_looks_as_before(qtbot, overview):
    run_id = approve()
    opened(qtbot, overview, run_id)
    assert status(overview) == "in progress"
    assert overview.view.isColumnHidden(overview.model.WAVE)
    assert not overview.wave_filter.isVisible()
    assert offered(overview) == {"pause", "abort"}


def test_the_run_list_finds_the_paused_runs(qtbot, overview, engine):
    paused = approve_in_waves("1,rest")
    other = approve()
    opened(qtbot, overview, paused)
    engine.pause(paused, "carol")
    qtbot.waitUntil(lambda: len(overview.runs_model.items) == 2, timeout=WAIT)
    choose_in_combo(qtbot, overview.run_filter.state, "Paused")
    qtbot.waitUntil(lambda: [r.id for r in overview.runs_model.items] == [paused], timeout=WAIT)
    assert overview.runs_model.index(0, 5).data().startswith("paused by carol")
    choose_in_combo(qtbot, overview.run_filter.state, "Any state")
    qtbot.waitUntil(
        lambda: [r.id for r in overview.runs_model.items] == [other, paused], timeout=WAIT
    )


def test_the_wave_filter_holds_while_the_shown_run_leaves_the_run_list(qtbot, overview):
    run_id = approve_in_waves("2,rest")
    opened(qtbot, overview, run_id)
    choose_in_combo(qtbot, overview.wave_filter, "Wave 1 (canary)")
    assert overview.model.rowCount() == 2
    choose_in_combo(qtbot, overview.run_filter.state, "Finished")
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() == 0, timeout=WAIT)
    overview.poll()
    qtbot.waitUntil(lambda: not overview.feed.reading, timeout=WAIT)
    # its rows stay shown, and so does the filter that says why only two of them are
    assert overview.wave_filter.isVisible()
    assert overview.wave_filter.currentText() == "Wave 1 (canary)"
    assert overview.model.rowCount() == 2
    choose_in_combo(qtbot, overview.run_filter.state, "Any state")
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() == 1, timeout=WAIT)
    assert overview.wave_filter.currentText() == "Wave 1 (canary)"
    assert overview.model.rowCount() == 2


def test_a_run_that_ended_while_paused_says_how_it_ended_and_is_not_waiting(qtbot, overview):
    from appupdater.core import run_decisions
    from appupdater.store.fields import utcnow

    ended, aborted = approve(), approve_in_waves("1,rest")
    for run_id in (ended, aborted):
        apply_configuration(run_id)
        assert run_decisions.pause(run_id, "carol", utcnow()).changed
    # what was running when it paused finished; nothing else was left
    Deployment.update(state="succeeded").where(Deployment.run == ended).execute()
    assert run_decisions.abort(aborted, "dave", utcnow()).changed
    opened(qtbot, overview, ended)
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() == 2, timeout=WAIT)
    said = {
        r.id: overview.runs_model.index(i, 5).data()
        for i, r in enumerate(overview.runs_model.items)
    }
    assert said[ended] == "completed (paused by carol)"
    assert said[aborted].startswith("aborted by dave")
    choose_in_combo(qtbot, overview.run_filter.state, "Paused")
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() == 0, timeout=WAIT)


def test_a_paused_runs_retrying_deployment_says_it_waits_for_the_resume(
    qtbot, overview, engine, screenshot
):
    """A retry that a pause holds does not promise 'retrying in 30 s' or a next attempt time
    that will pass unused: it says it waits until the run is resumed."""
    run_id = approve_in_waves("1,rest")
    apply_configuration(run_id)
    [first] = Deployment.select().where((Deployment.run == run_id) & (Deployment.wave == 1))
    said = f"{first.device.name} unreachable; retrying in 30 s (attempt 2 of 3)"
    Deployment.update(
        state="retrying",
        attempts=1,
        next_attempt_at=utcnow() + timedelta(seconds=30),
        last_message=said,
    ).where(Deployment.id == first.id).execute()
    pause(run_id, ME, utcnow(), "checking the canary")
    overview.show_run(run_id)
    qtbot.waitUntil(lambda: overview.runs_model.rowCount() > 0, timeout=WAIT)
    click_row(qtbot, overview.runs_view, 0)

    def cells() -> tuple[str, str]:
        model = overview.model
        for r in range(model.rowCount()):
            if model.row_at(r).id == first.id:
                return (
                    model.index(r, model.NEXT_ATTEMPT).data(),
                    model.index(r, model.MESSAGE).data(),
                )
        return ("", "")

    qtbot.waitUntil(lambda: cells()[0] == "when resumed", timeout=WAIT)
    assert cells()[1] == f"{said} — the run is paused: it waits until the run is resumed"
    screenshot(overview, "overview-paused-retrying")
