"""The cyclic garbage collector around big loads (plans, the fleet, 100,000 deployments).

Two things make big loads slow: the collector's generational passes rescanning a heap that grows
by 100,000s of objects while they are built (`gc_paused`), and, once they are built, full passes
that rescan them all again for as long as they live (`settle`, which moves what exists into the
collector's permanent generation, where no pass looks).

Objects in the permanent generation are still freed by reference counting, but a *cycle* among
them would never be: a wizard closed after a freeze, with its pages, plan and callbacks, would
stay in memory for the life of the process. So `collect_settled` gives the permanent generation
back to the collector, collects, and settles what survived. The application calls it when a
window that held a big load closes, and on a slow timer when something was settled since: so
the settled heap never grows without bound, and a long-running tray app does not keep every
wizard it ever opened. (A collection with 500,000 objects settled takes ~0.2 s: not every tick.)

Everything here is process-wide and safe from any thread: pauses are counted, so one thread
ending its pause never re-enables the collector under another that is still in one.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0  # threads inside gc_paused()
_resume = False  # whether the collector was enabled when the first pause began
_settles = 0  # settle() calls since the last collect_settled()


@contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic collections while building many small acyclic objects (their passes
    doubled planning time on 100,000 devices). Nests, and overlaps across threads."""
    global _pauses, _resume
    with _lock:
        if _pauses == 0:
            _resume = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _resume:
                gc.enable()


def settle() -> None:
    """After a big load that will live on: spare it the collector's full passes."""
    global _settles
    with _lock:
        _settles += 1
    gc.freeze()


def collect_settled() -> int:
    """Give settled objects back to the collector, collect cycles among everything, and settle
    what is left; returns the number of unreachable objects found."""
    global _settles
    with _lock:
        _settles = 0
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    return found


def settles_since_collect() -> int:
    """Big loads settled since the last `collect_settled`. With none, what is settled was
    found reachable then and only it can have become garbage since: a bounded amount, which
    the next collection after a settle takes."""
    return _settles


def settled_count() -> int:
    """How many objects are settled (in the permanent generation) now."""
    return gc.get_freeze_count()
