"""Every error of the command line is one line on stderr and exit 1, never a traceback.

A table of bad inputs and broken environments (issue 13, items 7 and 10), each run through the
real command in its own process: the database is locked by another connection, immutable,
damaged or someone else's; options are out of range; fleet files are hostile."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from appupdater.cli import main
from appupdater.store.db import close_database

FIXTURE = Path(__file__).parent / "fixtures" / "fleet.yaml"

# The command as installed (`python -m appupdater`), with SQLite's wait for a lock cut from 10 s
# to 0.3 s so that the locked rows do not wait 10 s each; nothing else differs.
COMMAND = (
    "import sys, appupdater.store.db as d; d.SQLITE_PRAGMAS['busy_timeout'] = 300; "
    "from appupdater.cli import main; sys.exit(main(sys.argv[1:]))"
)


@dataclass
class Case:
    args: list[str]
    words: str
    prepare: Callable[[Path], contextmanager] | None = None
    fleet: str | None = None  # a fleet file written as {tmp}/fleet.<ext>, with this text
    fleet_ext: str = "yaml"
    env: dict[str, str] = field(default_factory=dict)
    fresh: bool = False  # no database prepared: the command meets none
    # a fleet file that may hold several problems: a line counting them, then one line each
    several: bool = False


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """Another program in the middle of a write transaction."""
    other = sqlite3.connect(db)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.rollback()
        other.close()


@contextmanager
def read_only(db: Path) -> Iterator[None]:
    """A database file nobody may write. We run as root in CI, and root ignores chmod 0444, so
    the file is made immutable (`chattr +i`), which stops root too; as another user, 0444."""
    if os.geteuid() != 0:
        db.chmod(0o444)
        yield
        db.chmod(0o600)
        return
    if shutil.which("chattr") is None:
        pytest.fail("chattr is needed to make a file read-only for root")
    subprocess.run(["chattr", "+i", str(db)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)


@contextmanager
def damaged(db: Path) -> Iterator[None]:
    """Pages in the middle of the file overwritten (a bad disk, a half-copied file)."""
    main(["--database", str(db), "demo", "--devices", "300"])
    size = db.stat().st_size
    with open(db, "r+b") as file:  # pages of the last tables written, not the schema
        file.seek(size * 3 // 4 // 4096 * 4096)
        file.write(b"\xa5" * (size // 8))
    yield


@contextmanager
def not_a_database(db: Path) -> Iterator[None]:
    db.write_bytes(b"just some text, not SQLite\n" * 200)
    yield


@contextmanager
def foreign(db: Path) -> Iterator[None]:
    db.unlink()
    with closing(sqlite3.connect(db)) as other:
        other.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        other.commit()
    db.chmod(0o600)
    yield


def _nested_yaml(depth: int) -> str:
    return FIXTURE.read_text().replace('line: "3"', "line: " + "[" * depth + "]" * depth)


def _nested_json(depth: int) -> str:
    import yaml

    document = yaml.safe_load(FIXTURE.read_text())
    text = json.dumps(document)
    return text.replace('"line": "3"', '"line": ' + "[" * depth + "]" * depth)


def _fixture_with(old: str, new: str) -> str:
    text = FIXTURE.read_text()
    assert old in text
    return text.replace(old, new, 1)


MERGE_KEYS = _fixture_with(
    "devices:\n  - name: press-07\n    site: Plant A\n",
    "devices:\n  - name: press-07\n    <<: {site: Plant A}\n",
)
# a merge key must bring a mapping (or a list of them)
BAD_MERGE_KEY = _fixture_with(
    "devices:\n  - name: press-07\n    site: Plant A\n",
    "devices:\n  - name: press-07\n    <<: Plant A\n",
)

CASES = {
    # the database
    "locked during import": Case(["import", str(FIXTURE)], "is locked", write_lock),
    "locked during update": Case(
        ["update", "--app", "line-monitor", "--yes"], "locked", write_lock
    ),
    "read-only during import": Case(["import", str(FIXTURE)], "read-only", read_only),
    "read-only during update": Case(
        ["update", "--app", "line-monitor", "--yes"], "read-only", read_only
    ),
    "damaged during export": Case(["export", "{tmp}/out.yaml"], "damaged", damaged),
    "damaged during update": Case(["update", "--app", "line-monitor", "--yes"], "damaged", damaged),
    "not a database": Case(["status"], "not a database", not_a_database),
    "another program's database": Case(["import", str(FIXTURE)], "not an App Updater", foreign),
    "unknown URL scheme": Case(["--database", "foo://bar", "status"], "scheme", fresh=True),
    "status on a missing folder": Case(
        ["--database", "{tmp}/nowhere/db.sqlite3", "status"], "no database at", fresh=True
    ),
    # options
    "far-future deploy time": Case(
        ["update", "--app", "line-monitor", "--deploy", "9999-12-31T23:59:59-14:00", "--yes"],
        "too far in the future",
    ),
    "time inside a DST gap": Case(
        ["update", "--app", "line-monitor", "--deploy", "2026-03-29T02:30", "--yes"],
        "does not exist",
        env={"TZ": "Europe/Berlin"},
    ),
    "huge run number": Case(["status", "--run", "99999999999999999999999"], "no update run"),
    "missing run": Case(["status", "--run", "999"], "there is no update run 999"),
    "timeout nan": Case(["engine", "--timeout", "nan"], "--timeout"),
    "timeout inf": Case(["engine", "--timeout", "inf"], "--timeout"),
    "timeout negative": Case(["engine", "--timeout", "-1"], "--timeout"),
    "demo latency nan": Case(["demo", "--latency", "nan"], "--latency"),
    "demo failure rate nan": Case(["demo", "--failure-rate", "nan"], "between 0 and 1"),
    "export to a missing folder": Case(["export", "{tmp}/missing/out.yaml"], "does not exist"),
    "--app NAME=": Case(["plan", "--app", "line-monitor="], "names no version"),
    "--app NAME= on update": Case(["update", "--app", "line-monitor=", "--yes"], "no version"),
    # fleet files
    "YAML nested 600 levels": Case(
        ["import", "{tmp}/fleet.yaml"], "fleet.yaml", fleet=_nested_yaml(600)
    ),
    # 1200 levels suffice on Python 3.11; from 3.12 on the decoder goes deeper before it gives up
    "JSON nested 100000 levels": Case(
        ["import", "{tmp}/fleet.json"], "fleet.json", fleet=_nested_json(100_000), fleet_ext="json"
    ),
    # Python 3.11's decoder gives up at 1200 levels (one problem, its line); 3.12 reads them,
    # so the nesting and the list where a label's value goes are two problems
    "JSON nested 1200 levels": Case(
        ["import", "{tmp}/fleet.json"],
        "is nested more than 100 levels deep",
        fleet=_nested_json(1200),
        fleet_ext="json",
        several=True,
    ),
    "5000-digit version": Case(
        ["import", "{tmp}/fleet.yaml"],
        "versions[1].version",
        fleet=_fixture_with('version: "2.0.0"\n', 'version: "' + "9" * 5000 + '"\n'),
    ),
    "5000-digit integer": Case(
        ["import", "{tmp}/fleet.yaml"],
        "sim.latency_s",
        fleet=_fixture_with("sim.latency_s: 0.5", "sim.latency_s: " + "7" * 5000),
    ),
    "endpoint with an open bracket": Case(
        ["import", "{tmp}/fleet.yaml"],
        "endpoint",
        fleet=_fixture_with("https://10.0.3.8:8443", "http://[::1:8443"),
    ),
    "NaN label": Case(
        ["import", "{tmp}/fleet.yaml"], "labels", fleet=_fixture_with('line: "3"', "line: .nan")
    ),
    "Inf label": Case(
        ["import", "{tmp}/fleet.yaml"], "labels", fleet=_fixture_with('line: "3"', "line: -.inf")
    ),
    "sim.latency_s infinite": Case(
        ["import", "{tmp}/fleet.yaml"],
        "sim.latency_s",
        fleet=_fixture_with("sim.latency_s: 0.5", "sim.latency_s: .inf"),
    ),
    "YAML merge key without a mapping": Case(
        ["import", "{tmp}/fleet.yaml"], "for merging", fleet=BAD_MERGE_KEY
    ),
    "application named with '='": Case(
        ["import", "{tmp}/fleet.yaml"],
        "=",
        fleet=_fixture_with("- name: line-monitor\n", "- name: line-monitor=2.0\n"),
    ),
}


def _params():
    for name, case in CASES.items():
        yield pytest.param(case, id=name)


@pytest.mark.parametrize("case", list(_params()))
def test_every_error_is_one_line(tmp_path, case):
    db = tmp_path / "db.sqlite3"
    if not case.fresh:
        assert main(["--database", str(db), "import", str(FIXTURE)]) == 0
    if case.fleet is not None:
        (tmp_path / f"fleet.{case.fleet_ext}").write_text(case.fleet)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in case.args]
    if args[0] != "--database":
        args = ["--database", str(db), *args]
    prepare = case.prepare(db) if case.prepare else _nothing()
    with prepare:
        result = subprocess.run(
            [sys.executable, "-c", COMMAND, *args],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, **case.env},
        )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result
    lines = result.stderr.splitlines()
    assert lines[0].startswith("appupdater: "), lines[0]
    assert case.words in (result.stderr if case.several else lines[0]), lines
    if case.several and len(lines) > 1:
        assert f"{len(lines) - 1} problems; nothing was imported" in lines[0], lines
    else:
        assert len(lines) == 1, lines


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def test_a_bug_still_shows_its_traceback(capsys, tmp_path, monkeypatch):
    """Only problems of the input or the environment become one line: a bug stays a bug."""
    from appupdater.cli import verbs

    def broken(args):
        raise KeyError("a bug")

    monkeypatch.setitem(verbs.VERBS, "status", broken)
    with pytest.raises(KeyError):
        main(["--database", str(tmp_path / "db.sqlite3"), "status"])


def test_engine_refuses_a_stale_after_too_short(capsys, tmp_path, monkeypatch):
    """In process, with the headless engine replaced: on a branch without the validation the
    engine would otherwise run until stopped."""
    from appupdater.engine import headless

    monkeypatch.setattr(headless, "run_headless", lambda settings: 0)
    database = ["--database", str(tmp_path / "db.sqlite3")]
    code = main([*database, "engine", "--stale-after", "0.1"])
    _, err = capsys.readouterr()
    close_database()
    assert code == 1 and len(err.splitlines()) == 1 and "stale" in err


def test_yaml_merge_keys_are_imported(tmp_path):
    """`<<:` is supported: the merged mapping's keys count, line numbers stay for errors."""
    from appupdater.store.models import Device

    (tmp_path / "fleet.yaml").write_text(MERGE_KEYS)
    database = ["--database", str(tmp_path / "db.sqlite3")]
    assert main([*database, "import", str(tmp_path / "fleet.yaml")]) == 0
    assert Device.get(Device.name == "press-07").site == "Plant A"
    close_database()
