"""The rotating log: where it is, its line format, shared with the device agent."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

from appupdater import cli, desktop
from appupdater.agent import server


def test_the_agent_writes_the_same_lines_as_the_app():
    assert server.LOG_FORMAT == desktop.LOG_FORMAT


def test_the_command_line_writes_the_same_lines_as_the_app():
    """`appupdater engine` (and the GUI's terminal) log through the command line's
    basicConfig: its format is the shared one."""
    tree = ast.parse(Path(cli.__file__).read_text())
    formats = [
        keyword.value.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "basicConfig"
        for keyword in node.keywords
        if keyword.arg == "format" and isinstance(keyword.value, ast.Constant)
    ]
    assert formats == [desktop.LOG_FORMAT]


def test_log_lives_under_xdg_state_home_and_rotates(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(desktop, "LOG_BYTES", 400)
    assert desktop.log_file() == tmp_path / "state" / "appupdater" / "appupdater.log"
    root = logging.getLogger()
    level = root.level
    handler = desktop.start_log_file()
    try:
        handler.maxBytes = 400  # type: ignore[attr-defined]
        logging.getLogger("appupdater.engine").info("deployment %d succeeded", 7)
        lines = desktop.log_file().read_text().splitlines()
        assert lines[-1].endswith(" appupdater.engine INFO: deployment 7 succeeded")
        for n in range(40):
            logging.getLogger("appupdater.ui").warning("line %d of many", n)
    finally:
        desktop.stop_log_file(handler)
        root.setLevel(level)
    files = sorted(p.name for p in desktop.log_dir().iterdir())
    assert files[0] == "appupdater.log" and "appupdater.log.1" in files
    assert len(files) <= 1 + desktop.LOG_BACKUPS
    assert handler not in root.handlers


def test_default_state_home(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert desktop.log_dir() == tmp_path / ".local" / "state" / "appupdater"
