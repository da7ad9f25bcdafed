"""Fixtures for driving the real widgets: a demo database, screenshots, message boxes."""

from __future__ import annotations

import gc
import os
import weakref
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from appupdater.demo.fleet import load_demo
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.ui.app import configure_application
from appupdater.ui.main_window import MainWindow
from appupdater.ui.tasks import BackgroundTasks
from tests.helpers import devices_yaml, load_yaml

SCREENSHOTS = Path(
    os.environ.get("APPUPDATER_SCREENSHOTS", Path(__file__).resolve().parents[2] / "screenshots")
)


def shots_folder(name: str) -> Path:
    """A folder of screenshots under SCREENSHOTS, made if missing (for people to look at)."""
    folder = SCREENSHOTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(autouse=True)
def _collect_between_tests(qapp):
    """No cyclic garbage collection while a test's widgets receive Qt events: the collector
    could free a widget tree Qt is dispatching to (a segfault, seen once in a few hundred UI
    tests under load). What the test left is reclaimed after it, once its windows are closed
    and Qt's deferred deletions are done — with no event being dispatched."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QApplication.processEvents()
        gc.collect()
        gc.enable()


@pytest.fixture(autouse=True)
def _application(qapp):
    """App names for QSettings, and settings that start empty: Qt resolves the settings file
    once per process, so one test's saved window state would otherwise reach the next."""
    configure_application(qapp)
    QSettings().clear()
    yield qapp
    QSettings().clear()


@pytest.fixture(autouse=True)
def _no_dangling_work(monkeypatch, qtbot):
    """Fail a test that leaves background tasks running or timers ticking behind it."""
    pools = weakref.WeakSet()
    original = BackgroundTasks.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        pools.add(self)

    monkeypatch.setattr(BackgroundTasks, "__init__", tracking_init)
    yield
    for tasks in list(pools):
        try:
            running = tasks.pool.activeThreadCount()
        except RuntimeError:  # deleted with its window
            continue
        assert running == 0, f"a test left {running} background task(s) running"
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            continue
        ticking = [
            t
            for t in widget.findChildren(QTimer)
            if t.isActive() and t.interval() > 0 and t.objectName() != ""
        ]
        assert not ticking, f"timers still running in a closed window: {ticking}"


@pytest.fixture
def demo_fleet(db):
    """The demo fleet, small enough to read, big enough for every case; plus one device that
    is configured past 2.0.0 of line-monitor while running 1.1.0 (skipped at target 2.0.0)."""
    load_demo(devices=60, seed=4)
    load_yaml(
        devices_yaml(
            "{name: lab-rig-01, site: Lab, applications: {line-monitor: {configured: '2.1.0', installed: '1.1.0'}}}"
        )
    )
    return db


@pytest.fixture
def engine(db):
    """The engine the windows act through, built as the application builds it; not started
    (a test that wants deployments to run starts it)."""
    engine = build_engine(EngineSettings(tick_ms=50, concurrency=4))
    yield engine
    assert engine.stop(interrupt=True, msecs=20_000), "workers still running after stop"


@pytest.fixture
def main_window(qtbot, demo_fleet, engine):
    """The main window on the demo fleet, shown, with the fleet loaded."""
    window = MainWindow(engine)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.inventory is not None)
    yield window
    window.close()  # drops the results of background work still under way


@pytest.fixture
def screenshots_dir() -> Path:
    """Where screenshots go (for people to look at; not compared)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture
def screenshot():
    """Save a widget as screenshots/NAME.png (for people to look at; not compared)."""

    def save(widget, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        QApplication.processEvents()
        assert widget.grab().save(str(path))
        return path

    return save


class MessageBoxes:
    """Answers the next modal message box like a person: reads it, then clicks a button, or
    with the keyboard tabs to it and presses Space. A box still open after that is closed and
    reported, so a test fails instead of hanging in the box's own event loop."""

    def __init__(self, qtbot):
        self.qtbot = qtbot
        self.seen: list[str] = []
        self.problems: list[str] = []

    def answer(
        self,
        button=QMessageBox.StandardButton.Ok,
        *,
        keyboard: bool = False,
        text: str | None = None,
    ):
        """Answer with a standard `button`, or with the button that reads `text`."""
        tries = [0]

        def respond():
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                tries[0] += 1
                if tries[0] < 400:
                    QTimer.singleShot(25, respond)
                else:
                    self.problems.append("no message box appeared")
                return
            self.seen.append(box.text())
            if text is None:
                target = box.button(button)
            else:
                matching = [b for b in box.buttons() if b.text() == text]
                if not matching:
                    self.problems.append(
                        f"no button {text!r} in {[b.text() for b in box.buttons()]}"
                    )
                    box.reject()
                    return
                target = matching[0]
            if keyboard:
                self.qtbot.keyClick(target, Qt.Key.Key_Space)
            else:
                self.qtbot.mouseClick(target, Qt.MouseButton.LeftButton)
            QTimer.singleShot(3000, lambda: self._ensure_closed(box))

        QTimer.singleShot(0, respond)

    def _ensure_closed(self, box):
        try:
            visible = box.isVisible()
        except RuntimeError:  # already deleted: closed
            return
        if visible:
            self.problems.append(f"message box stayed open: {box.text()}")
            box.reject()


@pytest.fixture
def message_boxes(qtbot):
    boxes = MessageBoxes(qtbot)
    yield boxes
    assert not boxes.problems, boxes.problems
