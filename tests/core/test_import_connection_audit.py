"""What an import says of the device connections it changed: its one audit entry lists every
change as device, key, old → new (never a token), and its summary counts them per key."""

from __future__ import annotations

import json

from appupdater.core.fleetimport import import_fleet
from appupdater.store.models import Device
from tests.core.test_import_connections import (  # noqa: F401  (fixture)
    FINGERPRINT,
    fleet,
    imported,
    last_import,
)
from tests.helpers import CATALOG, load_yaml

OLD = "https://10.0.0.1:8443"
NEW = "https://10.0.0.9:8443"


def test_a_new_endpoint_is_named_with_old_and_new_in_the_entry_and_counted(fleet):  # noqa: F811
    summary = imported(f"devices:\n  - {{name: press-01, endpoint: '{NEW}'}}\n")
    assert summary.connections_changed == 1
    assert summary.endpoints_changed == 1 and summary.fingerprints_cleared == 0
    assert "endpoint changed on 1 device" in summary.describe()
    entry = last_import()
    assert entry.objects["devices"] == ["press-01"]
    assert entry.objects["connections"] == [f"press-01 endpoint {OLD} → {NEW}"]
    assert f"press-01 endpoint {OLD} → {NEW}" in entry.note


def test_cleared_keys_are_said_plainly_in_the_summary_and_the_entry(fleet):  # noqa: F811
    entry_in_file = {"name": "press-01", "endpoint": None, "fingerprint": None, "ca_file": None}
    summary = imported(json.dumps({"devices": [entry_in_file]}), "json", "unpin.json")
    assert (summary.endpoints_cleared, summary.ca_files_cleared, summary.fingerprints_cleared) == (
        1,
        1,
        1,
    )
    text = summary.describe()
    assert "endpoint cleared on 1 device (simulated from now on)" in text
    assert "CA file cleared on 1 device" in text
    assert "fingerprint cleared on 1 device (no longer pinned)" in text
    assert last_import().objects["connections"] == [
        f"press-01 endpoint {OLD} → none (simulated)",
        "press-01 CA file /etc/ca.pem → none",
        f"press-01 fingerprint {FINGERPRINT} → none",
    ]


def test_a_device_given_its_first_endpoint_is_a_change_from_none(fleet):  # noqa: F811
    summary = imported(f"devices:\n  - {{name: press-02, endpoint: '{NEW}'}}\n")
    assert summary.endpoints_changed == 1
    assert last_import().objects["connections"] == [f"press-02 endpoint none → {NEW}"]


def test_a_token_is_never_written_to_the_entry(fleet):  # noqa: F811
    token = "s3cret-token-" + "x" * 12
    imported(f"devices:\n  - {{name: press-01, endpoint: '{NEW}', token: '{token}'}}\n")
    assert Device.get(Device.name == "press-01").token == token
    entry = last_import()
    assert token not in entry.note and token not in json.dumps(entry.objects)
    assert "t" * 20 not in entry.note + json.dumps(entry.objects)  # nor the one replaced


def test_nothing_changed_adds_no_connections_to_the_entry(fleet):  # noqa: F811
    summary = imported(CATALOG + "devices:\n  - {name: press-01, site: hall-9}\n")
    assert summary.connections_changed == summary.endpoints_changed == 0
    entry = last_import()
    assert "connections" not in entry.objects and "devices" not in entry.objects
    assert "endpoint" not in summary.describe()


def test_a_stored_endpoint_with_a_password_is_shown_without_it(fleet):  # noqa: F811
    """Endpoints a file can give hold no password; one stored before the checks were strict
    might, and the audit trail never repeats it."""
    Device.update(endpoint="https://admin:hunter2@10.0.0.1:8443").where(
        Device.name == "press-01"
    ).execute()
    imported(f"devices:\n  - {{name: press-01, endpoint: '{NEW}'}}\n")
    entry = last_import()
    assert "hunter2" not in entry.note + json.dumps(entry.objects)
    assert entry.objects["connections"] == [f"press-01 endpoint https://…@10.0.0.1:8443 → {NEW}"]


def test_many_devices_changing_are_one_entry_listing_every_change(db):
    names = [f"press-{i:03}" for i in range(30)]
    load_yaml(
        CATALOG
        + "devices:\n"
        + "".join(
            f"  - {{name: {n}, endpoint: 'https://10.0.1.{i}:8443'}}\n" for i, n in enumerate(names)
        )
    )
    from appupdater.core.fleetfile import parse_fleet

    doc = {
        "devices": [
            {"name": n, "endpoint": f"https://10.0.2.{i}:8443"} for i, n in enumerate(names)
        ]
    }
    summary = import_fleet(parse_fleet(doc, "moved.json"), "moved.json")
    assert summary.endpoints_changed == summary.connections_changed == 30
    assert "endpoint changed on 30 devices" in summary.describe()
    entry = last_import()
    assert entry.objects["devices"] == names
    assert entry.objects["connections"] == [
        f"{n} endpoint https://10.0.1.{i}:8443 → https://10.0.2.{i}:8443"
        for i, n in enumerate(names)
    ]
    # the note names the first ones and points at the full list
    assert entry.note.count("→") == 20
    assert "and 10 more" in entry.note


def test_the_summary_says_connection_changes_first(fleet):  # noqa: F811
    """The main window's status bar may cut a long summary: what weakens or redirects a
    device comes before the counts."""
    summary = imported(
        "devices:\n  - {name: press-01, site: hall-3, endpoint: null, fingerprint: null}\n"
        "  - {name: press-02, applications: {line-monitor: {configured: '2.0.0'}}}\n"
    )
    assert summary.describe() == (
        "endpoint cleared on 1 device (simulated from now on), fingerprint cleared on 1 device "
        "(no longer pinned), 1 device changed, 1 device application version set"
    )
