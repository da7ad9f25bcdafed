"""What waits for the workstation (asked at quit), and the main window's change fingerprint."""

from __future__ import annotations

from datetime import timedelta

from appupdater.core.fleet_changes import fleet_fingerprint
from appupdater.core.runs import DeviceAction
from appupdater.core.waiting import waiting_work
from appupdater.core.words import plural
from appupdater.store.models import DeployAction, Deployment, Device, DeviceApp
from tests.core.lifecycle import T0, apply_configuration, approve, load_fleet
from tests.helpers import devices_yaml, load_yaml


def test_plural():
    assert plural(1, "deployment") == "1 deployment"
    assert plural(3, "deployment") == "3 deployments"
    assert plural(2, "entry", "entries") == "2 entries"


def test_waiting_work_counts_and_the_next_moment(db):
    load_fleet(("press-01", "press-02", "press-03"))
    nothing = waiting_work()
    assert nothing.total == 0 and nothing.next_at is None
    later, sooner = T0 + timedelta(hours=5), T0 + timedelta(hours=2)
    run_id = approve(
        3,
        {
            "press-01": DeviceAction(DeployAction.AT, later),
            "press-02": DeviceAction(DeployAction.AT, later),
            "press-03": DeviceAction(DeployAction.NOW),
        },
        T0,
    )
    apply_configuration(run_id, T0)
    retrying = Deployment.get((Deployment.run == run_id) & (Deployment.state == "queued"))
    Deployment.update(state="retrying", next_attempt_at=sooner).where(
        Deployment.id == retrying.id
    ).execute()
    waiting = waiting_work()
    assert (waiting.scheduled, waiting.queued, waiting.retrying) == (2, 0, 1)
    assert waiting.next_at == sooner
    assert waiting.describe() == "3 deployments are waiting: 2 scheduled, 1 retrying"
    Deployment.update(state="succeeded").where(Deployment.state == "retrying").execute()
    assert waiting_work().next_at == later
    Deployment.update(state="succeeded").where(Deployment.id != retrying.id - 1).execute()
    assert waiting_work().describe() in ("1 deployment is scheduled", "1 deployment is queued")


def test_fingerprint_changes_with_everything_the_main_window_shows(db):
    load_fleet(("press-01", "press-02"))
    seen = fleet_fingerprint()
    assert fleet_fingerprint() == seen  # reading changes nothing
    changes = [
        lambda: DeviceApp.update(installed=DeviceApp.configured + 1).execute(),
        lambda: DeviceApp.update(configured=DeviceApp.configured + 2).execute(),
        lambda: Device.update(online=False).where(Device.name == "press-02").execute(),
        lambda: Device.update(site="Plant B").where(Device.name == "press-01").execute(),
        lambda: load_yaml(devices_yaml("{name: press-03, applications: {}}")),
    ]
    for change in changes:
        change()
        now = fleet_fingerprint()
        assert now != seen
        seen = now
    # one cell moving up and another moving down by as much still shows
    a, b = DeviceApp.select().order_by(DeviceApp.id)[:2]
    DeviceApp.update(installed=DeviceApp.installed + 1).where(DeviceApp.id == a.id).execute()
    DeviceApp.update(installed=DeviceApp.installed - 1).where(DeviceApp.id == b.id).execute()
    assert fleet_fingerprint() != seen
