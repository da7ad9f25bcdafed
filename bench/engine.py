"""Engine throughput, and how long the GUI thread is ever blocked.

    python bench/engine.py --deployments 10000
    python bench/engine.py --deployments 10000 --latency 5 --concurrency 1000
    python bench/engine.py --deployments 10000 --latency 5 --concurrency 1000 \
        --engines 3 --database pg
    python bench/engine.py --deployments 10000 --waves 1,10%,rest

Prints deployments_per_s (from the engine's start to the last deployment's end) and
max_gui_stall_ms (the longest gap between ticks of a 5 ms timer in the GUI thread, over what a
5 ms timer should show), plus peak_rss_mb. With simulated devices that take `--latency` seconds
each, makespan_s (the same span), ideal_s (deployments × latency / concurrency, plus one latency:
the time with every slot busy and nothing else in the way) and efficiency (ideal / makespan).

`--database` (see bench/databases.py): a temporary SQLite file by default; `pg` starts a
throwaway PostgreSQL server; a path or URL must hold no fleet yet. With `--engines N` the fleet
and the approved run are prepared here, then N `appupdater engine` processes share the rollout
(`--concurrency` split among them) until every deployment has ended, and are stopped; the span
runs from their start to the last deployment's end, and the GUI-thread line is left out (no
engine runs in this process). Then also `engines=` (how many ran deployments) and `ran_twice=`
(deployments whose event log shows more than one start).

`--waves SPEC` approves the run in waves (no soak time, the default failure limit): the span
then includes every wave's opening, and `waves=` says how many there were.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core.fleetfile import (
    ApplicationSpec,
    DeviceAppSpec,
    DeviceSpec,
    Fleet,
    ModuleSpec,
    VersionSpec,
)
from appupdater.core.fleetimport import import_fleet
from appupdater.core.planning import Selection, plan_update
from appupdater.core.runs import apply_configuration, create_run
from appupdater.core.waves import Strategy, parse_waves
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.db import close_database, open_database
from appupdater.store.models import Deployment, DeploymentEvent
from bench.databases import HELP, bench_location, kind, refuse_a_fleet

ROOT = Path(__file__).resolve().parent.parent
ENDED = ("succeeded", "failed", "cancelled")


def fleet(devices: int) -> Fleet:
    def version(text: str) -> VersionSpec:
        return VersionSpec(
            text,
            (
                ModuleSpec("collector", text, f"reg/collector:{text}"),
                ModuleSpec("alerts", text, f"reg/alerts:{text}"),
            ),
        )

    app = ApplicationSpec("line-monitor", (version("1.0.0"), version("2.0.0")))
    return Fleet(
        (app,),
        tuple(
            DeviceSpec(
                f"dev-{i:06d}", applications={"line-monitor": DeviceAppSpec("1.0.0", "1.0.0")}
            )
            for i in range(devices)
        ),
    )


class StallMeter:
    """A 5 ms timer in the GUI thread; the longest gap beyond 5 ms is how long it was blocked."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self.tick)
        self.last = time.perf_counter()
        self.worst = 0.0

    def start(self):
        self.last = time.perf_counter()
        self.timer.start()

    def tick(self):
        now = time.perf_counter()
        self.worst = max(self.worst, now - self.last - 0.005)
        self.last = now


def in_process(args: argparse.Namespace, app: QApplication) -> tuple[float, float]:
    """The engine in this process, beside a GUI thread: (elapsed seconds, worst stall)."""
    engine = build_engine(
        EngineSettings(
            concurrency=args.concurrency,
            tick_ms=200,
            gateways=GatewaySettings(simulated_latency=args.latency),
        ),
    )
    done = []
    engine.run_completed.connect(lambda run, ok, failed: done.append((ok, failed)))
    meter = StallMeter()
    meter.start()
    start = time.perf_counter()
    engine.start()
    while not done:
        app.processEvents()
        time.sleep(0.001)
    elapsed = time.perf_counter() - start
    engine.stop()
    meter.timer.stop()
    return elapsed, meter.worst


def in_processes(args: argparse.Namespace, location: str) -> tuple[float, int]:
    """`--engines` `appupdater engine` processes until every deployment ended: the seconds from
    their start to the last end (as the database records it), and how many warnings and errors
    the engines logged."""
    per_engine = math.ceil(args.concurrency / args.engines)
    command = [sys.executable, "-m", "appupdater", "--database", location, "engine"]
    command += ["--concurrency", str(per_engine), "--latency", str(args.latency)]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    folder = Path(tempfile.mkdtemp(prefix="bench-engines-"))
    logs = [open(folder / f"engine-{i}.log", "w+") for i in range(args.engines)]  # noqa: SIM115
    started = datetime.now(UTC)
    engines = [
        subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        for log in logs
    ]
    try:
        while Deployment.select().where(Deployment.state.not_in(ENDED)).exists():
            dead = [e for e in engines if e.poll() is not None]
            if dead:
                sys.exit(
                    f"an engine exited with status {dead[0].returncode} before the end; "
                    f"its log is in {folder}"
                )
            time.sleep(0.2)
    finally:
        for engine in engines:
            if engine.poll() is None:
                engine.send_signal(signal.SIGTERM)
        for engine in engines:
            engine.wait(timeout=120)
    problems = 0
    for log in logs:
        log.seek(0)
        problems += sum(1 for line in log if "WARNING" in line or "ERROR" in line)
        log.close()
    shutil.rmtree(folder)
    last = (
        Deployment.select(Deployment.finished_at)
        .where(Deployment.finished_at.is_null(False))
        .order_by(Deployment.finished_at.desc())
        .get()
        .finished_at
    )
    return (last - started).total_seconds(), problems


def ran_twice() -> tuple[int, int]:
    """(deployments started more than once, engines that ran deployments), from the database."""
    starts = DeploymentEvent.select(DeploymentEvent.deployment).where(
        DeploymentEvent.message.contains(" started on ")
    )
    twice = sum(1 for n in Counter(d for (d,) in starts.tuples()).values() if n > 1)
    engines = (
        Deployment.select(Deployment.claimed_by)
        .distinct()
        .where(Deployment.claimed_by.is_null(False))
    )
    return twice, engines.count()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16, help="in all, over the engines")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per device")
    parser.add_argument("--database", help=HELP)
    parser.add_argument(
        "--engines", type=int, default=0, help="run the rollout in N engine processes"
    )
    parser.add_argument(
        "--waves", metavar="SPEC", help="approve the run in waves, e.g. 1,10%%,rest"
    )
    args = parser.parse_args()
    strategy = Strategy(parse_waves(args.waves)) if args.waves else None
    app = QApplication([])
    stall = None
    # a connection per engine worker thread, plus each engine's own few, plus this process
    connections = args.concurrency + 10 * args.engines + 20
    with bench_location(args.database, connections) as location:
        open_database(location)
        refuse_a_fleet()
        database = kind()
        import_fleet(fleet(args.deployments), "bench")
        run_id = create_run(
            plan_update([Selection("line-monitor")]), approved_by="bench", strategy=strategy
        )
        apply_configuration(run_id)
        if args.engines:
            elapsed, problems = in_processes(args, location)
            twice, engines = ran_twice()
        else:
            elapsed, stall = in_process(args, app)
        succeeded = Deployment.select().where(Deployment.state == "succeeded").count()
        close_database()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"database={database}")
    print(f"deployments={args.deployments}")
    print(f"succeeded={succeeded}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"deployments_per_s={succeeded / elapsed:.0f}")
    if strategy is not None:
        print(f"waves={len(strategy.sizes(args.deployments))}")
    if args.latency:
        ideal = args.deployments * args.latency / args.concurrency + args.latency
        print(f"makespan_s={elapsed:.2f}")
        print(f"ideal_s={ideal:.2f}")
        print(f"efficiency={ideal / elapsed:.2f}")
    if args.engines:
        print(f"engines={engines}")
        print(f"ran_twice={twice}")
        print(f"engine_log_problems={problems}")  # warnings and errors the engines logged
    if stall is not None:
        print(f"max_gui_stall_ms={stall * 1000:.0f}")
    print(f"peak_rss_mb={peak:.0f}")
    if args.engines:  # the largest engine process
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"engine_peak_rss_mb={child:.0f}")


if __name__ == "__main__":
    main()
