"""A rollback run deploys like any run: the engine configures it, its deployments carry the
restored (earlier) versions to the devices, and the simulated devices end on them."""

from __future__ import annotations

from appupdater.core.config_history import device_history
from appupdater.core.rollback import plan_rollback
from appupdater.core.runs import create_run
from appupdater.store.models import UpdateRun
from tests.engine.helpers import approve, deployment, device_id, events
from tests.engine.test_engine import WAIT, installed


def test_a_rollback_run_deploys_the_restored_versions(qtbot, sim_devices, make_engine):
    devices = ["press-01", "press-03"]
    run_id = approve(("line-monitor", "edge-gateway"), devices=devices)
    engine = make_engine()
    with qtbot.waitSignal(engine.run_completed, timeout=WAIT) as completed:
        engine.start()
    assert completed.args == [run_id, 2, 0]
    assert installed("press-01") == {"2.1.0-rc.1", "3.10"}

    rollback_id = create_run(plan_rollback(run_id), approved_by="test")
    with qtbot.waitSignal(
        engine.run_completed, timeout=WAIT, check_params_cb=lambda r, *_: r == rollback_id
    ) as completed:
        pass
    assert completed.args == [rollback_id, 2, 0]
    assert UpdateRun.get_by_id(rollback_id).rollback_of == run_id
    assert installed("press-01") == {"1.0.0", "3.9"}
    assert installed("press-03") == {"1.0.0"}
    for name in devices:
        d = deployment(rollback_id, name)
        assert d.state == "succeeded"
        assert events(d.id)[-1].startswith(f"deployed to {name}")
        newest = device_history(device_id(name))[0]
        assert newest.reason == f"rollback of run #{run_id}"
        assert [(x.id, x.state.value) for x in newest.deployments] == [(d.id, "succeeded")]
