"""Quitting while the database does not answer: the window is not frozen for the outage. Quit
waits a short time for what still waits, then says that the database does not answer and quits
anyway; the engine's stop (which removes its instance row) is not waited for beyond a bound."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.store.db import close_database, open_database
from appupdater.store.models import db as proxy
from appupdater.store.tables import ALL_MODELS
from appupdater.ui import app as app_module
from appupdater.ui.app import Application
from tests.ui.test_app import QuitRecorder


def test_quit_says_the_database_does_not_answer_and_quits_anyway(
    qtbot, qapp, demo_fleet, db_path, message_boxes, monkeypatch
):
    hung = threading.Event()

    def never_answers():
        hung.wait(30)
        raise AssertionError("the database was waited for")

    monkeypatch.setattr(app_module, "QUIT_WAIT_S", 0.3)
    monkeypatch.setattr(app_module, "waiting_work", never_answers)
    controller = Application(qapp, build_engine(EngineSettings(tick_ms=50)), tray=False)
    controller.qapp = QuitRecorder(qapp)
    controller.start(str(db_path))
    qtbot.waitUntil(lambda: controller.window.inventory is not None)
    message_boxes.answer()
    started = time.monotonic()
    controller.request_quit()
    took = time.monotonic() - started
    hung.set()
    assert controller.qapp.calls == 1
    [said] = message_boxes.seen
    assert "does not answer" in said and "quits without waiting" in said
    assert took < 3  # 0.3 s for the answer, then the message box
    assert controller.shutdown()
    assert not message_boxes.problems


def _server_processes(server) -> list[int]:
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    children = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line
            )
        except OSError:
            continue
        if int(fields.get("PPid", "0").strip()) == postmaster:
            children.append(int(status.parent.name))
    return [postmaster, *children]


@pytest.fixture(scope="module")
def pg_server():
    from tests.pg_server import serve_postgres_server

    yield from serve_postgres_server()


@pytest.mark.integration
def test_quit_with_the_server_hung_is_bounded(qtbot, qapp, pg_server, message_boxes):
    open_database(pg_server.url)
    controller = Application(qapp, build_engine(EngineSettings(tick_ms=50)), tray=False)
    controller.qapp = QuitRecorder(qapp)
    controller.start(pg_server.url)
    qtbot.waitUntil(lambda: controller.window.inventory is not None)
    steps = controller.engine.steps
    qtbot.waitUntil(lambda: controller.engine.steps > steps + 1)
    stopped = _server_processes(pg_server)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        message_boxes.answer()
        started = time.monotonic()
        controller.request_quit()
        asked = time.monotonic() - started
        assert controller.qapp.calls == 1
        [said] = message_boxes.seen
        assert "does not answer" in said
        assert asked < app_module.QUIT_WAIT_S + 2
        controller.quitting = True
        controller.window.close()
        started = time.monotonic()
        assert not controller.shutdown()  # the engine's stop still waits for the server
        assert time.monotonic() - started < 5
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
    # the server is back: what waited for it ends
    qtbot.waitUntil(lambda: controller.engine.stop(interrupt=True, msecs=100), timeout=30_000)
    controller.tasks.wait()
    controller.window.tasks.wait()
    database = open_database(pg_server.url, migrate=False)
    database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    proxy.initialize(None)


@pytest.mark.integration
def test_the_app_ends_on_a_term_while_the_server_hangs(pg_server, tmp_path):
    """The whole program: started on the server, the server stops answering, the session asks
    it to end (TERM): it ends within the engine's stop bound instead of the outage."""
    import subprocess
    import sys

    open_database(pg_server.url)  # the schema, before the app starts
    close_database()
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_RUNTIME_DIR": str(tmp_path),
    }
    log = tmp_path / "out.txt"
    with log.open("w") as out:
        app = subprocess.Popen(
            [sys.executable, "-m", "appupdater", "--database", pg_server.url],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    stopped: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while "started on" not in _log_text(tmp_path) and time.monotonic() < deadline:
            assert app.poll() is None, log.read_text()
            time.sleep(0.1)
        assert "started on" in _log_text(tmp_path), log.read_text()
        time.sleep(0.5)  # let the engine take a few steps on the server
        stopped = _server_processes(pg_server)
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)
        started = time.monotonic()
        app.send_signal(signal.SIGTERM)
        code = app.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)
        if app.poll() is None:
            app.kill()
            app.wait()
    assert code == 0, log.read_text()
    assert took < 15
    assert "ended without waiting for the database" in _log_text(tmp_path)
    database = open_database(pg_server.url, migrate=False)
    database.drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    proxy.initialize(None)


def _log_text(home: Path) -> str:
    return "".join(path.read_text() for path in sorted(home.rglob("*.log")))
