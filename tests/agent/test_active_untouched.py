"""A module that writes into its own folder while it runs (logs, caches) is left alone by later
deployments that keep it at its version: not verified, not downloaded again, its folder never
replaced. A kept copy that changed is unpacked beside it and swapped in whole."""

from __future__ import annotations

from appupdater.agent.state import Agent
from tests.agent.test_kept_versions import deploy, messages, served  # noqa: F401 (fixture)


def test_an_active_module_writing_into_its_folder_is_left_alone(tmp_path, served):  # noqa: F811
    agent = Agent(tmp_path / "device", "press-01")
    deploy(agent, "d1", served.configuration(("collector", "1.0.0"), ("dashboard", "1.0.0")))
    folder = agent.root / "modules" / "collector" / "1.0.0"
    (folder / "collector" / "run.log").write_text("started\n")  # the running module's own log
    inode = folder.stat().st_ino
    second = deploy(agent, "d2", served.configuration(("collector", "1.0.0"), ("alerts", "1.0.0")))
    assert served.requests("collector", "1.0.0") == 1
    assert "collector 1.0.0 is active already; left as it is" in messages(second)
    assert not any("cannot be used" in m for m in messages(second))
    assert (folder / "collector" / "run.log").read_text() == "started\n"
    assert folder.stat().st_ino == inode


def test_a_changed_kept_copy_is_unpacked_beside_it_and_swapped(tmp_path, served):  # noqa: F811
    agent = Agent(tmp_path / "device", "press-01")
    deploy(agent, "d1", served.collector("1.0.0"))
    deploy(agent, "d2", served.collector("2.0.0"))
    kept = agent.root / "modules" / "collector" / "1.0.0"
    (kept / "collector" / "VERSION").write_text("tampered\n")
    back = deploy(agent, "d3", served.collector("1.0.0"))
    assert any("cannot be used" in m for m in messages(back))
    assert (kept / "collector" / "VERSION").read_text() == "collector 1.0.0\n"
    assert served.requests("collector", "1.0.0") == 2
    assert not list((agent.root / "modules" / "collector").glob(".*.discarded"))
