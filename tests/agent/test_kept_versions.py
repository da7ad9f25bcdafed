"""Previous module versions kept on the device: a deployment to a version still there (its
completion mark written last, its files as unpacked, from the artifact asked for) downloads
nothing; `keep_versions` bounds what stays; pruning never takes the active or the previous
version and finishes after a crash. In process here; the real process: test_kept_process.py."""

from __future__ import annotations

import json
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appupdater.agent.parsing import parse_configuration
from appupdater.agent.pruning import plan, remembered
from appupdater.agent.state import Agent
from appupdater.demo.agents import module_files, write_tarball
from tests.agent.test_agent import active, finished

VERSIONS = [
    ("collector", "1.0.0"),
    ("collector", "2.0.0"),
    ("collector", "3.0.0"),
    ("dashboard", "1.0.0"),
    ("alerts", "1.0.0"),
]


class _LoggingHandler(SimpleHTTPRequestHandler):
    def do_GET(self):
        with self.server.lock:
            self.server.requests.append(self.path)
        super().do_GET()

    def log_message(self, format, *args):
        pass


class LoggingArtifactServer:
    """Serves a folder over HTTP on loopback and keeps the path of every request it got."""

    def __init__(self, folder: Path):
        self.server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(_LoggingHandler, directory=str(folder))
        )
        self.server.daemon_threads = True
        self.server.requests, self.server.lock = [], threading.Lock()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def requests(self, name: str, version: str) -> int:
        """How often the artifact of module `name` `version` was asked for."""
        with self.server.lock:
            return self.server.requests.count(f"/{name}-{version}.tar.gz")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Served:
    """The artifacts of VERSIONS over HTTP, and configurations of line-monitor made of them."""

    def __init__(self, folder: Path):
        self.sha = {}
        for name, version in VERSIONS:
            path = folder / f"{name}-{version}.tar.gz"
            self.sha[(name, version)] = write_tarball(path, module_files(name, version))
        self.server = LoggingArtifactServer(folder)

    def configuration(self, *modules: tuple[str, str], version: str = "1.0.0", **sha):
        entries = [
            {
                "name": name,
                "version": module_version,
                "url": f"{self.server.url}/{name}-{module_version}.tar.gz",
                "sha256": sha.get(name, self.sha[(name, module_version)]),
            }
            for name, module_version in modules
        ]
        return parse_configuration(
            {"applications": [{"name": "line-monitor", "version": version, "modules": entries}]}
        )

    def collector(self, version: str):
        return self.configuration(("collector", version), version=version)

    def requests(self, name: str, version: str) -> int:
        return self.server.requests(name, version)


@pytest.fixture
def served(tmp_path):
    made = Served(tmp_path / "artifacts")
    yield made
    made.server.close()


def deploy(agent: Agent, deployment_id: str, configuration) -> dict:
    agent.put(deployment_id, configuration)
    answer = finished(agent, deployment_id)
    assert answer["state"] == "succeeded", answer["message"]
    return answer


def messages(answer: dict) -> list[str]:
    return [line["message"] for line in answer["log"]]


def on_disk(root: Path, module: str) -> list[str]:
    """What the module's folder holds: versions, marks, the link (sorted names)."""
    folder = root / "modules" / module
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


V1 = [("collector", "1.0.0"), ("dashboard", "1.0.0")]
V2 = [("collector", "2.0.0"), ("alerts", "1.0.0")]


def test_a_version_still_on_the_device_is_not_downloaded_again(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01")
    deploy(agent, "d1", served.configuration(*V1))
    deploy(agent, "d2", served.configuration(*V2, version="2.0.0"))
    back = deploy(agent, "d3", served.configuration(*V1))
    assert served.requests("collector", "1.0.0") == 1
    assert served.requests("dashboard", "1.0.0") == 1
    assert "collector 1.0.0 already on the device" in messages(back)
    assert "dashboard 1.0.0 already on the device" in messages(back)
    assert not any(m.startswith("downloading") for m in messages(back))
    assert active(agent.root) == {"collector": "1.0.0", "dashboard": "1.0.0"}
    # the disk: every version with its completion mark, no artifact left in downloads/
    assert on_disk(agent.root, "collector") == [
        ".1.0.0.complete",
        ".2.0.0.complete",
        "1.0.0",
        "2.0.0",
        "current",
    ]
    assert on_disk(agent.root, "alerts") == [".1.0.0.complete", "1.0.0"]  # not active, kept
    assert list((agent.root / "downloads").iterdir()) == []


@pytest.mark.parametrize("keep", [0, 1])
def test_keeping_one_or_none_prunes_all_but_the_active_and_the_previous_version(
    tmp_path, served, keep
):
    agent = Agent(tmp_path / "device", "press-01", keep_versions=keep)
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))
    assert on_disk(agent.root, "collector") == [
        ".1.0.0.complete",
        ".2.0.0.complete",
        "1.0.0",
        "2.0.0",
        "current",
    ]
    third = deploy(agent, "d3", served.collector("3.0.0"))
    assert on_disk(agent.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]
    assert active(agent.root) == {"collector": "3.0.0"}
    assert any(m.startswith("removed collector 1.0.0 from the device") for m in messages(third))
    assert json.loads((agent.root / "state.json").read_text())["pruning"] == []
    # the previous version comes back without a download
    back = deploy(agent, "d4", served.collector("2.0.0"))
    assert "collector 2.0.0 already on the device" in messages(back)
    assert served.requests("collector", "2.0.0") == 1
    assert on_disk(agent.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]


def test_by_default_two_previous_versions_stay(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01")
    for number, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        deploy(agent, f"d{number}", served.collector(version))
    assert [p for p in on_disk(agent.root, "collector") if not p.startswith(".")] == [
        "1.0.0",
        "2.0.0",
        "3.0.0",
        "current",
    ]
    deploy(agent, "d9", served.collector("1.0.0"))
    assert served.requests("collector", "1.0.0") == 1


def test_a_module_no_longer_active_keeps_the_version_it_ran(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01", keep_versions=0)
    deploy(agent, "d1", served.configuration(*V1))
    deploy(agent, "d2", served.configuration(*V2, version="2.0.0"))
    deploy(agent, "d3", served.configuration(("collector", "3.0.0"), version="3.0.0"))
    # collector: 3.0.0 active, 2.0.0 previous; 1.0.0 gone. dashboard and alerts ran last in
    # 1.0.0: that is their previous version, so it stays for a rollback
    assert on_disk(agent.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]
    assert on_disk(agent.root, "dashboard") == [".1.0.0.complete", "1.0.0"]
    assert on_disk(agent.root, "alerts") == [".1.0.0.complete", "1.0.0"]


@pytest.mark.parametrize(
    "damage",
    ["changed file", "added file", "removed file", "missing mark", "other artifact"],
)
def test_a_damaged_kept_copy_is_downloaded_again(tmp_path, served, damage):
    agent = Agent(tmp_path / "device", "press-01")
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))
    kept = agent.root / "modules" / "collector" / "1.0.0"
    mark = agent.root / "modules" / "collector" / ".1.0.0.complete"
    configuration = served.collector("1.0.0")
    if damage == "changed file":
        (kept / "collector" / "VERSION").write_text("collector 6.6.6\n")
        why = "collector/VERSION differs"
    elif damage == "added file":
        (kept / "collector" / "extra").write_text("x")
        why = "collector/extra was added"
    elif damage == "removed file":
        (kept / "collector" / "bin" / "run.sh").unlink()
        why = "collector/bin/run.sh is missing"
    elif damage == "missing mark":
        mark.unlink()
        why = "it was never finished or was being removed"
    else:  # the same version published again as another artifact
        (tmp_path / "artifacts" / "collector-1.0.0.tar.gz").write_bytes(b"")
        sha = write_tarball(
            tmp_path / "artifacts" / "collector-1.0.0.tar.gz",
            {**module_files("collector", "1.0.0"), "collector/NOTES": "republished\n"},
        )
        configuration = served.configuration(("collector", "1.0.0"), collector=sha)
        why = "it was unpacked from another artifact"
    again = deploy(agent, "d3", configuration)
    assert served.requests("collector", "1.0.0") == 2
    warning = next(m for m in messages(again) if m.startswith("collector 1.0.0 on the device"))
    assert why in warning and warning.endswith("downloading it again"), warning
    assert "downloading collector 1.0.0" in messages(again)
    assert (kept / "collector" / "VERSION").read_text() == "collector 1.0.0\n"
    assert mark.exists()
    assert active(agent.root) == {"collector": "1.0.0"}
    # and now it is whole again: a fourth deployment of it downloads nothing
    deploy(agent, "d4", served.collector("2.0.0"))
    deploy(agent, "d5", configuration)
    assert served.requests("collector", "1.0.0") == 2


def test_an_agent_stopped_while_pruning_finishes_it_when_it_starts(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01", keep_versions=2)
    for number, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        deploy(agent, f"d{number}", served.collector(version))
    # as a power cut in the middle of removing 1.0.0 leaves it: the journal written, the mark
    # gone, half of the folder removed
    state_file = agent.root / "state.json"
    state = json.loads(state_file.read_text())
    state["pruning"] = [{"module": "collector", "version": "1.0.0"}]
    state_file.write_text(json.dumps(state))
    (agent.root / "modules" / "collector" / ".1.0.0.complete").unlink()
    (agent.root / "modules" / "collector" / "1.0.0" / "collector" / "VERSION").unlink()

    restarted = Agent(agent.root, keep_versions=2)
    assert on_disk(restarted.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]
    assert json.loads(state_file.read_text())["pruning"] == []
    again = deploy(restarted, "d9", served.collector("1.0.0"))
    assert "downloading collector 1.0.0" in messages(again)
    assert served.requests("collector", "1.0.0") == 2


def test_a_folder_left_half_renamed_for_removal_is_cleared_at_start(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01")
    for number, version in enumerate(["1.0.0", "2.0.0", "3.0.0"]):
        deploy(agent, f"d{number}", served.collector(version))
    folder = agent.root / "modules" / "collector"
    (folder / ".1.0.0.complete").unlink()
    (folder / "1.0.0").rename(folder / ".1.0.0.pruning")
    state_file = agent.root / "state.json"
    state = json.loads(state_file.read_text())
    state["pruning"] = [{"module": "collector", "version": "1.0.0"}]
    state_file.write_text(json.dumps(state))
    Agent(agent.root)
    assert on_disk(agent.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]


def test_an_earlier_agents_folders_without_marks_are_unpacked_again(tmp_path, served):
    """Folders an agent before marks left are not trusted: a deployment of such a version
    fetches it again (from a kept artifact in downloads/ when its SHA-256 is right)."""
    agent = Agent(tmp_path / "device", "press-01")
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))
    folder = agent.root / "modules" / "collector"
    for mark in folder.glob(".*.complete"):
        mark.unlink()
    archive = tmp_path / "artifacts" / "collector-1.0.0.tar.gz"
    kept = agent.root / "downloads" / f"{served.sha[('collector', '1.0.0')]}.tar.gz"
    kept.write_bytes(archive.read_bytes())
    again = deploy(agent, "d3", served.collector("1.0.0"))
    assert served.requests("collector", "1.0.0") == 1  # unpacked from the kept artifact
    assert "unpacking collector 1.0.0" in messages(again)
    assert (folder / ".1.0.0.complete").exists()
    assert list((agent.root / "downloads").iterdir()) == []


def test_a_kept_artifact_with_the_wrong_hash_is_downloaded_again(tmp_path, served):
    agent = Agent(tmp_path / "device", "press-01")
    kept = agent.root / "downloads" / f"{served.sha[('collector', '1.0.0')]}.tar.gz"
    kept.write_bytes(b"not the artifact")
    deploy(agent, "d1", served.collector("1.0.0"))
    assert served.requests("collector", "1.0.0") == 1
    assert active(agent.root) == {"collector": "1.0.0"}


# ---- the plan, as a table ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("on_disk_versions", "active_version", "recent", "keep", "protected", "removed"),
    [
        # newest active first: the active one, then `keep` of the others (at least one)
        (["1", "2", "3"], "3", ["3", "2", "1"], 1, set(), ["1"]),
        (["1", "2", "3"], "3", ["3", "2", "1"], 0, set(), ["1"]),
        (["1", "2", "3"], "3", ["3", "2", "1"], 2, set(), []),
        (["1", "2", "3", "4"], "4", ["4", "3", "2", "1"], 2, set(), ["1"]),
        # a rollback: the order is when each was last active, not the version number
        (["1", "2", "3"], "1", ["1", "3", "2"], 1, set(), ["2"]),
        # no active version (the module was deactivated): the one it ran last stays
        (["1", "2"], None, ["2", "1"], 0, set(), ["1"]),
        # versions never active (a deployment that failed after unpacking) go first
        (["1", "2", "9"], "2", ["2", "1"], 1, set(), ["9"]),
        # a version a deployment in progress uses stays whatever the count
        (["1", "2", "3"], "3", ["3", "2", "1"], 0, {"1"}, []),
    ],
)
def test_what_pruning_removes(
    tmp_path, on_disk_versions, active_version, recent, keep, protected, removed
):
    folder = tmp_path / "modules" / "collector"
    for version in on_disk_versions:
        (folder / version).mkdir(parents=True)
    if active_version is not None:
        (folder / "current").symlink_to(active_version)
    (folder / ".1.0.0.complete").write_text("{}")  # marks are not versions
    removed_now = plan(
        tmp_path / "modules",
        {"collector": recent},
        keep,
        {("collector", version) for version in protected},
    )
    assert removed_now == [("collector", version) for version in removed]


def test_the_remembered_order_puts_what_was_just_activated_first():
    before = {"collector": ["2.0.0", "1.0.0"], "dashboard": ["1.0.0"]}
    after = remembered(before, {"collector": "1.0.0", "alerts": "1.0.0"})
    assert after == {
        "collector": ["1.0.0", "2.0.0"],
        "dashboard": ["1.0.0"],
        "alerts": ["1.0.0"],
    }


def test_the_version_switched_from_is_remembered_also_when_no_order_was_kept():
    """A state written by an agent that kept no order: the version the link pointed at before
    the switch still ranks right after the new one, before a never-active folder."""
    after = remembered({}, {"collector": "2.0.0"}, {"collector": "1.0.0", "alerts": None})
    assert after == {"collector": ["2.0.0", "1.0.0"]}


def test_after_an_agent_upgrade_pruning_keeps_the_previous_version(tmp_path):
    folder = tmp_path / "modules" / "collector"
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        (folder / version).mkdir(parents=True)
    os.utime(folder / "1.0.0", (1_000_000, 1_000_000))  # 1.1.0: newer, never active
    (folder / "current").symlink_to("2.0.0")
    recent = remembered({}, {"collector": "2.0.0"}, {"collector": "1.0.0"})
    assert plan(tmp_path / "modules", recent, 0, set()) == [("collector", "1.1.0")]


def test_an_unmarked_lone_version_of_an_inactive_module_is_replaced(tmp_path, served):
    """Replacing the only folder of a module with no link must not lose the module's folder
    under the new copy (removing the old one empties it)."""
    agent = Agent(tmp_path / "device", "press-01")
    lone = agent.root / "modules" / "collector" / "1.0.0" / "collector"
    lone.mkdir(parents=True)
    (lone / "VERSION").write_text("collector 1.0.0, as an earlier agent left it\n")
    answer = deploy(agent, "d1", served.collector("1.0.0"))
    assert any("it has no completion mark" in m for m in messages(answer))
    assert (lone / "VERSION").read_text() == "collector 1.0.0\n"
    assert on_disk(agent.root, "collector") == [".1.0.0.complete", "1.0.0", "current"]


def test_a_pruning_journal_that_cannot_be_written_removes_nothing(tmp_path, served, monkeypatch):
    """The switch is done and recorded: the deployment succeeds, and as the journal could not
    be written nothing is removed (a later deployment prunes)."""
    from appupdater.agent import state as agent_state

    agent = Agent(tmp_path / "device", "press-01", keep_versions=1)
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))
    real = agent_state.write_json_atomically

    def no_room_for_the_journal(path, text):
        if json.loads(text)["pruning"]:
            raise OSError(28, "No space left on device")
        real(path, text)

    monkeypatch.setattr(agent_state, "write_json_atomically", no_room_for_the_journal)
    answer = deploy(agent, "d3", served.collector("3.0.0"))
    assert answer["message"] == "active: line-monitor 3.0.0"
    assert active(agent.root) == {"collector": "3.0.0"}
    assert (agent.root / "modules" / "collector" / ".1.0.0.complete").exists()
    monkeypatch.undo()
    restarted = Agent(agent.root, keep_versions=1)
    assert (restarted.root / "modules" / "collector" / ".1.0.0.complete").exists()
    deploy(restarted, "d4", served.collector("3.0.0"))
    assert on_disk(restarted.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]


def test_a_version_that_cannot_be_removed_is_told_and_the_deployment_succeeds(
    tmp_path, served, monkeypatch
):
    agent = Agent(tmp_path / "device", "press-01", keep_versions=1)
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))

    def stuck(path):
        raise OSError(16, "Device or resource busy", str(path))

    monkeypatch.setattr("appupdater.agent.keeping.remove_tree", stuck)
    answer = deploy(agent, "d3", served.collector("3.0.0"))
    monkeypatch.undo()
    warning = next(line for line in answer["log"] if line["level"] == "warning")
    assert warning["message"].startswith("could not remove collector 1.0.0 from the device: ")
    assert "Device or resource busy" in warning["message"]
    assert not (agent.root / "modules" / "collector" / ".1.0.0.complete").exists()
    # the next pruning takes it (its mark is gone: never taken for a whole copy meanwhile)
    deploy(agent, "d4", served.collector("2.0.0"))
    assert on_disk(agent.root, "collector") == [
        ".2.0.0.complete",
        ".3.0.0.complete",
        "2.0.0",
        "3.0.0",
        "current",
    ]
