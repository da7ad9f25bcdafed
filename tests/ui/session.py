"""What the tray session scripts (run by test_tray.py in processes of their own) share: waiting
on a condition inside the event loop, and ending with one JSON line of what they saw."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from PySide6.QtCore import QTimer

from appupdater.store.db import close_database


def when(condition: Callable[[], bool], then: Callable[[], None], timeout_s: float) -> None:
    """Call `then` once `condition` holds, or once `timeout_s` has passed (the caller records
    what it sees then, and the test judges it)."""
    deadline = time.monotonic() + timeout_s

    def look():
        if condition() or time.monotonic() > deadline:
            then()
        else:
            QTimer.singleShot(50, look)

    QTimer.singleShot(0, look)


def run_and_report(app, controller, seen: dict) -> int:
    """Run the event loop until the session quits, shut the app down, print `seen`."""
    app.exec()
    controller.shutdown()
    close_database()
    print(json.dumps(seen))
    return 0
