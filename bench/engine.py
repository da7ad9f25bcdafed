"""Engine throughput, and how long the GUI thread is ever blocked.

    python bench/engine.py --deployments 10000
    python bench/engine.py --deployments 10000 --latency 5 --concurrency 1000

Prints deployments_per_s (from the engine's start to the last deployment's end) and
max_gui_stall_ms (the longest gap between ticks of a 5 ms timer in the GUI thread, over what a
5 ms timer should show), plus peak_rss_mb. With simulated devices that take `--latency` seconds
each, makespan_s (the same span), ideal_s (deployments × latency / concurrency, plus one latency:
the time with every slot busy and nothing else in the way) and efficiency (ideal / makespan).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
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
from appupdater.engine.build import build_engine
from appupdater.engine.settings import EngineSettings, GatewaySettings
from appupdater.store.db import close_database, open_database
from appupdater.store.models import Deployment


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deployments", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per device")
    args = parser.parse_args()
    app = QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        open_database(str(Path(folder) / "bench.sqlite3"))
        import_fleet(fleet(args.deployments), "bench")
        run_id = create_run(plan_update([Selection("line-monitor")]), approved_by="bench")
        apply_configuration(run_id)
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
        succeeded = Deployment.select().where(Deployment.state == "succeeded").count()
        close_database()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"deployments={args.deployments}")
    print(f"succeeded={succeeded}")
    print(f"elapsed_s={elapsed:.2f}")
    print(f"deployments_per_s={succeeded / elapsed:.0f}")
    if args.latency:
        ideal = args.deployments * args.latency / args.concurrency + args.latency
        print(f"makespan_s={elapsed:.2f}")
        print(f"ideal_s={ideal:.2f}")
        print(f"efficiency={ideal / elapsed:.2f}")
    print(f"max_gui_stall_ms={meter.worst * 1000:.0f}")
    print(f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
