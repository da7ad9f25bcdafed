"""Database work the GUI thread needs an answer to (what waits at quit, the engine's stop) but
must not wait for beyond a short bound: a server that hangs would freeze the window for the
whole outage. The work runs on a daemon thread with its own connection; a thread that does
not come back in time is let go (it ends when the connection gives up, or with the process)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from appupdater.store.db import close_database

log = logging.getLogger("appupdater.ui")

Result = TypeVar("Result")


@dataclass
class Bounded(Generic[Result]):
    """What came back: `value`, or `error`; neither when the time was up (`timed_out`)."""

    value: Result | None = None
    error: BaseException | None = None
    timed_out: bool = True


def within(work: Callable[[], Result], seconds: float, name: str) -> Bounded[Result]:
    """Run `work` on its own thread and wait at most `seconds` for it."""
    outcome: Bounded[Result] = Bounded()
    done = threading.Event()

    def run() -> None:
        try:
            value = work()
        except BaseException as exc:  # handed to the caller
            outcome.error = exc
        else:
            outcome.value = value
        finally:
            close_database()  # this thread's connection
            outcome.timed_out = False
            done.set()

    threading.Thread(target=run, name=name, daemon=True).start()
    if not done.wait(seconds):
        log.warning("%s: no answer from the database within %.0f s; not waiting", name, seconds)
        return Bounded()
    return outcome
