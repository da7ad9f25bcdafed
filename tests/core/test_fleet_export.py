"""Exporting to a place that cannot take the file says why in one sentence (no temporary
name, no error number), leaves no temporary file behind and keeps an existing file whole."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from appupdater.core import fleetexport
from appupdater.core.fleetexport import export_file
from appupdater.core.fleetimport import import_file
from appupdater.errors import ExportError
from appupdater.store.models import Device

FIXTURE = Path(__file__).parent.parent / "fixtures" / "fleet.yaml"


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out(tmp_path):
    """An empty folder to export into (the database lives in tmp_path itself)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def assert_plain(message: str) -> None:
    assert "\n" not in message
    assert ".tmp" not in message and ".partial" not in message
    assert "Errno" not in message and "[" not in message


def test_export_to_a_missing_folder(db, out):
    import_file(FIXTURE)
    target = out / "nope" / "fleet.yaml"
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == f"cannot write fleet.yaml: the folder {out / 'nope'} does not exist"
    assert_plain(str(info.value))
    assert files_in(out) == []


def test_export_to_a_folder(db, out):
    import_file(FIXTURE)
    target = out / "exports.yaml"
    target.mkdir()
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == f"cannot write {target}: it is a folder; give a file name inside it"
    assert files_in(out) == ["exports.yaml"] and files_in(target) == []


def test_export_below_a_file(db, out):
    import_file(FIXTURE)
    (out / "notes.txt").write_text("x")
    target = out / "notes.txt" / "fleet.yaml"
    with pytest.raises(ExportError) as info:
        export_file(target)
    assert str(info.value) == (
        f"cannot write fleet.yaml: {out / 'notes.txt'} is a file, not a folder"
    )


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_export_to_a_read_only_folder(db, out):
    import_file(FIXTURE)
    folder = out / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(ExportError) as info:
            export_file(folder / "fleet.yaml")
    finally:
        folder.chmod(0o755)
    assert str(info.value) == (
        f"cannot write fleet.yaml: you have no permission to write in the folder {folder}"
    )
    assert files_in(folder) == []


@pytest.mark.parametrize(
    ("code", "why"),
    [
        (errno.EACCES, "you have no permission to write in the folder {folder}"),
        (errno.ENOSPC, "the disk is full"),
        (errno.EROFS, "the folder {folder} is on a read-only disk"),
        (errno.EIO, "input/output error"),
        (errno.ENOENT, "no such file or directory"),  # the folder is there, yet refuses
    ],
)
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_one(
    db, out, monkeypatch, code, why
):
    """The file is written, then renamed into place: a failure at the rename (as a read-only
    folder, a full disk, … would give; root ignores folder permissions, so it is simulated)."""
    import_file(FIXTURE)
    target = out / "fleet.yaml"
    target.write_text("old\n")

    def refuse(source, destination):
        assert Path(source).exists()  # the temporary file was written
        raise OSError(code, os.strerror(code), str(source))

    monkeypatch.setattr(fleetexport.os, "replace", refuse)
    with pytest.raises(ExportError) as info:
        export_file(target)
    name = "fleet.yaml" if "{folder}" in why else str(target)
    assert str(info.value) == f"cannot write {name}: " + why.format(folder=out)
    assert_plain(str(info.value))
    assert files_in(out) == ["fleet.yaml"]
    assert target.read_text() == "old\n"


def test_export_keeps_the_permissions_of_the_file_it_replaces(db, out):
    import_file(FIXTURE)
    target = out / "fleet.json"
    target.write_text("{}")
    target.chmod(0o640)
    assert export_file(target) == 2
    assert oct(target.stat().st_mode & 0o777) == "0o640"
    assert '"press-07"' in target.read_text()
    assert files_in(out) == ["fleet.json"]


# ---- written as it is read, the same file as one whole document would give -----------------

TRICKY_DEVICES = """
devices:
  - name: odd-1
    site: "Plant A, hall 3 - the long name of a site that goes on and on past the width of a line"
    labels: {"yes": "no", "2023.2": "2023.2", "a: b": "c # d", "x": 5, "y": 0.25, "z": true,
             "é": "ü", "empty": "", "t": "~", "n": "null", "lead": " space", "v": "1.0",
             "k": "-x", "q": "'quoted'", "dq": '"dq"', "colon": "registry.local/c:1.0",
             "big": 12345678901234567890, "neg": -1.5e-07, "nl": "two\\nlines"}
    endpoint: https://[fd00::7]:8443
    fingerprint: "AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99"
    ca_file: /etc/ca dir/ca.pem
  - name: "007"
    site: ""
    applications: {line-monitor: {}}
  - name: "true"
    site: "#hash"
"""


@pytest.fixture
def big_fleet(db, tmp_path):
    from appupdater.demo.fleet import load_demo

    load_demo(devices=60, seed=5)
    tricky = tmp_path / "tricky.yaml"
    tricky.write_text(TRICKY_DEVICES)
    import_file(tricky)


@pytest.mark.parametrize("name", ["fleet.yaml", "fleet.json"])
def test_the_streamed_export_is_the_whole_document_written_at_once(big_fleet, out, name):
    target = out / name
    export_file(target)
    document = fleetexport.fleet_document()
    if name.endswith(".json"):
        expected = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        expected = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    assert target.read_text() == expected
    assert len(document["devices"]) == 63


@pytest.mark.parametrize("name", ["fleet.yaml", "fleet.json"])
def test_export_import_export_round_trip_changes_nothing(big_fleet, out, name):
    first = out / name
    export_file(first)
    assert not import_file(first).changed_anything
    second = out / ("again-" + name)
    export_file(second)
    assert second.read_text() == first.read_text()


def test_an_empty_store_exports_an_empty_fleet(db, out):
    for name in ("empty.yaml", "empty.json"):
        export_file(out / name)
        assert not import_file(out / name).changed_anything
    assert (out / "empty.yaml").read_text() == "applications: []\ndevices: []\n"


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("name", ["fleet.yaml", "fleet.json"])
def test_a_label_a_fleet_file_cannot_hold_is_named_not_written(db, out, name, value):
    import_file(FIXTURE)
    Device.update(labels={"sim.latency_s": value}).where(Device.name == "press-08").execute()
    with pytest.raises(ExportError) as info:
        export_file(out / name)
    message = str(info.value)
    assert "press-08" in message and "sim.latency_s" in message, message
    assert "finite" in message
    assert_plain(message)
    assert files_in(out) == []


WORDS = st.one_of(
    st.text(max_size=12),
    st.text(alphabet="abyn01.-_/+:# ~'\"é", max_size=10),
    st.sampled_from(["yes", "No", "null", "~", "1.0", "2023.2", "0x1", "1e3", "true", "-x", ""]),
    st.text(alphabet="ab ", min_size=60, max_size=140),
)
DEVICES = st.fixed_dictionaries(
    {"name": WORDS, "site": WORDS},
    optional={
        "labels": st.dictionaries(
            WORDS,
            st.one_of(
                WORDS,
                st.integers(),
                st.booleans(),
                st.floats(allow_nan=False, allow_infinity=False),
            ),
            min_size=1,
            max_size=4,
        ),
        "endpoint": WORDS,
        "ca_file": WORDS,
        "fingerprint": WORDS,
    },
).flatmap(
    lambda device: st.dictionaries(
        WORDS,
        st.fixed_dictionaries({}, optional={"configured": WORDS, "installed": WORDS}),
        max_size=3,
    ).map(lambda apps: in_order(device, apps))
)
FIELDS = ("name", "site", "labels", "endpoint", "ca_file", "fingerprint")


def in_order(device, apps):
    """A device entry with its keys in the order the export writes them."""
    ordered = {key: device[key] for key in FIELDS if key in device}
    ordered["applications"] = {
        app: {key: state[key] for key in ("configured", "installed") if key in state}
        for app, state in apps.items()
    }
    return ordered


@settings(max_examples=400, deadline=None)
@given(st.lists(DEVICES, max_size=3))
def test_the_device_writer_writes_what_pyyaml_writes(devices):
    # (libyaml's emitter and PyYAML's differ in corner cases, e.g. an empty key: compare with
    # the one the export uses, and read it back)
    from appupdater.core.fleetwrite import _DUMPER, yaml_chunks

    document = {"applications": [], "devices": devices}
    text = "".join(yaml_chunks([], iter(devices)))
    assert text == yaml.dump(
        document, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100
    )
    assert yaml.safe_load(text) == document


def test_a_stored_version_the_rule_now_refuses_does_not_stop_export_or_import(db, out):
    # accepted before the rule was strict: a trailing newline, Arabic-Indic digits
    from appupdater.store.models import Application, AppVersion

    import_file(FIXTURE)
    app = Application.get(Application.name == "line-monitor")
    AppVersion.create(application=app, version="3.0.0\n")
    AppVersion.create(application=app, version="\u0663.\u0660")
    export_file(out / "fleet.yaml")
    versions = yaml.safe_load((out / "fleet.yaml").read_text())["applications"][0]["versions"]
    assert [v["version"] for v in versions][:2] == ["1.0.0", "2.0.0"]
    assert not import_file(FIXTURE).changed_anything
