"""An import never turns a real device into a simulated one, nor drops its TLS pinning or what
it reported running, because the file left a key out; a key given as null clears it, and every
change of a device's connection is named in the import's audit entry."""

from __future__ import annotations

import json

import pytest

from appupdater.core.fleetfile import parse_fleet_text
from appupdater.core.fleetimport import SHOWN_CONNECTIONS, describe_connections, import_fleet
from appupdater.core.jobs import load_jobs
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.scheduling import claim, heartbeat
from appupdater.store.fields import utcnow
from appupdater.store.models import Device, DeviceApp
from appupdater.store.team_models import AuditEntry
from tests.helpers import CATALOG, load_yaml

FINGERPRINT = "ab" * 32
FULL = CATALOG + (
    "devices:\n"
    "  - {name: press-01, endpoint: 'https://10.0.0.1:8443', ca_file: /etc/ca.pem, "
    f"fingerprint: '{FINGERPRINT}', token: '{'t' * 20}', "
    "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}\n"
    "  - {name: press-02, applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}\n"
)


@pytest.fixture
def fleet(db):
    load_yaml(FULL, file="full.yaml")


def device(name: str = "press-01") -> Device:
    return Device.get(Device.name == name)


def last_import() -> AuditEntry:
    return (
        AuditEntry.select()
        .where(AuditEntry.action == "import")
        .order_by(AuditEntry.id.desc())
        .get()
    )


def imported(text: str, kind: str = "yaml", file: str = "later.yaml"):
    return import_fleet(parse_fleet_text(text, kind, file), file)


def test_a_file_without_connection_keys_keeps_them_and_what_the_device_runs(fleet):
    summary = imported(
        CATALOG + "devices:\n  - {name: press-01, site: hall-2, "
        "applications: {line-monitor: {configured: '2.0.0'}}}\n"
    )
    d = device()
    assert (d.endpoint, d.tls_ca_file, d.tls_fingerprint) == (
        "https://10.0.0.1:8443",
        "/etc/ca.pem",
        FINGERPRINT,
    )
    assert d.site == "hall-2" and d.token == "t" * 20
    row = DeviceApp.get(DeviceApp.device == d)
    assert (row.configured.version, row.installed.version) == ("2.0.0", "1.0.0")
    assert summary.connections_changed == 0
    assert "connection" not in last_import().note


def test_a_new_endpoint_is_written_and_named_in_the_audit(fleet):
    summary = imported(
        CATALOG + "devices:\n  - {name: press-01, endpoint: 'https://10.0.0.9:8443'}\n"
    )
    assert device().endpoint == "https://10.0.0.9:8443"
    assert device().tls_fingerprint == FINGERPRINT  # left out: kept
    assert summary.connections_changed == 1
    assert "1 device connection changed" in summary.describe()
    entry = last_import()
    assert entry.objects["devices"] == ["press-01"]
    assert "connections: press-01 endpoint https://10.0.0.1:8443 → https://10.0.0.9:8443" in (
        entry.note
    )
    assert "t" * 20 not in entry.note


@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_a_key_given_as_null_clears_it_and_says_so(fleet, kind):
    text = (
        CATALOG + "devices:\n  - {name: press-01, fingerprint: null, ca_file: null}\n"
        if kind == "yaml"
        else json.dumps({"devices": [{"name": "press-01", "fingerprint": None, "ca_file": None}]})
    )
    imported(text, kind, f"unpin.{kind}")
    d = device()
    assert (d.endpoint, d.tls_ca_file, d.tls_fingerprint) == ("https://10.0.0.1:8443", None, None)
    note = last_import().note
    assert "press-01 ca file /etc/ca.pem cleared" in note
    assert f"press-01 fingerprint {FINGERPRINT} cleared" in note


def test_a_device_that_keeps_its_endpoint_is_deployed_to_through_it(fleet):
    """The engine reaches a device through its connection: kept, the deployment goes to the
    agent, never to the simulated gateway (which it would with no endpoint)."""
    imported(CATALOG + "devices:\n  - {name: press-01, labels: {line: '3'}}\n")
    run_id = create_run(
        plan_update([Selection("line-monitor", "2.0.0")]),
        approved_by="test",
        devices=[device().id],
    )
    apply_configuration(run_id)
    heartbeat("engine-a", "host", 1, utcnow())
    [job] = claim("engine-a", utcnow(), 10)
    assert job.connection is not None and job.connection.endpoint == "https://10.0.0.1:8443"
    assert job.connection.fingerprint == FINGERPRINT
    assert load_jobs([job.id], "engine-a")[0].connection == job.connection


def test_many_connection_changes_are_counted_past_the_first_ones():
    changes = [(f"d{i}", "endpoint", f"https://a{i}", f"https://b{i}") for i in range(25)]
    text = describe_connections(changes)
    assert text.count("→") == SHOWN_CONNECTIONS and text.endswith("; and 5 more")
