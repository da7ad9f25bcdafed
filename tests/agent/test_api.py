"""docs/agent-api.yaml against the protocol module both ends of the API use."""

from __future__ import annotations

from urllib.parse import urlsplit

import yaml

from appupdater.agent.parsing import DEPLOYMENT_ID
from appupdater.agent.protocol import (
    API_PREFIX,
    LOG_AFTER,
    MAX_WAIT,
    WAIT,
    DeploymentState,
    LogLevel,
    Phase,
)
from tests.agents import REPO

SPEC = yaml.safe_load((REPO / "docs" / "agent-api.yaml").read_text())
PREFIX = urlsplit(SPEC["servers"][0]["url"]).path  # the documented one, not the protocol's
DEPLOYMENT = "/deployments/{id}"


def test_the_documented_values_are_the_protocols():
    """What the document lists is what the protocol module knows, and the other way round."""
    schemas = SPEC["components"]["schemas"]
    deployment = schemas["Deployment"]["properties"]
    assert PREFIX == API_PREFIX
    assert set(SPEC["paths"]) == {"/status", "/deployments/{id}", "/deployments/{id}/cancel"}
    assert set(deployment["state"]["enum"]) == {state.value for state in DeploymentState}
    assert {s for s in DeploymentState if s.final} == {
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.CANCELLED,
    }
    assert set(deployment["phase"]["enum"]) == {phase.value for phase in Phase}
    assert set(schemas["LogLine"]["properties"]["level"]["enum"]) == {lv.value for lv in LogLevel}
    (id_parameter,) = SPEC["paths"][DEPLOYMENT]["parameters"]
    assert id_parameter["schema"]["pattern"] == DEPLOYMENT_ID.pattern
    poll = {p["name"]: p["schema"] for p in SPEC["paths"][DEPLOYMENT]["get"]["parameters"]}
    assert set(poll) == {LOG_AFTER, WAIT}
    assert poll[WAIT]["maximum"] == MAX_WAIT
