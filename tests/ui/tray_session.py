"""Run by test_tray.py in its own process on a real X display with a tray host:
the app in the tray, every window closed while a rollout runs, the rollout completing.
Prints one JSON line with what it saw."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QSystemTrayIcon

from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.demo.fleet import load_demo
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.store.db import open_database
from appupdater.ui.app import Application, configure_application
from tests.ui.session import run_and_report, when


def main() -> int:
    database, shots = sys.argv[1], Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    configure_application(app)
    # trayer claims the tray selection a moment after it starts; wait for that, not a set time
    deadline = time.monotonic() + 20
    while not QSystemTrayIcon.isSystemTrayAvailable() and time.monotonic() < deadline:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    seen: dict = {"tray_available": QSystemTrayIcon.isSystemTrayAvailable()}
    open_database(database)
    load_demo(devices=40, seed=2, latency_s=1.0, offline=0.0)
    engine = build_engine(EngineSettings(tick_ms=100))
    controller = Application(app, engine)
    controller.start(database)
    completed: list = []
    engine.run_completed.connect(lambda run, ok, failed: completed.append((run, ok, failed)))

    def step_1_approve_and_close_windows():
        seen["tray_visible"] = controller.tray is not None and controller.tray.icon.isVisible()
        plan = plan_update([Selection("line-monitor")])
        seen["devices"] = len(plan.devices())
        seen["run"] = create_run(plan, approved_by="tray-test")
        engine.wake()
        controller.window.close()
        # wait on the condition, not a fixed time: the configuration stage comes first and
        # its length depends on the machine's load
        when(lambda: engine.running > 0, step_2_menu, 30)

    def step_2_menu():
        seen["window_visible_after_close"] = controller.window.isVisible()
        seen["running_while_closed"] = engine.running
        menu = controller.tray.menu
        menu.popup(controller.tray.icon.geometry().center())
        seen["menu"] = [a.text() for a in menu.actions() if not a.isSeparator()]
        seen["tooltip_with_menu"] = controller.tray.icon.toolTip()
        QTimer.singleShot(300, step_3_screenshot)

    def step_3_screenshot():
        screen = app.primaryScreen()
        screen.grabWindow(0).save(str(shots / "tray-menu.png"))
        controller.tray.menu.hide()
        seen["tooltip"] = controller.tray.icon.toolTip()
        when(lambda: bool(completed), step_4_completed, 60)

    def step_4_completed():
        seen["completed"] = completed
        seen["windows_visible"] = [
            type(w).__name__
            for w in app.topLevelWidgets()
            if w.isVisible() and isinstance(w, QMainWindow | QDialog)
        ]
        controller.quit()

    QTimer.singleShot(500, step_1_approve_and_close_windows)
    return run_and_report(app, controller, seen)


if __name__ == "__main__":
    sys.exit(main())
