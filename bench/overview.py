"""The Deployment Overview on a big run.

    python bench/overview.py --deployments 100000

    python bench/overview.py --history-runs 200 --deployments 5000

Prints load_ms (window created until its deployments are shown and painted), tick_ms (a refresh
that finds 1,000 changed deployments: query, update of those rows, paint), gui_tick_ms (taking
those rows into the table and the model, in the GUI thread), gui_refresh_ms (everything the GUI
thread does with a refresh: rows, runs, actions, details), paint_ms and peak_rss_mb.

With --waves SPEC (e.g. 1,10%,rest) the big run goes in waves: the overview also reads its
devices' waves and where it stands.

With --history-runs R, R finished runs of as many deployments, approved 8 days to about a year
ago, are in the database before the window opens (written in bulk, not by the engine);
history_load_ms and history_rss_mb are the load time and the peak memory then.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import peewee  # noqa: E402
from engine import fleet  # noqa: E402
from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from appupdater.core.fleetimport import import_fleet  # noqa: E402
from appupdater.core.planning import Selection, plan_update  # noqa: E402
from appupdater.core.runs import apply_configuration, create_run  # noqa: E402
from appupdater.core.waves import Strategy, parse_waves  # noqa: E402
from appupdater.engine.build import build_engine  # noqa: E402
from appupdater.store.db import close_database, open_database, writing  # noqa: E402
from appupdater.store.fields import utcnow  # noqa: E402
from appupdater.store.models import (  # noqa: E402
    Application,
    AppVersion,
    Deployment,
    RunApplication,
    UpdateRun,
)
from appupdater.store.revisions import next_revision  # noqa: E402
from appupdater.ui.app import configure_application  # noqa: E402
from appupdater.ui.overview.window import OverviewWindow  # noqa: E402


def wait_for(window, condition) -> None:
    """Run the event loop until `condition` holds after a refresh: the GUI thread sits idle in
    the loop, as in the application (a busy loop here would contend for the GIL with the
    window's reading thread and measure that instead)."""
    loop = QEventLoop()
    window.refreshed.connect(loop.quit)
    while not condition():
        loop.exec()
    window.refreshed.disconnect(loop.quit)


def history_runs(count: int) -> list[int]:
    """`count` finished runs of line-monitor, approved 8 days to about a year ago (the newest
    last), without deployments yet: `fill_history` copies them from the current run."""
    now = utcnow()
    with writing():
        UpdateRun.insert_many(
            [
                {
                    "approved_at": now - timedelta(days=8 + (count - k) * 1.5),
                    "approved_by": ("alice", "bob", "carol")[k % 3],
                    "configured_at": now - timedelta(days=8 + (count - k) * 1.5),
                }
                for k in range(count)
            ]
        ).execute()
    return [run for (run,) in UpdateRun.select(UpdateRun.id).order_by(UpdateRun.id).tuples()]


def fill_history(runs: list[int], template: int) -> None:
    """Give each of `runs` the deployments of `template`, finished (every tenth run with 2 %
    failed), in one INSERT ... SELECT per run: a million rows in seconds, little memory."""
    version = (
        AppVersion.select(AppVersion.id)
        .join(Application)
        .where((Application.name == "line-monitor") & (AppVersion.version == "2.0.0"))
        .scalar()
    )
    app = Application.select(Application.id).where(Application.name == "line-monitor").scalar()
    fields = [
        Deployment.run,
        Deployment.device,
        Deployment.state,
        Deployment.progress,
        Deployment.attempts,
        Deployment.created_at,
        Deployment.started_at,
        Deployment.finished_at,
        Deployment.updated_at,
        Deployment.revision,
        Deployment.claim,
        Deployment.cancel_requested,
        Deployment.last_message,
    ]
    for run in runs:
        approved = UpdateRun.get_by_id(run).approved_at
        at = Deployment.finished_at.db_value(approved + timedelta(minutes=20))
        failing = run % 10 == 0
        state = peewee.Case(
            None, [((Deployment.device % 50 == 0) & failing, "failed")], "succeeded"
        )
        with writing():
            RunApplication.insert(run=run, application=app, to_version=version).execute()
            Deployment.insert_from(
                Deployment.select(
                    peewee.Value(run),
                    Deployment.device,
                    state,
                    peewee.Value(100),
                    peewee.Value(1),
                    peewee.Value(at),
                    peewee.Value(at),
                    peewee.Value(at),
                    peewee.Value(at),
                    peewee.Value(0),
                    peewee.Value(0),
                    peewee.Value(False),
                    peewee.Value(""),
                ).where(Deployment.run == template),
                fields,
            ).execute()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=100_000)
    parser.add_argument("--changed", type=int, default=1000)
    parser.add_argument("--history-runs", type=int, default=0)
    parser.add_argument(
        "--waves", default=None, help="the big run in waves, e.g. 1,10%%,rest (default all at once)"
    )
    args = parser.parse_args()
    app = QApplication([])
    configure_application(app)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["XDG_CONFIG_HOME"] = folder
        open_database(str(Path(folder) / "bench.sqlite3"))
        import_fleet(fleet(args.deployments), "bench")
        history = history_runs(args.history_runs) if args.history_runs else []
        strategy = Strategy(parse_waves(args.waves), 0, 10) if args.waves else None
        run_id = create_run(
            plan_update([Selection("line-monitor")]), approved_by="bench", strategy=strategy
        )
        apply_configuration(run_id)
        fill_history(history, run_id)
        first_id = Deployment.select(peewee.fn.MIN(Deployment.id)).scalar()

        start = time.perf_counter()
        window = OverviewWindow(build_engine(), interval_ms=3_600_000)  # ticks driven by hand below
        window.resize(1280, 800)
        window.show()
        wait_for(window, lambda: window.model.rowCount() >= args.deployments)
        app.processEvents()
        window.repaint()
        load_ms = (time.perf_counter() - start) * 1000

        window.poll()  # a first tick that finds nothing
        wait_for(window, lambda: not window.feed.reading)
        ticks, gui, paints = [], [], []
        done: list[float] = []
        window.refreshed.connect(lambda: done.append(time.perf_counter()))
        refreshes: list[float] = []
        take, show, polled = window.feed.take_changes, window.model.rows_changed, window._polled

        def timed(function, into: list[float]):
            def wrapper(*args):
                began = time.perf_counter()
                result = function(*args)
                into.append(time.perf_counter() - began)
                return result

            return wrapper

        applied: list[float] = []
        window.feed.take_changes = timed(take, applied)
        window.model.rows_changed = timed(show, applied)
        window._polled = timed(polled, refreshes)
        for round_ in range(9):
            first = first_id + round_ * args.changed
            with writing():  # as the engine writes: one transaction, one revision
                Deployment.update(
                    progress=round_ + 1,
                    state="running",
                    updated_at=utcnow(),
                    revision=next_revision(),
                ).where(Deployment.id.between(first, first + args.changed - 1)).execute()
            done.clear()
            start = time.perf_counter()
            window.poll()
            applied.clear()
            wait_for(window, lambda: bool(done))
            gui.append(sum(applied))
            refreshed_at = time.perf_counter()
            app.processEvents()  # paints what the refresh marked dirty, as the event loop does
            ticks.append((time.perf_counter() - start) * 1000)
            paints.append((time.perf_counter() - refreshed_at) * 1000)
        window.close()
        close_database()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"deployments={args.deployments}")
    if args.history_runs:
        print(f"history_runs={args.history_runs}")
        print(f"history_load_ms={load_ms:.0f}")
        print(f"history_rss_mb={peak:.0f}")
    print(f"load_ms={load_ms:.0f}")
    print(f"tick_ms={sorted(ticks)[len(ticks) // 2]:.0f}")
    print(f"gui_tick_ms={sorted(gui)[len(gui) // 2] * 1000:.1f}")
    print(f"gui_refresh_ms={sorted(refreshes)[len(refreshes) // 2] * 1000:.1f}")
    print(f"paint_ms={sorted(paints)[len(paints) // 2]:.1f}")
    print(f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
