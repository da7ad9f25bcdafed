"""The agent over HTTPS: a CA file or a pinned fingerprint is trusted, anything else refused."""

from __future__ import annotations

import hashlib
import ssl

import pytest

from appupdater.core.jobs import Connection
from appupdater.engine.gateways.base import DeviceTarget
from appupdater.engine.gateways.http import HttpGateway
from tests.agents import TOKEN, AgentProcess, make_certificate

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_agent(tmp_path):
    cert, key = make_certificate(tmp_path, ip="127.0.0.1")
    # with --cert and --key the agent speaks HTTPS (the helper's --insecure-http is then unused)
    agent = AgentProcess(
        "press-07", tmp_path / "state", extra=("--cert", str(cert), "--key", str(key))
    )
    yield agent, cert
    agent.stop()


def test_https_with_ca_file_or_pinned_fingerprint(tls_agent):
    agent, cert = tls_agent
    agent.start()
    endpoint = f"https://127.0.0.1:{agent.port}"
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    fingerprint = hashlib.sha256(der).hexdigest()
    gateway = HttpGateway(timeout=5)

    def probe(**connection):
        return gateway.probe(
            DeviceTarget("press-07", {}, Connection(endpoint, TOKEN, **connection))
        )

    assert probe(ca_file=str(cert)).online
    assert probe(fingerprint=fingerprint).online
    pinned_wrong = probe(fingerprint="0" * 64)
    assert not pinned_wrong.online
    assert "does not match its pinned fingerprint" in pinned_wrong.message
    untrusted = probe()
    assert not untrusted.online and "not trusted" in untrusted.message
