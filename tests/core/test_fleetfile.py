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
    # the simulated devices read these labels as numbers
    (
        mutate([*DEV, "labels", "sim.latency_s"], "slow"),
        "devices[0].labels.sim.latency_s",
        "must be a number",
    ),
    (
        mutate([*DEV, "labels", "sim.failure_rate"], True),
        "devices[0].labels.sim.failure_rate",
        "must be a number",
    ),
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


# ---- numbers, nesting and YAML merge keys ------------------------------------------------

TEXT = FIXTURE.read_text()
LABELS = '    labels: {line: "3", sim.latency_s: 0.5, sim.offline: false}\n'
HUGE = "1" * 5000  # past Python's int() limit of 4300 digits
NUMBER_CASES = [
    ("sim.latency_s: 0.5", "sim.latency_s: .inf", "labels.sim.latency_s", "not infinity"),
    ("sim.latency_s: 0.5", "sim.latency_s: -.inf", "labels.sim.latency_s", "minus infinity"),
    ("sim.latency_s: 0.5", "sim.latency_s: .nan", "labels.sim.latency_s", "not NaN"),
    ("sim.latency_s: 0.5", "sim.latency_s: 1.0e+400", "labels.sim.latency_s", "infinity"),
    ('line: "3"', f"line: {HUGE}", "labels.line", "a number with 5,000 digits"),
    ('line: "3"', f"line: -{HUGE}", "labels.line", "a number with 5,000 digits"),
    ('line: "3"', f"line: 0x{'f' * 5000}", "labels.line", "a number with 5,00"),
    ('line: "3"', f"{'1' * 200}: x", "labels", "has a name that is a number with 200 digits"),
    # a YAML key is at most 1024 characters: a longer one is not YAML at all
    ('line: "3"', f"{HUGE}: x", "", "line 17 column"),
    ('line: "3"', ".nan: x", "labels", "has a name that is NaN"),
]


@pytest.mark.parametrize(("old", "new", "place", "what"), NUMBER_CASES)
def test_numbers_a_fleet_file_cannot_hold_are_refused_at_their_place(
    db, tmp_path, old, new, place, what
):
    import_file(FIXTURE)
    before = dump_tables()
    path = write(tmp_path, None, raw=TEXT.replace(old, new))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    [(found, problem)] = info.value.problems
    assert f"{found}: {problem}".startswith(f"devices[0].{place}" if place else "line")
    assert what in f"{found}: {problem}"
    assert len(str(info.value)) < 300
    assert dump_tables() == before


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("NaN", "not NaN"),
        ("Infinity", "not infinity"),
        ("-Infinity", "minus infinity"),
        ("1e999", "not infinity"),
        (HUGE, "a number with 5,000 digits"),
    ],
)
def test_numbers_json_cannot_hold_are_refused_at_their_place(db, tmp_path, value, what):
    raw = json.dumps(GOOD).replace('"sim.latency_s": 0.5', f'"sim.latency_s": {value}')
    assert value in raw
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, None, name="bad.json", raw=raw))
    [(found, problem)] = info.value.problems
    assert (found, what in problem) == ("devices[0].labels.sim.latency_s", True)


def test_a_5000_digit_version_is_named_at_its_place(db, tmp_path):
    raw = TEXT.replace('version: "2.0.0"', f"version: {HUGE}", 1)
    raw = raw.replace('installed: "1.0.0"', f'installed: "{HUGE}"', 1)
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, None, raw=raw))
    places = dict(info.value.problems)
    assert "a number with 5,000 digits" in places["applications[0].versions[1].version"]
    assert "5,000 characters long" in places["devices[0].applications.line-monitor.installed"]
    assert HUGE not in str(info.value)


def _deep_yaml(levels: int, flow: bool) -> str:
    if flow:
        return TEXT.replace('line: "3"', "line: " + "[" * levels + "]" * levels)
    nested = "".join("\n" + "  " * (4 + i) + "k:" for i in range(levels)) + " x"
    return TEXT.replace(LABELS, f"    labels:\n      deep:{nested}\n")


@pytest.mark.parametrize(
    ("levels", "flow"),
    # (a block mapping 100k levels deep would be 10 GB of indentation)
    [*[(n, True) for n in (150, 500, 5000, 100_000)], *[(n, False) for n in (150, 500, 5000)]],
)
def test_deep_nesting_in_yaml_is_named_not_a_crash(db, tmp_path, levels, flow):
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, None, raw=_deep_yaml(levels, flow)))
    message = str(info.value)
    assert "nested more than 100 levels deep" in message, message
    assert len(message) < 400


@pytest.mark.parametrize("levels", [150, 500, 1000, 5000, 100_000])
def test_deep_nesting_in_json_is_named_not_a_crash(db, tmp_path, levels):
    deep = "[" * levels + "]" * levels
    raw = json.dumps(GOOD).replace('"sim.latency_s": 0.5', f'"sim.latency_s": {deep}')
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, None, name="deep.json", raw=raw))
    # the label is also "not text, a number or true/false" when it can be read at all
    [(place, what)] = [(p, w) for p, w in info.value.problems if "nested" in w]
    assert what == "is nested more than 100 levels deep"
    assert place.startswith("devices[0].labels.sim.latency_s[0][0]") or place.startswith(
        "line 1 column "
    )
    assert len(str(info.value)) < 400


def test_a_fleet_file_nested_as_deep_as_it_needs_is_fine(db, tmp_path):
    # the deepest real place: applications[0].versions[0].modules[0].artifact.url (6 levels)
    doc = copy.deepcopy(GOOD)
    doc["devices"][0]["labels"]["line"] = "3"
    import_file(write(tmp_path, doc))


MERGED = """
applications:
  - name: line-monitor
    versions:
      - version: "1.0.0"
        modules:
          - &module {name: collector, version: "1.0.0", image: "registry.local/collector:1.0.0"}
      - version: "2.0.0"
        modules:
          - {<<: *module, version: "2.0.0"}
devices:
  - &press
    name: press-07
    site: Plant A
    labels: {line: "3"}
    applications:
      line-monitor: {configured: "1.0.0", installed: "1.0.0"}
  - &eight
    <<: *press
    name: press-08
    endpoint: https://10.0.3.8:8443
  - <<: [*eight, *press]
    name: press-09
    site: Plant B
"""


def test_yaml_merge_keys_are_supported(db, tmp_path):
    summary = import_file(write(tmp_path, None, raw=MERGED))
    assert summary.devices_added == 3
    nine = Device.get(Device.name == "press-09")
    assert (nine.site, nine.labels, nine.endpoint) == (
        "Plant B",
        {"line": "3"},
        "https://10.0.3.8:8443",
    )
    assert Device.get(Device.name == "press-08").site == "Plant A"
    assert Module.select().where(Module.version == "2.0.0").count() == 1
    assert not import_file(write(tmp_path, None, raw=MERGED)).changed_anything


def test_a_key_written_twice_beside_a_merge_is_still_refused_with_its_line(db, tmp_path):
    raw = MERGED.replace("    name: press-09\n", "    name: press-09\n    name: press-10\n")
    with pytest.raises(FleetFileError, match=r"'name' appears twice in one mapping \(line 24\)"):
        import_file(write(tmp_path, None, raw=raw))


def test_a_merge_of_something_not_a_mapping_says_so(db, tmp_path):
    raw = MERGED.replace("<<: [*eight, *press]", "<<: 5")
    with pytest.raises(FleetFileError, match=r"line 22 .*merg"):
        import_file(write(tmp_path, None, raw=raw))


def test_yaml_aliases_do_not_multiply_the_work(db, tmp_path):
    # a "billion laughs": 10 levels of 10 references to the level below
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]")
    raw = TEXT.replace(LABELS, "    labels:\n      " + "\n      ".join(lines) + "\n")
    with pytest.raises(FleetFileError) as info:
        import_file(write(tmp_path, None, raw=raw))
    assert len(info.value.problems) < 20


@pytest.fixture(params=["libyaml", "pure"])
def yaml_loader(request, monkeypatch):
    """Each YAML test below with the libyaml loader (when PyYAML has it) and the pure one."""
    from appupdater.core import fleetyaml

    if request.param == "libyaml":
        if not yaml.__with_libyaml__:
            pytest.skip("PyYAML is built without libyaml")
        assert fleetyaml.LOADER.__name__ == "CLoader"
    else:
        monkeypatch.setattr(fleetyaml, "LOADER", fleetyaml.PureLoader)
    return request.param


def test_both_yaml_loaders_read_the_same(db, tmp_path, yaml_loader):
    summary = import_file(write(tmp_path, None, raw=MERGED))
    assert summary.devices_added == 3
    assert Device.get(Device.name == "press-09").endpoint == "https://10.0.3.8:8443"
    with pytest.raises(FleetFileError, match=r"'name' appears twice in one mapping \(line 24\)"):
        import_file(
            write(
                tmp_path,
                None,
                raw=MERGED.replace("    name: press-09\n", "    name: press-09\n    name: x\n"),
            )
        )
    for levels in (150, 500, 5000):
        with pytest.raises(FleetFileError, match="nested more than 100 levels deep"):
            import_file(write(tmp_path, None, raw=_deep_yaml(levels, flow=True)))
    with pytest.raises(FleetFileError, match=r"sim\.latency_s: must be a finite number, not NaN"):
        import_file(write(tmp_path, None, raw=TEXT.replace("0.5", ".nan")))
    with pytest.raises(FleetFileError, match=r"labels\.line: is a number with 5,000 digits"):
        import_file(write(tmp_path, None, raw=TEXT.replace('line: "3"', f"line: {HUGE}")))


# the event-based YAML reader must read what PyYAML's own SafeLoader reads
TRICKY = [
    "yes", "No", "on", "off", "~", "null", "", "0x1F", "0o17", "017", "1_000", "+1", "-0",
    ".5", "1e3", "1.0e+3", "-.inf", "2024-01-02", "2024-01-02 03:04:05", "3.10", "1.2.3",
    "<<", "=", "!x", "&a", "*a", "a: b", "- x", "# c", "'q'", '"d"', "é", "line\nbreak",
]  # fmt: skip
SCALARS = st.one_of(
    st.sampled_from(TRICKY),
    st.text(max_size=8),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.one_of(st.text(max_size=6), st.sampled_from(TRICKY)), inner, max_size=4
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(DOCUMENTS, st.booleans())
def test_the_yaml_reader_reads_what_pyyaml_reads(document, flow):
    from appupdater.core.fleetyaml import load_yaml

    text = yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True)
    assert load_yaml(text)[0] == yaml.safe_load(text)


@pytest.mark.parametrize(
    "raw",
    [
        TEXT,
        "a: &x [1, 2]\nb: *x\nc: &y {k: v}\nd: *y\ne: &z plain\nf: *z\n",
        "a: 2024-01-02\nb: 0x10\nc: !!str 5\nd: !!float 1\n",  # explicit tags: PyYAML reads it
        "? [1, 2]\n: x\n",  # a list as a key: PyYAML says it cannot hash it
        "- 1\n- 2\n",
        "",
        "just text\n",
    ],
)
def test_the_yaml_reader_agrees_with_pyyaml_on_special_documents(raw):
    from appupdater.core.fleetyaml import load_yaml

    try:
        expected = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        with pytest.raises(yaml.YAMLError) as info:
            load_yaml(raw)
        assert type(info.value) is type(exc)
    else:
        assert load_yaml(raw)[0] == expected


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ([*APP, "name"], "line-monitor=2.0"),
        ([*APP, "name"], "Current"),
        ([*VER, "modules", 0, "version"], "current"),
        ([*VER, "modules", 0, "name"], "../../etc"),
        ([*VER, "version"], "2" * 200),
    ],
)
def test_the_schema_states_the_naming_rule(path, value):
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((Path(__file__).parents[2] / "docs" / "fleet-file.schema.json").read_text())
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(mutate(path, value), schema)
