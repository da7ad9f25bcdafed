"""Regression: PySide6 6.12.0 on CPython 3.11 aborts the process after a few hundred bool
signal emits ("Fatal Python error: bool_dealloc"). pyproject pins around it; this proves the
installed PySide6 survives ten thousand, from the GUI thread and from pool threads.
Runs in a subprocess, because the failure is an abort that would take pytest down with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal, Slot

    class Signals(QObject):
        flag = Signal(bool)
        done = Signal(int, bool)

    class Counter(QObject):
        def __init__(self):
            super().__init__()
            self.flags = 0
            self.done = 0

        @Slot(bool)
        def on_flag(self, value):
            self.flags += 1

        @Slot(int, bool)
        def on_done(self, number, ok):
            self.done += 1

    class Job(QRunnable):
        def __init__(self, signals, number):
            super().__init__()
            self.signals = signals
            self.number = number

        def run(self):
            for i in range(50):
                self.signals.flag.emit(i % 2 == 0)
            self.signals.done.emit(self.number, True)

    app = QCoreApplication(sys.argv)
    signals = Signals()
    counter = Counter()
    signals.flag.connect(counter.on_flag)
    signals.done.connect(counter.on_done)
    for i in range(10_000):
        signals.flag.emit(i % 3 == 0)
    assert counter.flags == 10_000, counter.flags

    pool = QThreadPool()
    pool.setMaxThreadCount(4)
    for n in range(200):
        pool.start(Job(signals, n))
    pool.waitForDone()
    while counter.done < 200:
        app.processEvents()
    assert counter.flags == 10_000 + 200 * 50, counter.flags
    print("emitted", counter.flags, "delivered", counter.done)
    """
)


def test_ten_thousand_bool_signals_do_not_abort():
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "emitted 20000 delivered 200" in result.stdout
