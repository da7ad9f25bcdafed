"""`appupdater engine`: the same engine without windows, until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import signal

from PySide6.QtCore import QCoreApplication, QTimer

from appupdater.engine.engine import Engine
from appupdater.engine.execution import EngineSettings
from appupdater.engine.gateways.simulated import SimulatedGateway

log = logging.getLogger("appupdater.engine")


def run_headless(settings: EngineSettings, latency_s: float) -> int:
    app = QCoreApplication.instance() or QCoreApplication([])
    engine = Engine(SimulatedGateway(latency_s=latency_s), settings)
    stopping = []

    def request_stop(signum, _frame):
        if not stopping:
            log.info(
                "received %s: stopping; running deployments resume at the next start",
                signal.Signals(signum).name,
            )
            stopping.append(signum)
            app.quit()

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    # Python runs signal handlers only between bytecodes: wake the interpreter now and then.
    pulse = QTimer()
    pulse.setObjectName("signal-pulse")
    pulse.timeout.connect(lambda: None)
    pulse.start(200)
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
        pulse.stop()
        engine.stop(interrupt=True)
        for number, handler in previous.items():
            signal.signal(number, handler)
    log.info("engine stopped")
    return 0
