"""The demo's agents: their token files and the fleet file (which carries the tokens) are
readable by their owner only, from the moment they exist."""

from __future__ import annotations

import stat

from appupdater.demo.agents import start_demo, stop_demo, write_private


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_real_demo_start_writes_its_secrets_private(tmp_path):
    folder = tmp_path / "demo-agents"
    agents, fleet = start_demo(folder, 1)
    try:
        assert mode(folder) == 0o700
        assert mode(fleet) == 0o600 and agents[0].token in fleet.read_text()
        [token_file] = folder.glob("devices/*.token")
        assert mode(token_file) == 0o600 and token_file.read_text() == agents[0].token
    finally:
        stop_demo(agents)


def test_an_existing_loose_file_is_restricted_before_the_secret_is_written(tmp_path, monkeypatch):
    import os

    path = tmp_path / "agent.token"
    path.write_text("old")
    path.chmod(0o644)
    seen = []
    real_write = os.fdopen

    def watching_fdopen(fd, *args, **kwargs):
        file = real_write(fd, *args, **kwargs)
        original = file.write

        def write(text):
            seen.append(mode(path))
            return original(text)

        file.write = write
        return file

    monkeypatch.setattr(os, "fdopen", watching_fdopen)
    write_private(path, "secret")
    assert seen == [0o600] and path.read_text() == "secret"
    assert mode(path) == 0o600
