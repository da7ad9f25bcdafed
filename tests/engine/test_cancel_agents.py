"""A cancel the device could not confirm, with real agent processes: the record never says
`cancelled` before the agent itself says it stopped. The agent is down when the administrator
cancels; it comes back and either still runs the deployment (it is asked again and rolls back)
or has finished it meanwhile (the record says so: succeeded, the cancel came too late)."""

from __future__ import annotations

import pytest

from appupdater.store.models import Deployment
from tests.engine.test_agents import (
    V1,
    V2,
    WAIT,
    agent_deployment,
    approve,
    installed,
    log_of,
    make_engine,  # noqa: F401 (a fixture)
    the,
    world,  # noqa: F401 (a fixture)
)

pytestmark = pytest.mark.integration

NOT_CONFIRMED = "cancel requested, but press-01 could not be asked to stop: press-01 unreachable"


def _cancelled_while_the_agent_is_down(
    qtbot,
    world,  # noqa: F811
    make_engine,  # noqa: F811
    **engine_settings,
):
    """press-01 downloads slowly; its agent is killed; the administrator cancels. The engine
    cannot reach it: the deployment waits to ask again, keeping the request."""
    agent = world.agent("press-01")
    world.load([agent])
    world.server.server.delay = 0.3  # ~5 s per module: time to kill it while it downloads
    approve(["press-01"])
    engine = make_engine(**engine_settings)
    engine.start()
    qtbot.waitUntil(lambda: "info: downloading collector 2.0.0" in log_of("press-01"), timeout=WAIT)
    agent.kill()
    assert engine.cancel([the("press-01").id]) == ([], [the("press-01").id])
    qtbot.waitUntil(
        lambda: (the("press-01").last_message or "").startswith(NOT_CONFIRMED), timeout=WAIT
    )
    d = the("press-01")
    assert d.state == "retrying" and d.cancel_requested and d.finished_at is None
    assert "it may still finish" in d.last_message
    assert agent_deployment(agent)["state"] == "running"  # what the agent itself last wrote
    return agent, engine


def test_an_agent_that_comes_back_running_is_asked_again_and_rolls_back(
    qtbot,
    world,  # noqa: F811
    make_engine,  # noqa: F811
):
    agent, _ = _cancelled_while_the_agent_is_down(qtbot, world, make_engine)
    agent.start()  # same state folder, same port: it takes the deployment up again
    qtbot.waitUntil(lambda: the("press-01").state == "cancelled", timeout=WAIT)
    d = the("press-01")
    assert (
        d.last_message == "cancelled while running; press-01 confirmed it stopped and rolled back"
    )
    assert not d.cancel_requested
    log = log_of("press-01")
    assert any(
        m.startswith("asking press-01 to stop the deployment (cancel requested; try") for m in log
    )
    # the agent's own record agrees, and the device runs what it ran before
    assert agent_deployment(agent)["state"] == "cancelled"
    assert agent.active() == V1 and installed("press-01") == "1.0.0"


def test_an_agent_that_finished_meanwhile_is_recorded_as_finished(
    qtbot,
    world,  # noqa: F811
    make_engine,  # noqa: F811
):
    """The agent comes back and finishes before anyone asks it again (the engine is stopped
    meanwhile): the next engine's try learns it succeeded, and the record says so."""
    agent, engine = _cancelled_while_the_agent_is_down(qtbot, world, make_engine)
    assert engine.stop(interrupt=True, msecs=WAIT)
    world.server.server.delay = 0.0
    agent.start()
    qtbot.waitUntil(lambda: agent_deployment(agent)["state"] == "succeeded", timeout=WAIT)
    d = the("press-01")  # nobody has asked yet: the record waits to ask
    assert d.state in ("retrying", "queued") and d.cancel_requested
    make_engine().start()
    qtbot.waitUntil(lambda: the("press-01").state == "succeeded", timeout=WAIT)
    d = the("press-01")
    assert d.last_message.startswith("deployed to press-01")
    assert "cancel came too late: the device had already finished" in log_of("press-01")
    assert agent.active() == V2 and installed("press-01") == "2.0.0"
    assert Deployment.select().where(Deployment.state == "cancelled").count() == 0


def test_an_agent_gone_mid_deployment_is_not_said_to_have_failed_for_sure(
    qtbot,
    world,  # noqa: F811
    make_engine,  # noqa: F811
):
    """The agent took the deployment and stopped answering for good: the attempt gives up,
    and the record says the device may still finish it — not a plain failure."""
    agent = world.agent("press-01")
    world.load([agent])
    world.server.server.delay = 0.3
    approve(["press-01"])
    make_engine(max_attempts=1, reconnect_grace=1).start()
    qtbot.waitUntil(lambda: "info: downloading collector 2.0.0" in log_of("press-01"), timeout=WAIT)
    agent.kill()
    qtbot.waitUntil(lambda: the("press-01").state == "failed", timeout=WAIT)
    message = the("press-01").last_message
    assert message.startswith("press-01 unreachable at ")
    assert "it had taken the deployment and may still finish it" in message
