"""docs/agent-api.yaml against a running agent server: every documented path and method answers
with each documented status and the documented fields, and every other method is refused."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
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
from appupdater.agent.server import MAX_BODY, AgentServer
from appupdater.agent.state import Agent
from tests.agents import REPO, TOKEN, ArtifactServer, agent_configuration, build_artifacts

SPEC = yaml.safe_load((REPO / "docs" / "agent-api.yaml").read_text())
PREFIX = urlsplit(SPEC["servers"][0]["url"]).path  # the documented one, not the protocol's
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
DEPLOYMENT = "/deployments/{id}"
CANCEL = "/deployments/{id}/cancel"


def resolved(node: Any) -> Any:
    """An OpenAPI schema as JSON Schema: references replaced, `nullable` as a null type."""
    if isinstance(node, list):
        return [resolved(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolved(target)
    node = {key: resolved(value) for key, value in node.items()}
    if node.pop("nullable", False):
        node["type"] = [node["type"], "null"]
    return node


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: Any


class Api:
    """A running agent server and one kept-alive connection to it, as a client would use it."""

    def __init__(self, tmp_path):
        folder = tmp_path / "artifacts"
        artifacts = build_artifacts(folder, padding=0)
        self.artifact_server = ArtifactServer(folder)  # file:// only from --artifact-folder
        self.configurations = {
            version: agent_configuration(self.artifact_server.url, artifacts, version).to_json()
            for version in ("1.0.0", "2.0.0")
        }
        self.agent = Agent(tmp_path / "device", "press-07")
        self.server = AgentServer(("127.0.0.1", 0), self.agent, TOKEN)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.server.server_address[1])

    def close(self) -> None:
        self.connection.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
        self.artifact_server.close()

    def ask(
        self,
        method: str,
        path: str,
        deployment_id: str = "",
        *,
        query: str = "",
        body: Any = None,
        token: str = TOKEN,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """`path` as the document writes it, under the documented prefix; `headers` are sent
        as given, with no body and no Content-Length unless they say so."""
        target = PREFIX + path.replace("{id}", deployment_id) + (f"?{query}" if query else "")
        self.connection.putrequest(method, target)
        self.connection.putheader("Authorization", f"Bearer {token}")
        data = json.dumps(body).encode() if body is not None else b""
        sent = dict(headers) if headers is not None else {"Content-Length": str(len(data))}
        for name, value in sent.items():
            self.connection.putheader(name, value)
        self.connection.endheaders(data if headers is None else None)
        answer = self.connection.getresponse()
        return Answer(answer.status, answer.headers, json.loads(answer.read()))

    def deployed(self, deployment_id: str, version: str) -> Answer:
        """PUT a deployment, then long-poll it to its end; the PUT's answer."""
        put = self.ask("PUT", DEPLOYMENT, deployment_id, body=self.configurations[version])
        last = put.body
        while last["state"] == DeploymentState.RUNNING:
            query = f"log_after={last['log_total']}&wait=5"
            last = self.ask("GET", DEPLOYMENT, deployment_id, query=query).body
        assert last["state"] == DeploymentState.SUCCEEDED, last["message"]
        return put


@pytest.fixture
def api(tmp_path):
    api = Api(tmp_path)
    yield api
    assert api.agent.status()["deployment_in_progress"] is None
    api.close()


def provocations(api: Api) -> dict[tuple[str, str], dict[str, Callable[[], Answer]]]:
    """For every documented (path, method): how to make the agent give each status."""
    v1, v2 = api.configurations["1.0.0"], api.configurations["2.0.0"]
    wrong = "wrong-token-0123456789"
    return {
        ("/status", "get"): {
            "200": lambda: api.ask("GET", "/status"),
            "401": lambda: api.ask("GET", "/status", token=wrong),
        },
        (DEPLOYMENT, "put"): {
            "201": lambda: api.deployed("fresh", "1.0.0"),
            "200": lambda: api.ask("PUT", DEPLOYMENT, "known", body=v1),
            "400": lambda: api.ask("PUT", DEPLOYMENT, "known", body={"applications": {}}),
            "401": lambda: api.ask("PUT", DEPLOYMENT, "known", body=v1, token=wrong),
            "409": lambda: api.ask("PUT", DEPLOYMENT, "known", body=v2),
            "411": lambda: api.ask("PUT", DEPLOYMENT, "other", headers={}),
            "413": lambda: api.ask(
                "PUT", DEPLOYMENT, "other", headers={"Content-Length": str(MAX_BODY + 1)}
            ),
        },
        (DEPLOYMENT, "get"): {
            "200": lambda: api.ask("GET", DEPLOYMENT, "known", query="log_after=1&wait=0.1"),
            "400": lambda: api.ask("GET", DEPLOYMENT, "known", query="wait=soon"),
            "401": lambda: api.ask("GET", DEPLOYMENT, "known", token=wrong),
            "404": lambda: api.ask("GET", DEPLOYMENT, "unknown"),
        },
        (CANCEL, "post"): {
            "200": lambda: api.ask("POST", CANCEL, "known"),
            "400": lambda: api.ask("POST", CANCEL, "-not-an-id"),
            "401": lambda: api.ask("POST", CANCEL, "known", token=wrong),
            "404": lambda: api.ask("POST", CANCEL, "unknown"),
        },
    }


@pytest.mark.integration
def test_the_documented_api_is_the_served_one(api):
    api.deployed("known", "1.0.0")
    documented = {
        (path, method): operation
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    }
    table = provocations(api)
    assert set(table) == set(documented)
    for (path, method), operation in documented.items():
        responses = operation["responses"]
        assert set(table[(path, method)]) == set(responses), f"{method} {path}"
        for status, provoke in table[(path, method)].items():
            answer = provoke()
            where = f"{method.upper()} {path} -> {status}"
            assert answer.status == int(status), (where, answer.body)
            content = resolved(responses[status])["content"]
            assert answer.headers["Content-Type"] in content, where
            schema = content[answer.headers["Content-Type"]]["schema"]
            jsonschema.validate(answer.body, schema)
            missing = set(schema.get("properties", {})) - set(answer.body)
            assert not missing, f"{where}: the answer lacks {sorted(missing)}"
            if status == "401":
                assert answer.headers["WWW-Authenticate"].startswith("Bearer ")
            if status == "413":  # the body was not read: the connection cannot go on
                assert answer.headers["Connection"] == "close"
    # the answers never left the kept-alive connection out of step with the requests
    assert api.ask("GET", "/status").body["installed"]["line-monitor"]["version"] == "1.0.0"


@pytest.mark.integration
def test_undocumented_methods_are_refused_with_the_allowed_ones(api):
    api.deployed("known", "1.0.0")
    for path, item in SPEC["paths"].items():
        allowed = {method.upper() for method in item if method in HTTP_METHODS}
        for method in sorted({m.upper() for m in HTTP_METHODS} - allowed):
            body = {"applications": []} if method in ("PUT", "POST", "PATCH") else None
            answer = api.ask(method, path, "known", body=body)
            assert answer.status == 405, (method, path, answer.body)
            assert set(answer.headers["Allow"].split(", ")) == allowed
            assert method in answer.body["error"]
    # the refused bodies were read, not taken for the next request
    assert api.ask("GET", "/status").status == 200
    assert api.agent.get("known")["attempts"] == 1


def test_the_documented_values_are_the_protocols():
    """What the document lists is what the protocol module knows, and the other way round."""
    schemas = SPEC["components"]["schemas"]
    deployment = schemas["Deployment"]["properties"]
    assert PREFIX == API_PREFIX
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
