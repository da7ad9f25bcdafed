"""What an administrator asks of the engine: cancel, retry, deploy now and reschedule
deployments; pause, resume, abort a run or start its next wave now.

The one way the user interface changes deployments and runs. Safe from any thread that has a
database connection (the windows call them from their background tasks); the change is
written in the database, so engines in other processes see it too. A mixin of `Engine`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime

from appupdater.core import actions, run_decisions
from appupdater.core.run_decisions import Decision
from appupdater.engine.clock import Clock
from appupdater.engine.execution import Handle
from appupdater.engine.relay import Relay


class AdministratorActions:
    # provided by Engine
    clock: Clock
    _lock: threading.Lock
    _handles: dict[tuple[int, int], Handle]
    _signals: Relay
    _request: Callable[[bool], None]  # a scheduling step soon (whole: True)

    def cancel(self, ids: Iterable[int]) -> tuple[list[int], list[int]]:
        """Cancel waiting deployments; running ones are asked to stop, those of this engine
        at once. Returns (cancelled, asked to stop)."""
        stopped, asked = actions.cancel(ids, self.clock.now())
        self._stop_running(asked)
        self._signals.changed()
        return stopped, asked

    def retry(self, ids: Iterable[int]) -> list[int]:
        return self._then_wake(actions.retry(ids, self.clock.now()))

    def deploy_now(self, ids: Iterable[int]) -> list[int]:
        return self._then_wake(actions.deploy_now(ids, self.clock.now()))

    def reschedule(self, ids: Iterable[int], at: datetime) -> list[int]:
        return self._then_wake(actions.reschedule(ids, at, self.clock.now()))

    def pause(self, run_id: int, by: str, reason: str = "") -> Decision:
        """Nothing new of the run starts (here and in every engine on the database) until it
        is resumed; running deployments finish."""
        decision = run_decisions.pause(run_id, by, self.clock.now(), reason)
        self._signals.changed()
        return decision

    def resume(self, run_id: int, by: str) -> Decision:
        return self._decided(run_decisions.resume(run_id, by, self.clock.now()))

    def abort(self, run_id: int, by: str) -> Decision:
        """Cancel everything of the run that has not finished."""
        decision = run_decisions.abort(run_id, by, self.clock.now())
        self._stop_running(decision.asked_to_stop)
        return self._decided(decision)

    def next_wave(self, run_id: int, by: str) -> Decision:
        """Open the run's next wave now, skipping the soak time."""
        return self._decided(run_decisions.next_wave(run_id, by, self.clock.now()))

    def _stop_running(self, asked: Iterable[int]) -> None:
        asked = set(asked)
        with self._lock:
            for (deployment_id, _), handle in self._handles.items():
                if deployment_id in asked:
                    handle.cancel.set()

    def _decided(self, decision: Decision) -> Decision:
        self._signals.changed()
        self._request(True)
        return decision

    def _then_wake(self, changed: list[int]) -> list[int]:
        self._signals.changed()
        self._request(True)
        return changed
