from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appupdater.core.fleetimport import export_file, import_file
from appupdater.errors import FleetFileError
from appupdater.store.models import Device, DeviceApp, Module
from tests.helpers import dump_tables

FIXTURE = Path(__file__).parent.parent / "fixtures" / "fleet.yaml"
GOOD = yaml.safe_load(FIXTURE.read_text())


def write(tmp_path, document, name="fleet.yaml", raw=None):
    path = tmp_path / name
    if raw is not None:
        path.write_text(raw)
    elif name.endswith(".json"):
        path.write_text(json.dumps(document))
    else:
        path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_import_fixture_and_reimport_changes_nothing(db):
    summary = import_file(FIXTURE)
    assert (summary.applications_added, summary.versions_added, summary.devices_added) == (1, 2, 2)
    press = Device.get(Device.name == "press-07")
    assert press.site == "Plant A"
    assert press.labels == {"line": "3", "sim.latency_s": 0.5, "sim.offline": False}
    assert Device.get(Device.name == "press-08").endpoint == "https://10.0.3.8:8443"
    assert Module.select().count() == 4
    before = dump_tables()
    again = import_file(FIXTURE)
    assert not again.changed_anything
    assert "nothing to change" in again.describe()
    assert dump_tables() == before


@pytest.mark.parametrize("name", ["out.yaml", "out.json"])
def test_export_import_round_trip(db, tmp_path, name):
    import_file(FIXTURE)
    first = tmp_path / name
    export_file(first)
    exported = first.read_text()
    # into a fresh database, then out again: the same file
    from appupdater.store.db import close_database, open_database

    close_database()
    open_database(str(tmp_path / "second.sqlite3"))
    import_file(first)
    second = tmp_path / ("again." + name.split(".")[1])
    export_file(second)
    assert second.read_text() == exported
    assert DeviceApp.select().count() == 2


def test_import_updates_by_name(db, tmp_path):
    import_file(FIXTURE)
    doc = copy.deepcopy(GOOD)
    doc["devices"][0]["site"] = "Plant B"
    doc["devices"][0]["applications"]["line-monitor"]["installed"] = "2.0.0"
    doc["applications"][0]["versions"][1]["modules"][1]["version"] = "1.0.1"
    summary = import_file(write(tmp_path, doc))
    assert (summary.devices_changed, summary.device_versions_changed, summary.versions_changed) == (
        1,
        1,
        1,
    )
    assert Device.get(Device.name == "press-07").site == "Plant B"
    assert Module.get(Module.name == "alerts").version == "1.0.1"
    assert Device.select().count() == 2


def mutate(path, value):
    """A copy of GOOD with the value at `path` (a list of keys) replaced, or deleted for DELETE."""
    doc = copy.deepcopy(GOOD)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


DELETE = object()
DEV = ["devices", 0]
APP = ["applications", 0]
VER = [*APP, "versions", 1]

BAD_CASES = [
    (
        mutate([*DEV, "applications", "line-monitor", "installed"], "9.9.9"),
        "devices[0].applications.line-monitor.installed",
        "unknown version '9.9.9' of application 'line-monitor'",
    ),
    (
        mutate([*DEV, "applications"], {"nope": {"installed": "1.0.0"}}),
        "devices[0].applications.nope",
        "unknown application 'nope'",
    ),
    (mutate([*VER, "version"], "2.0.x"), "applications[0].versions[1].version", "is not a version"),
    (
        mutate([*VER, "version"], "v1.0"),
        "applications[0].versions[1].version",
        "same precedence as '1.0.0'",
    ),
    (
        mutate([*VER, "version"], 2.0),
        "applications[0].versions[1].version",
        "must be text, not a number",
    ),
    (
        mutate(["devices", 1, "name"], "press-07"),
        "devices[1].name",
        "already defined at devices[0]",
    ),
    (
        mutate([*VER, "modules", 1, "name"], "collector"),
        "applications[0].versions[1].modules[1].name",
        "module 'collector' is already listed",
    ),
    (
        mutate([*VER, "modules", 0, "image"], DELETE),
        "applications[0].versions[1].modules[0]",
        "needs an 'image', an 'artifact'",
    ),
    (mutate([*DEV, "name"], DELETE), "devices[0]", "missing field 'name'"),
    (mutate([*DEV, "labels"], ["a"]), "devices[0].labels", "must be a mapping, not a list"),
    (
        mutate([*DEV, "labels", "line"], {"x": 1}),
        "devices[0].labels.line",
        "must be text, a number",
    ),
    (mutate([*DEV, "colour"], "red"), "devices[0].colour", "unknown field"),
    (mutate(["devices"], {"press-07": {}}), "devices", "must be a list, not a mapping"),
    (mutate([*APP, "versions"], "1.0.0"), "applications[0].versions", "must be a list, not text"),
    (
        mutate([*DEV, "applications", "line-monitor"], "1.0.0"),
        "devices[0].applications.line-monitor",
        "must be a mapping",
    ),
    (mutate([*DEV, "site"], None), "devices[0].site", "must be text, not nothing"),
    # names and versions become folders on a device: one rule (appupdater/names.py)
    (mutate([*APP, "name"], "line-monitor=2.0"), "applications[0].name", "contains '='"),
    (mutate([*APP, "name"], "../../etc"), "applications[0].name", "contains '/'"),
    (mutate([*APP, "name"], "current"), "applications[0].name", "'current' is reserved"),
    (mutate([*APP, "name"], "m\u00fcller"), "applications[0].name", "only ASCII"),
    (
        mutate([*VER, "modules", 0, "name"], "a/b"),
        "applications[0].versions[1].modules[0].name",
        "contains '/'",
    ),
    (
        mutate([*VER, "modules", 0, "name"], "Current"),
        "applications[0].versions[1].modules[0].name",
        "'Current' is reserved",
    ),
    (
        mutate([*VER, "modules", 0, "version"], "current"),
        "applications[0].versions[1].modules[0].version",
        "'current' is reserved",
    ),
    (
        mutate([*VER, "modules", 0, "version"], "../../etc"),
        "applications[0].versions[1].modules[0].version",
        "contains '/'",
    ),
    (
        mutate([*VER, "modules", 0, "version"], "2.0.0\n"),
        "applications[0].versions[1].modules[0].version",
        "contains '\\n'",
    ),
    (
        mutate([*VER, "modules", 0, "version"], "1" * 5000),
        "applications[0].versions[1].modules[0].version",
        "is 5,000 characters long; at most 128",
    ),
    (mutate([*VER, "version"], "2.0.0\n"), "applications[0].versions[1].version", "'\\n'"),
    (
        mutate([*VER, "version"], "\u0662.\u0660"),
        "applications[0].versions[1].version",
        "only ASCII",
    ),
    (mutate([*VER, "version"], "\uff12.\uff10"), "applications[0].versions[1].version", "ASCII"),
    (
        mutate([*VER, "version"], "2" * 5000),
        "applications[0].versions[1].version",
        "is 5,000 characters long; at most 128",
    ),
]


@pytest.mark.parametrize(("document", "place", "what"), BAD_CASES)
def test_rejections_name_file_place_and_problem(db, tmp_path, document, place, what):
    import_file(FIXTURE)
    before = dump_tables()
    path = write(tmp_path, document, name="bad.yaml")
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    [(found, problem)] = info.value.problems  # one mistake, one problem
    assert (found, str(info.value)) == (place, f"{path}: {place}: {problem}")
    assert what in problem
    assert dump_tables() == before


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        (
            "bad.yaml",
            "applications: [\n  - name: x\n    versions: [",
            "line 2 column 3: not valid YAML",
        ),
        ("bad.yaml", "devices:\n  - name: a\n    name: b\n", "'name' appears twice"),
        ("bad.json", '{"devices": [}', "line 1 column 14"),
        ("bad.json", '{"devices": [], "devices": []}', "'devices' appears twice"),
        ("bad.yaml", "- just\n- a list\n", "top level must be a mapping"),
        ("bad.txt", "{}", "unknown format"),
    ],
)
def test_unreadable_files(db, tmp_path, name, raw, expected):
    path = write(tmp_path, None, name=name, raw=raw)
    with pytest.raises(FleetFileError, match=expected) as info:
        import_file(path)
    assert str(path) in str(info.value)


def test_missing_file(db, tmp_path):
    with pytest.raises(FleetFileError, match="cannot be read: No such file"):
        import_file(tmp_path / "absent.yaml")


def test_many_problems_reported_together(db, tmp_path):
    doc = copy.deepcopy(GOOD)
    doc["devices"][0]["site"] = 5
    doc["devices"][1]["endpoint"] = ""
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, doc))
    assert len(info.value.problems) == 2


# ---- malformed files thrown at import ----------------------------------------------------


def _paths(node, prefix=()):
    """Every (path, value) in a document."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


ALL_PATHS = [p for p, _ in _paths(GOOD) if p]
JUNK = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.just([]),
    st.just({}),
    st.just([1, 2]),
    st.just({"x": 1}),
    st.sampled_from(["", "not a version", "1..2", "9.9.9", "press-07", "collector"]),
)


def _render(path):
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.sampled_from(ALL_PATHS), st.one_of(JUNK, st.just(DELETE)))
def test_malformed_files_are_rejected_with_a_place_and_change_nothing(
    db, tmp_path_factory, path, junk
):
    import_file(FIXTURE)
    doc = mutate(list(path), junk)
    before = dump_tables()
    target = write(tmp_path_factory.mktemp("f"), doc)
    try:
        summary = import_file(target)
    except FleetFileError as exc:
        # rejected: every problem has a place inside the document, and nothing was written
        assert exc.problems
        for place, what in exc.problems:
            assert place, what
            assert what
        changed = _render(path)
        parent = _render(path[:-1])

        def related(place):
            if place.startswith(parent) or changed.startswith(place):
                return True
            # a changed catalog entry can make a device's reference to it unknown
            return path[0] == "applications" and place.startswith("devices[")

        assert all(related(place) for place, _ in exc.problems), (changed, exc.problems)
        assert dump_tables() == before
    else:
        # accepted: then it must have been a harmless change (an optional field, a label value,
        # an equivalent value) and a second import of it changes nothing more
        assert not import_file(target).changed_anything
        del summary


def test_fixture_and_exports_follow_the_documented_schema(db, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[2] / "docs" / "fleet-file.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(GOOD, schema)
    from appupdater.demo.fleet import load_demo

    load_demo(devices=30, seed=2)
    target = tmp_path / "demo.json"
    export_file(target)
    jsonschema.validate(json.loads(target.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(mutate([*DEV, "colour"], "red"), schema)
