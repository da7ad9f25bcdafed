"""The Audit log on a long history.

    python bench/audit.py --entries 100000 [--database postgresql://user@host/db]

Fills the audit trail with ENTRIES entries through core/audit.record (the one writer), in
transactions of 5,000, by three users on three hosts, over about a year, then prints:

    fill_s            writing the entries
    load_ms           the window constructed, shown, and its first page of rows in the table
    filter_user_ms    a user chosen in the combo until its first rows are shown
    filter_text_ms    text searched (after the typing pause) until its first rows are shown
    filter_rare_text_ms  the same for text that few entries have (every entry is looked at)
    scroll_page_ms    the next page read when the table is scrolled to its end
    cli_user_ms       `appupdater audit --user bob` (the terminal table: 100 rows and the count)
    cli_user_json_ms  `appupdater audit --user bob --json` (every one of bob's entries)

Without --database the entries go to a temporary SQLite file. Target: load_ms < 500.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from PySide6.QtCore import QEventLoop, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from appupdater.cli import main as cli_main  # noqa: E402
from appupdater.core import audit  # noqa: E402
from appupdater.core.identity import Who  # noqa: E402
from appupdater.store.db import close_database, open_database, writing  # noqa: E402
from appupdater.ui.app import configure_application  # noqa: E402
from appupdater.ui.audit_window import AuditWindow  # noqa: E402

PEOPLE = (
    Who("alice", "alice", "ws-alice"),
    Who("bob", "bob", "ws-bob"),
    Who("ops_role", "carol", "ws-carol"),
)
NOTES = ("", "", "", "customer asked to wait", "night shift, line 3 down", "")
BATCH = 5000


def fill(count: int) -> float:
    """`count` entries over the last ~365 days through audit.record; seconds taken."""
    start = datetime.now(UTC) - timedelta(days=365)
    step = timedelta(days=365) / count
    people = itertools.cycle(PEOPLE)
    began = time.perf_counter()
    with mock.patch.object(audit, "who", side_effect=lambda: next(people)):
        for first in range(0, count, BATCH):
            with writing():
                for i in range(first, min(first + BATCH, count)):
                    run = 1 + i // 50
                    audit.record(
                        audit.ACTIONS[i % len(audit.ACTIONS)],
                        objects={
                            "runs": [run],
                            "deployments": [i, i + 1],
                            "devices": [f"edge-{i % 997:03d}"],
                        },
                        run=run,
                        note=NOTES[i % len(NOTES)],
                        outcome=audit.refused("already finished") if i % 41 == 0 else audit.DONE,
                        now=start + i * step,
                    )
    return time.perf_counter() - began


def until_loaded(window: AuditWindow, act) -> float:
    """ms from `act()` until the window shows the first page of what it asked for."""
    loop = QEventLoop()
    window.loaded.connect(loop.quit)
    began = time.perf_counter()
    act()
    loop.exec()
    window.loaded.disconnect(loop.quit)
    QApplication.processEvents()  # the rows painted
    return (time.perf_counter() - began) * 1000


def measure_window() -> dict[str, float]:
    app = QApplication.instance() or QApplication([])
    configure_application(app)
    got: dict[str, AuditWindow] = {}

    def open_window() -> None:
        window = got["window"] = AuditWindow()
        window.resize(1280, 800)
        window.show()

    loop = QEventLoop()
    began = time.perf_counter()
    open_window()
    window = got["window"]
    window.loaded.connect(loop.quit)
    if window.model.rowCount() == 0:
        loop.exec()
    window.loaded.disconnect(loop.quit)
    QApplication.processEvents()
    load_ms = (time.perf_counter() - began) * 1000
    assert window.model.rowCount() > 0

    while window.filters.user.findText("bob") < 0:  # the choices come after the first page
        QApplication.processEvents()
    user_ms = until_loaded(window, lambda: window.filters.user.setCurrentText("bob"))

    def search() -> None:
        window.filters.search.setText("line 3")
        window.filters.typing.stop()  # measured from the end of the typing pause
        window.filters.changed.emit()

    text_ms = until_loaded(window, search)
    assert all(e.user == "bob" and "line 3" in e.note for e in window.model.items)

    def search_rare() -> None:  # one entry in ~3,000 of bob's: every row is looked at
        window.filters.search.setText("edge-500")
        window.filters.typing.stop()
        window.filters.changed.emit()

    rare_ms = until_loaded(window, search_rare)
    assert window.model.rowCount() > 0

    window.filters.search.clear()
    window.filters.typing.stop()
    until_loaded(window, window.filters.changed.emit)
    rows = window.model.rowCount()
    began = time.perf_counter()
    window.view.scrollToBottom()
    while window.model.rowCount() == rows:
        QApplication.processEvents()
    scroll_ms = (time.perf_counter() - began) * 1000
    window.close()
    QTimer.singleShot(0, loop.quit)
    loop.exec()
    return {
        "load_ms": load_ms,
        "filter_user_ms": user_ms,
        "filter_text_ms": text_ms,
        "filter_rare_text_ms": rare_ms,
        "scroll_page_ms": scroll_ms,
    }


def measure_cli(database: str) -> dict[str, float]:
    times = {}
    for name, extra in (("cli_user_ms", []), ("cli_user_json_ms", ["--json"])):
        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            assert cli_main(["--database", database, "audit", "--user", "bob", *extra]) == 0
        times[name] = (time.perf_counter() - began) * 1000
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--database", help="a PostgreSQL URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        database = args.database or str(Path(folder) / "audit.sqlite3")
        open_database(database)
        print(f"entries={args.entries}", flush=True)
        print(f"fill_s={fill(args.entries):.1f}", flush=True)
        for name, value in measure_window().items():
            print(f"{name}={value:.0f}", flush=True)
        close_database()
        for name, value in measure_cli(database).items():
            print(f"{name}={value:.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
