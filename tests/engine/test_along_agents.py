"""What the preview said a deployment also pushes is what a real device undergoes.

press-01 runs line-monitor 1.0.0 and edge-gateway 1.0; edge-gateway was configured 1.1 earlier
without a deployment. A run of line-monitor 2.0.0 lists edge-gateway 1.0 → 1.1 as also pushed;
after the engine deployed it through the real agent, the agent's own links on disk have
changed exactly as the preview's modules said: line-monitor's and edge-gateway's."""

from __future__ import annotations

import pytest

from appupdater.agent.protocol import AppRef, Configuration, DeploymentState, ModuleRef
from appupdater.core.planning import ChangeOp, Selection, plan_update
from appupdater.core.runs import create_run
from appupdater.demo.agents import module_files, put_and_wait, write_tarball
from appupdater.store.models import Deployment, DeploymentEvent
from tests.agents import CATALOG_MODULES, AgentProcess, ArtifactServer, build_artifacts
from tests.engine.test_agents import make_engine  # noqa: F401  (fixture)
from tests.helpers import load_yaml

pytestmark = pytest.mark.integration
WAIT = 60_000

GATEWAY = {"1.0": [("broker", "1.0")], "1.1": [("broker", "1.1"), ("relay", "0.1")]}


def _gateway_artifacts(folder) -> dict[tuple[str, str], tuple[str, str]]:
    made = {}
    for modules in GATEWAY.values():
        for name, version in modules:
            file = f"{name}-{version}.tar.gz"
            made[(name, version)] = (
                file,
                write_tarball(folder / file, module_files(name, version)),
            )
    return made


def _refs(url: str, artifacts: dict, modules) -> tuple[ModuleRef, ...]:
    return tuple(
        ModuleRef(n, v, f"{url}/{artifacts[(n, v)][0]}", artifacts[(n, v)][1]) for n, v in modules
    )


def _versions_yaml(url: str, artifacts: dict, catalog: dict) -> list[str]:
    lines = []
    for version, modules in catalog.items():
        lines += [f'      - version: "{version}"', "        modules:"]
        for name, module_version in modules:
            file, sha = artifacts[(name, module_version)]
            lines.append(
                f'          - {{name: {name}, version: "{module_version}", '
                f"artifact: {{url: '{url}/{file}', sha256: '{sha}'}}}}"
            )
    return lines


def fleet_yaml(url: str, artifacts: dict, agent: AgentProcess, gateway: str) -> str:
    """press-01 at `agent`: line-monitor 1.0.0, edge-gateway configured `gateway`, running 1.0."""
    return (
        "\n".join(
            [
                "applications:",
                "  - name: line-monitor",
                "    versions:",
                *_versions_yaml(url, artifacts, CATALOG_MODULES),
                "  - name: edge-gateway",
                "    versions:",
                *_versions_yaml(url, artifacts, GATEWAY),
                "devices:",
                f"  - {{name: press-01, endpoint: '{agent.endpoint}', token: '{agent.token}', "
                "applications: {line-monitor: {configured: '1.0.0', installed: '1.0.0'}, "
                f"edge-gateway: {{configured: '{gateway}', installed: '1.0'}}}}}}",
            ]
        )
        + "\n"
    )


def test_a_deployment_installs_what_the_preview_said_it_also_pushes(
    qtbot,
    tmp_path,
    db,
    make_engine,  # noqa: F811
):
    folder = tmp_path / "artifacts"
    artifacts = {**build_artifacts(folder), **_gateway_artifacts(folder)}
    server = ArtifactServer(folder)
    agent = AgentProcess("press-01", tmp_path / "agents" / "press-01").start()
    try:
        url = server.url
        seeded = Configuration(
            (
                AppRef("edge-gateway", "1.0", _refs(url, artifacts, GATEWAY["1.0"])),
                AppRef("line-monitor", "1.0.0", _refs(url, artifacts, CATALOG_MODULES["1.0.0"])),
            )
        )
        with agent.client() as client:
            assert put_and_wait(client, "seed", seeded).state is DeploymentState.SUCCEEDED
        before = agent.active()
        assert before == {"broker": "1.0", "collector": "1.0.0", "dashboard": "1.0.0"}
        load_yaml(fleet_yaml(url, artifacts, agent, gateway="1.1"))
        plan = plan_update([Selection("line-monitor", "2.0.0")])
        [target] = plan.targets
        [along] = plan.along[target.device.id]
        assert (along.application, along.from_text, along.configured.text) == (
            "edge-gateway",
            "1.0",
            "1.1",
        )
        # the preview's modules, applied to what the agent ran
        expected = dict(before)
        for change in (*plan.device_changes(target), *along.changes):
            if change.op is ChangeOp.REMOVED:
                expected.pop(change.module)
            else:
                expected[change.module] = change.to_version
        run_id = create_run(plan, approved_by="alice")
        make_engine().start()
        deployment = Deployment.select().where(Deployment.run == run_id)
        qtbot.waitUntil(
            lambda: deployment.exists() and deployment.get().state in ("succeeded", "failed"),
            timeout=WAIT,
        )
        assert deployment.get().state == "succeeded", deployment.get().last_message
        log = [
            e.message
            for e in DeploymentEvent.select()
            .where(DeploymentEvent.deployment == deployment.get().id)
            .order_by(DeploymentEvent.id)
        ]
        said = next(i for i, m in enumerate(log) if m.startswith("also pushes "))
        assert log[said].startswith("also pushes edge-gateway 1.0 → 1.1: configured earlier")
        assert log[said + 1].startswith("connecting to ")  # before the device is contacted
        # the far side's own record
        assert (
            agent.active()
            == expected
            == {
                "broker": "1.1",
                "relay": "0.1",
                "collector": "2.0.0",
                "alerts": "1.0.0",
            }
        )
    finally:
        agent.stop()
        server.close()
