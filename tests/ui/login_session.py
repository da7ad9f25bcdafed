"""Run by test_tray.py in its own process on an X display that has no tray host yet: App
Updater started as the login entry starts it (in the tray), before the panel. Writes the file
named by argv[2] once started, then waits for the tray; prints one JSON line with what it saw."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from appupdater.demo.fleet import load_demo
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.store.db import open_database
from appupdater.ui.app import Application, configure_application
from tests.ui.session import run_and_report, when


def main() -> int:
    database, ready = sys.argv[1], Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    configure_application(app)
    open_database(database)
    load_demo(devices=10, seed=2)
    controller = Application(app, build_engine(EngineSettings(tick_ms=100)))
    controller.start(database, in_tray=True)

    def state() -> dict:
        tray = controller.tray is not None and controller.tray.icon.isVisible()
        return {"tray": tray, "window": controller.window.isVisible()}

    seen = {"at_start": state()}
    ready.write_text("started")

    def record():
        seen["later"] = state()
        controller.quit()

    when(lambda: state()["tray"], record, 30)
    return run_and_report(app, controller, seen)


if __name__ == "__main__":
    sys.exit(main())
