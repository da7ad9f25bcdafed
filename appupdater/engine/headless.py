"""`appupdater engine`: the same engine without windows, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging

from PySide6.QtCore import QCoreApplication

from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings
from appupdater.engine.signals import QuitSignals

log = logging.getLogger("appupdater.engine")


def run_headless(settings: EngineSettings) -> int:
    app = QCoreApplication.instance() or QCoreApplication([])
    engine = build_engine(settings)

    def request_stop(name: str) -> None:
        log.info("received %s: stopping; running deployments resume at the next start", name)
        app.quit()

    signals = QuitSignals(request_stop)
    engine.run_completed.connect(
        lambda run, ok, failed: log.info(
            "run %d completed: %d succeeded, %d failed", run, ok, failed
        )
    )
    engine.deployment_failed.connect(
        lambda d, device, message: log.warning("deployment %d on %s failed: %s", d, device, message)
    )
    engine.start()
    log.info("engine %s started (concurrency %d)", engine.instance, settings.concurrency)
    try:
        app.exec()
    finally:
        signals.restore()
        engine.stop(interrupt=True)
    log.info("engine stopped")
    return 0
