"""Asking every device with an agent what it runs — application versions, active modules and
their health — every `probe_interval`, on a thread of its own beside the engine's scheduling,
and recording the answers (and each device's drift) in one transaction."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from appupdater.core.devices import AgentDevice, ProbeReport, agent_devices, record_probes
from appupdater.engine.clock import Clock
from appupdater.engine.gateways.base import DeviceTarget, Gateway
from appupdater.engine.outage import is_outage, reason
from appupdater.engine.settings import EngineSettings
from appupdater.store.models import db

log = logging.getLogger("appupdater.engine")


class Prober:
    """Probe rounds for one engine. `maybe()` is called at each scheduling step and starts a
    round when one is due (or requested) and none runs; `changed` is called after a round
    recorded what it found."""

    def __init__(
        self, gateway: Gateway, settings: EngineSettings, clock: Clock, changed: Callable[[], None]
    ):
        self.gateway, self.settings, self.clock, self.changed = gateway, settings, clock, changed
        self._thread: threading.Thread | None = None
        self._next = 0.0  # time.monotonic() of the next round
        self._requested = False

    def request(self) -> None:
        """Probe at the next scheduling step (e.g. after connection settings changed)."""
        self._requested = True

    def maybe(self) -> None:
        """Start a probe round when one is due and none is running."""
        interval = self.settings.probe_interval
        if not self._requested and (interval is None or time.monotonic() < self._next):
            return
        if self._thread is not None and self._thread.is_alive():
            return
        self._requested = False
        self._next = time.monotonic() + (interval.total_seconds() if interval else 0)
        self._thread = threading.Thread(target=self._round, name="probe", daemon=True)
        self._thread.start()

    def join(self, seconds: float | None) -> bool:
        """Wait for a running round (it ends within its request timeouts); whether none runs."""
        if self._thread is None:
            return True
        self._thread.join(seconds)
        return not self._thread.is_alive()

    def _round(self) -> None:
        """Ask every device with an agent what it runs; write it in one transaction."""
        try:
            with db.obj.connection_context():
                devices = agent_devices()
            if not devices:
                return

            def probe(device: AgentDevice) -> ProbeReport:
                result = self.gateway.probe(
                    DeviceTarget(device.name, device.labels, device.connection)
                )
                return ProbeReport(
                    device.id,
                    result.online,
                    result.installed,
                    result.message,
                    result.modules,
                    result.health,
                )

            workers = max(1, self.settings.probe_concurrency)
            with ThreadPoolExecutor(workers, thread_name_prefix="probe") as pool:
                reports = list(pool.map(probe, devices))
            with db.obj.connection_context():
                for note in record_probes(reports, self.clock.now()):
                    log.info("probe: %s", note)
            for report in reports:
                if not report.online:
                    log.info("probe: %s", report.message)
            self.changed()
        except Exception as exc:  # a probe round must never take the engine down
            if is_outage(exc):  # the dispatcher says when the database is away and back
                log.warning(
                    "probing devices skipped: the database is unavailable (%s)", reason(exc)
                )
            else:
                log.exception("probing devices failed")
