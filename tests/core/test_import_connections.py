"""An import never turns a real device into a simulated one, nor drops its TLS pinning or what
it reported running, because the file left a key out; a key given as null clears it (YAML and
JSON; fleet files have no CSV form). What the audit entry and the summary say of it:
test_import_connection_audit.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from appupdater.core.fleetfile import parse_fleet, parse_fleet_text
from appupdater.core.fleetimport import import_fleet
from appupdater.core.jobs import load_jobs
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.scheduling import claim, heartbeat
from appupdater.errors import FleetFileError
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


STORED = ("https://10.0.0.1:8443", "/etc/ca.pem", FINGERPRINT)


def connection(name: str = "press-01") -> tuple[str | None, str | None, str | None]:
    d = device(name)
    return d.endpoint, d.tls_ca_file, d.tls_fingerprint


def catalog_json() -> dict:
    return yaml.safe_load(CATALOG)


@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_a_file_without_connection_keys_keeps_them_and_what_the_device_runs(fleet, kind):
    entry = {"name": "press-01", "site": "hall-2"}
    entry["applications"] = {"line-monitor": {"configured": "2.0.0"}}
    text = json.dumps({**catalog_json(), "devices": [entry]})
    summary = imported(text if kind == "json" else yaml.safe_dump(json.loads(text)), kind)
    assert connection() == STORED
    d = device()
    assert d.site == "hall-2" and d.token == "t" * 20
    row = DeviceApp.get(DeviceApp.device == d)
    assert (row.configured.version, row.installed.version) == ("2.0.0", "1.0.0")
    assert summary.connections_changed == 0
    assert "connection" not in last_import().note


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


NULLS = {
    "yaml null": "endpoint: null, ca_file: ~, fingerprint: null",
    "yaml empty": "endpoint: , ca_file: , fingerprint: ",
}


@pytest.mark.parametrize("how", [*NULLS, "json null"])
def test_keys_given_as_null_clear_the_connection(fleet, how):
    if how == "json null":
        entry = {"name": "press-01", "endpoint": None, "ca_file": None, "fingerprint": None}
        imported(json.dumps({"devices": [entry]}), "json", "unpin.json")
    else:
        imported(f"devices:\n  - {{name: press-01, {NULLS[how]}}}\n")
    assert connection() == (None, None, None)  # a simulated device from now on, as asked
    assert device().token == "t" * 20  # the token is not a connection key that null clears


@pytest.mark.parametrize("key", ["endpoint", "ca_file", "fingerprint"])
def test_one_key_given_as_null_clears_only_that_one(fleet, key):
    imported(json.dumps({"devices": [{"name": "press-01", key: None}]}), "json", "one.json")
    expected = tuple(
        None if k == key else v
        for k, v in zip(("endpoint", "ca_file", "fingerprint"), STORED, strict=True)
    )
    assert connection() == expected


def test_new_values_replace_the_stored_ones_and_left_out_ones_stay(fleet):
    imported("devices:\n  - {name: press-01, endpoint: 'https://10.0.0.9:8443'}\n")
    assert connection() == ("https://10.0.0.9:8443", "/etc/ca.pem", FINGERPRINT)


@pytest.mark.parametrize("kind", ["yaml", "json"])
def test_an_installed_version_left_out_or_null_keeps_what_the_device_reported(fleet, kind):
    states = {"press-01": {"configured": "1.0.0"}, "press-02": {"configured": "1.0.0"}}
    states["press-02"]["installed"] = None
    doc = {
        "devices": [
            {"name": name, "applications": {"line-monitor": state}}
            for name, state in states.items()
        ]
    }
    imported(json.dumps(doc) if kind == "json" else yaml.safe_dump(doc), kind)
    for name in states:
        row = DeviceApp.get(DeviceApp.device == device(name))
        assert row.installed.version == "1.0.0", name


def test_a_file_that_gives_an_installed_version_sets_it(fleet):
    imported("devices:\n  - {name: press-01, applications: {line-monitor: {installed: '2.0.0'}}}\n")
    row = DeviceApp.get(DeviceApp.device == device())
    assert (row.configured.version, row.installed.version) == ("1.0.0", "2.0.0")


def test_a_new_device_gets_what_the_file_gives(fleet):
    imported(
        "devices:\n  - {name: press-03, endpoint: 'https://10.0.0.3:8443', fingerprint: null}\n"
    )
    assert connection("press-03") == ("https://10.0.0.3:8443", None, None)


@pytest.mark.parametrize("key", ["endpoint", "ca_file", "fingerprint"])
def test_an_empty_text_is_refused_not_read_as_left_out_or_null(fleet, key):
    with pytest.raises(FleetFileError) as caught:
        imported(json.dumps({"devices": [{"name": "press-01", key: ""}]}), "json", "empty.json")
    assert [place for place, _ in caught.value.problems] == [f"devices[0].{key}"]
    assert connection() == STORED


def test_the_schema_takes_null_where_an_import_does():
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[2] / "docs" / "fleet-file.schema.json").read_text())
    nulls = {"endpoint": None, "ca_file": None, "fingerprint": None, "token": None}
    jsonschema.validate({"devices": [{"name": "press-01", **nulls}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"devices": [{"name": "press-01", "endpoint": 7}]}, schema)


def test_devices_without_a_null_key_share_one_empty_set():
    """A fleet of 100,000 devices held a set each (216 bytes: +22 MB of the import's peak)."""
    doc = {"devices": [{"name": f"d{i}"} for i in range(3)] + [{"name": "x", "endpoint": None}]}
    fleet = parse_fleet(doc, "many.json")
    assert len({id(d.cleared) for d in fleet.devices[:3]}) == 1
    assert fleet.devices[3].cleared == {"endpoint"}
