"""Run by test_tray.py in its own process on an X display that has no tray host yet: App
Updater started as the login entry starts it (in the tray), before the panel. Writes the file
named by argv[2] once started, then waits for the tray; prints one JSON line with what it saw."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core.demo import load_demo
from appupdater.engine.engine import Engine
from appupdater.engine.execution import EngineSettings
from appupdater.engine.gateways.simulated import SimulatedGateway
from appupdater.store.db import close_database, open_database
from appupdater.ui.app import Application, configure_application


def main() -> int:
    database, ready = sys.argv[1], Path(sys.argv[2])
    app = QApplication(sys.argv[:1])
    configure_application(app)
    open_database(database)
    load_demo(devices=10, seed=2)
    controller = Application(app, Engine(SimulatedGateway(), EngineSettings(tick_ms=100)))
    controller.start(database, in_tray=True)

    def state() -> dict:
        tray = controller.tray is not None and controller.tray.icon.isVisible()
        return {"tray": tray, "window": controller.window.isVisible()}

    seen = {"at_start": state()}
    ready.write_text("started")
    started = time.monotonic()

    def look():
        if state()["tray"] or time.monotonic() - started > 30:
            seen["later"] = state()
            controller.quit()
        else:
            QTimer.singleShot(50, look)

    QTimer.singleShot(0, look)
    app.exec()
    controller.shutdown()
    close_database()
    print(json.dumps(seen))
    return 0


if __name__ == "__main__":
    sys.exit(main())
