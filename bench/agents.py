"""A rollout to real agent processes on loopback: through the workstation, and straight.

    python bench/agents.py --devices 50

Starts N agents and a local artifact server. `direct_s`: a minimal script PUTs line-monitor
2.0.0 to every agent at once and long-polls each until it ends. `rollout_s`: the same
deployments approved as a run and carried out by the engine through the HTTP gateway, from the
run's creation to its last deployment's end (engine concurrency = N, so both push in parallel).
Agents are wiped and given 1.0.0 before each, so both do the same work; `--repeat` rounds of
both, alternated, and their medians (a shared machine's load spikes otherwise decide it). Every
module carries no-op lifecycle hooks (hooks/stop, hooks/start, hooks/health; `--no-hooks` leaves
them out), so both pay for the health gate. Prints both medians, `overhead_ratio`
(rollout_s / direct_s), each round's ratio and peak_rss_mb of the workstation process.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QCoreApplication, QEventLoop  # noqa: E402

from appupdater.agent.protocol import DeploymentAnswer, DeploymentState  # noqa: E402
from appupdater.core.planning import Selection, plan_update  # noqa: E402
from appupdater.core.runs import create_run  # noqa: E402
from appupdater.demo.agents import module_files, put_and_wait, write_tarball  # noqa: E402
from appupdater.engine.build import build_engine  # noqa: E402
from appupdater.engine.settings import EngineSettings, GatewaySettings  # noqa: E402
from appupdater.store.db import close_database, open_database  # noqa: E402
from appupdater.store.models import Deployment  # noqa: E402
from tests.agents import (  # noqa: E402
    CATALOG_MODULES,
    AgentProcess,
    ArtifactServer,
    agent_configuration,
    build_artifacts,
    fleet_yaml,
    seed_version_1,
)
from tests.helpers import load_yaml  # noqa: E402

NO_OP = "#!/bin/sh\nexit 0\n"


def build_hooked_artifacts(folder: Path, padding: int) -> dict[tuple[str, str], tuple]:
    """As tests.agents.build_artifacts, each module with no-op stop, start and health hooks."""
    made = {}
    for modules in CATALOG_MODULES.values():
        for name, version in modules:
            files = module_files(name, version)
            files[f"{name}/data.bin"] = os.urandom(padding).hex()[:padding]
            for hook in ("stop", "start", "health"):
                files[f"hooks/{hook}"] = NO_OP
            file = f"{name}-{version}.tar.gz"
            made[(name, version)] = (file, write_tarball(folder / file, files))
    return made


def in_parallel(function, items) -> list:
    """`function(item)` for every item, each in its own thread; the results in order."""
    results = [None] * len(items)

    def run(i, item):
        results[i] = function(item)

    threads = [threading.Thread(target=run, args=pair) for pair in enumerate(items)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def fresh(agents, server, artifacts) -> None:
    """Every agent wiped, restarted on its port, running 1.0.0."""
    for agent in agents:
        agent.stop()
        shutil.rmtree(agent.state, ignore_errors=True)
    in_parallel(AgentProcess.start, agents)
    in_parallel(lambda a: seed_version_1(a, server.url, artifacts), agents)


def direct(agents, server, artifacts) -> float:
    """What a minimal script does: PUT to every agent at once, long-poll each to its end."""
    body = agent_configuration(server.url, artifacts, "2.0.0")
    start = time.perf_counter()

    def deploy(agent: AgentProcess) -> DeploymentAnswer:
        with agent.client() as client:
            return put_and_wait(client, "direct", body)

    answers = in_parallel(deploy, agents)
    elapsed = time.perf_counter() - start
    states = [answer.state for answer in answers]
    assert states.count(DeploymentState.SUCCEEDED) == len(agents), states
    return elapsed


def rollout(agents, app) -> float:
    engine = build_engine(
        EngineSettings(
            concurrency=len(agents),
            probe_interval=None,
            tick_ms=100,
            gateways=GatewaySettings(agent_timeout=10, poll_wait=1.0),
        ),
    )
    loop = QEventLoop()
    engine.run_completed.connect(lambda *args: loop.quit())
    start = time.perf_counter()
    create_run(plan_update([Selection("line-monitor", "2.0.0")]), approved_by="bench")
    engine.start()
    loop.exec()
    elapsed = time.perf_counter() - start
    engine.stop()
    states = [d.state for d in Deployment.select()]
    assert states.count("succeeded") == len(agents), states
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--padding-kib", type=int, default=256, help="noise in each artifact")
    parser.add_argument("--no-hooks", action="store_true", help="artifacts without hooks")
    parser.add_argument(
        "--repeat", type=int, default=3, help="rounds of both; the medians are printed"
    )
    args = parser.parse_args()
    app = QCoreApplication([])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build = build_artifacts if args.no_hooks else build_hooked_artifacts
        artifacts = build(root / "artifacts", args.padding_kib * 1024)
        server = ArtifactServer(root / "artifacts")
        agents = [
            AgentProcess(f"dev-{i:03d}", root / "agents" / f"dev-{i:03d}")
            for i in range(args.devices)
        ]
        directs, rollouts = [], []
        try:
            for round_number in range(args.repeat):  # alternated: a load spike hits both
                fresh(agents, server, artifacts)
                directs.append(direct(agents, server, artifacts))
                fresh(agents, server, artifacts)
                open_database(str(root / f"bench-{round_number}.sqlite3"))
                load_yaml(fleet_yaml(server.url, artifacts, agents))
                rollouts.append(rollout(agents, app))
                close_database()
        finally:
            for agent in agents:
                agent.stop()
            server.close()
    direct_s, rollout_s = statistics.median(directs), statistics.median(rollouts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"devices={args.devices} hooks={'no' if args.no_hooks else 'no-op stop/start/health'}")
    print(f"direct_s={direct_s:.2f}")
    print(f"rollout_s={rollout_s:.2f}")
    print(f"overhead_ratio={rollout_s / direct_s:.2f}")
    rounds = " ".join(f"{r / d:.2f}" for d, r in zip(directs, rollouts, strict=True))
    print(f"round_ratios={rounds}")
    print(f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
