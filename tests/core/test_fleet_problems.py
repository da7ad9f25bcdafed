"""An import with several mistakes lists every one, each on its own line with file, place and
problem, whether the mistake is in the file alone or only shows against the database."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from appupdater.core.fleetchecks import check_endpoint
from appupdater.core.fleetimport import import_file
from appupdater.errors import FleetFileError
from tests.helpers import dump_tables

FIXTURE = Path(__file__).parent.parent / "fixtures" / "fleet.yaml"
GOOD = yaml.safe_load(FIXTURE.read_text())


def three_mistakes() -> dict:
    """An unknown version, a version that does not parse, and a device listed twice."""
    doc = copy.deepcopy(GOOD)
    doc["devices"][0]["applications"]["line-monitor"]["configured"] = "9.9.9"
    doc["applications"][0]["versions"][1]["version"] = "2.0.x"
    doc["devices"][1]["name"] = "press-07"
    del doc["devices"][1]["applications"]  # it is configured at 2.0.0
    return doc


def test_three_mistakes_are_three_lines(db, tmp_path):
    import_file(FIXTURE)
    before = dump_tables()
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(three_mistakes(), sort_keys=False))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    lines = str(info.value).splitlines()
    assert lines == [
        f"{path}: 3 problems; nothing was imported",
        "three.yaml: applications[0].versions[1].version: '2.0.x' is not a version "
        "(expected e.g. 1.2.3, v2.0 or 2.0.0-rc.1)",
        "three.yaml: devices[0].applications.line-monitor.configured: unknown version '9.9.9' "
        "of application 'line-monitor' (one of its versions in this file has a problem too)",
        "three.yaml: devices[1].name: device 'press-07' is already defined at devices[0]",
    ]
    assert len(info.value.problems) == 3
    assert dump_tables() == before


def test_a_reference_to_a_rejected_version_says_why_it_may_be_unknown(db, tmp_path):
    """press-07 is configured at 1.0.0, whose entry is broken."""
    doc = copy.deepcopy(GOOD)
    doc["applications"][0]["versions"][0]["version"] = "1.0.x"
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    assert info.value.problems[1:] == [
        (
            "devices[0].applications.line-monitor.configured",
            "unknown version '1.0.0' of application 'line-monitor' "
            "(one of its versions in this file has a problem too)",
        ),
        (
            "devices[0].applications.line-monitor.installed",
            "unknown version '1.0.0' of application 'line-monitor' "
            "(one of its versions in this file has a problem too)",
        ),
        (
            "devices[1].applications.line-monitor.installed",
            "unknown version '1.0.0' of application 'line-monitor' "
            "(one of its versions in this file has a problem too)",
        ),
    ]


def test_a_reference_to_an_unnamed_application_says_why_it_may_be_unknown(db, tmp_path):
    doc = copy.deepcopy(GOOD)
    doc["applications"][0]["name"] = ""
    path = tmp_path / "unnamed.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    assert info.value.problems == [
        ("applications[0].name", "must not be empty"),
        *[
            (
                f"devices[{i}].applications.line-monitor",
                "unknown application 'line-monitor' "
                "(an application entry of this file has a problem too)",
            )
            for i in (0, 1)
        ],
    ]


def test_many_mistakes_are_capped_and_counted(db, tmp_path):
    doc = copy.deepcopy(GOOD)
    doc["devices"] = [
        {"name": f"dev-{i:03}", "applications": {"line-monitor": {"installed": "9.9.9"}}}
        for i in range(120)
    ]
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    lines = str(info.value).splitlines()
    assert len(lines) == FleetFileError.SHOWN + 1
    # in the file's order: devices[2] before devices[10]
    assert lines[0] == (
        f"{path}: 120 problems, the first {FleetFileError.SHOWN} listed; nothing was imported"
    )
    assert lines[3].startswith("many.yaml: devices[2].applications.line-monitor.installed: ")
    assert len(info.value.problems) == 120


def test_one_problem_is_one_line(db, tmp_path):
    doc = copy.deepcopy(GOOD)
    doc["devices"][0]["applications"]["line-monitor"]["configured"] = "9.9.9"
    path = tmp_path / "one.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    assert str(info.value) == (
        f"{path}: devices[0].applications.line-monitor.configured: unknown version '9.9.9' of "
        "application 'line-monitor'"
    )


# ---- endpoints: the fleet file and the connection dialog check them with one function -----

BAD_ENDPOINTS = [
    ("http://[::1:8443", "has a '[' without its ']'"),
    ("https://[", "has a '[' without its ']'"),
    ("https://[::1", "has a '[' without its ']'"),
    ("https://::1]:8443", "has a '[' without its ']'"),
    ("http://\u2100:80", "not a valid name or address"),
    ("http://[::zz]:8443", "not a valid"),
    ("http://[v1.x]:8443", "not a valid IPv6 address"),
    ("http://[::1]x:8443", "only scheme, host and port"),
    ("https://user@10.0.3.7:8443", "only scheme, host and port"),
    ("https://10.0.3.7:99999", "port that is not a number from 1 to 65535"),
    ("https://10.0.3.7:0", "port that is not a number from 1 to 65535"),
    ("https://10.0.3.7:x", "port that is not a number from 1 to 65535"),
    ("https://10.0.3.7:8443\n", "spaces or control characters"),
    ("https://10.0.3.7 :8443", "spaces or control characters"),
    ("https://10.0.3.7", "must name a host and a port"),
    ("ftp://10.0.3.7:8443", "must start with https://"),
]


@pytest.mark.parametrize(("endpoint", "what"), BAD_ENDPOINTS)
def test_a_bad_endpoint_is_a_problem_at_its_place_not_a_crash(db, tmp_path, endpoint, what):
    doc = copy.deepcopy(GOOD)
    doc["devices"][1]["endpoint"] = endpoint
    path = tmp_path / "endpoint.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(FleetFileError) as info:
        import_file(path)
    [(place, problem)] = info.value.problems
    assert place == "devices[1].endpoint"
    assert what in problem


@pytest.mark.parametrize(
    "endpoint", ["https://10.0.3.7:8443", "http://[::1]:8443", "https://Press-07.plant.local:1"]
)
def test_good_endpoints(endpoint):
    assert check_endpoint(endpoint) is None


URLISH = st.text(alphabet="htps:/[]@%.:0123456789abcdefx\u2100 \n", max_size=30)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), URLISH, URLISH.map(lambda rest: "https://" + rest)))
def test_the_endpoint_check_never_raises(text):
    # the connection dialog calls it on every keystroke
    problem = check_endpoint(text)
    assert problem is None or (problem and "\n" not in problem)
