"""Downloading an artifact: a size limit (by Content-Length up front and counted while it
streams), file:// URLs only from the folder the agent was given, other schemes never; and the
agent refusing an artifact with a symlink chain end to end."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from appupdater.agent.files import StepFailed, download
from appupdater.agent.parsing import parse_configuration
from appupdater.agent.state import Agent
from tests.agent.test_unpack import snapshot, tarball
from tests.agents import ArtifactServer

MB = 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    """Serves `server.body`; `server.length` is the Content-Length it claims (None: none,
    the body ends when the connection closes)."""

    def do_GET(self):
        self.send_response(200)
        if self.server.length is not None:
            self.send_header("Content-Length", self.server.length)
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(OSError):  # the agent hangs up on a refused download
            self.wfile.write(self.server.body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def http():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.body, server.length = b"", None
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(10)


def fetch(url: str, target: Path, sha: str = "0" * 64, **limits) -> list:
    seen: list = []
    download(
        url,
        sha,
        target,
        what="collector 1.0",
        cancelled=lambda: False,
        progress=lambda done, total: seen.append((done, total)),
        **limits,
    )
    return seen


def test_a_download_announced_past_the_limit_is_refused_before_reading(tmp_path, http):
    http.body, http.length = b"x" * 1000, str(3 * MB)  # claims 3 MB
    target = tmp_path / "a.tar.gz"
    url = f"http://127.0.0.1:{http.server_address[1]}/a.tar.gz"
    with pytest.raises(StepFailed) as refused:
        fetch(url, target, max_bytes=MB)
    assert not refused.value.transient
    assert str(refused.value) == (
        "cannot download collector 1.0: it is 3.0 MB, more than the limit of 1.0 MB; "
        "nothing was kept"
    )
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_a_download_without_a_length_is_counted_while_it_streams(tmp_path, http):
    http.body, http.length = b"x" * (2 * MB), None
    target = tmp_path / "a.tar.gz"
    url = f"http://127.0.0.1:{http.server_address[1]}/a.tar.gz"
    with pytest.raises(StepFailed) as refused:
        fetch(url, target, max_bytes=MB)
    assert not refused.value.transient
    assert "passed the limit of 1.0 MB" in str(refused.value)
    assert "nothing was kept" in str(refused.value)
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_a_download_within_the_limit_and_an_odd_length_header_work(tmp_path, http):
    body = b"y" * 5000
    http.body, http.length = body, "²"  # not a number: treated as unknown, not a crash
    target = tmp_path / "a.tar.gz"
    url = f"http://127.0.0.1:{http.server_address[1]}/a.tar.gz"
    seen = fetch(url, target, hashlib.sha256(body).hexdigest(), max_bytes=5000)
    assert target.read_bytes() == body
    assert seen[-1] == (5000, None)


def test_file_urls_are_refused_unless_the_agent_was_given_their_folder(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the agent's token")
    digest = hashlib.sha256(secret.read_bytes()).hexdigest()
    target = tmp_path / "downloads" / "a.tar.gz"
    target.parent.mkdir()
    with pytest.raises(StepFailed) as refused:
        fetch(secret.as_uri(), target)
    text = str(refused.value)
    assert not refused.value.transient
    assert "only over http(s)" in text and "--artifact-folder" in text
    assert digest[:6] not in text  # nothing of the file leaks into the reply

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    with pytest.raises(StepFailed, match="outside the artifact folder") as refused:
        fetch(secret.as_uri(), target, artifact_folder=artifacts)
    assert digest[:6] not in str(refused.value)
    (artifacts / "sneaky").symlink_to(secret)  # inside by name, outside for real
    with pytest.raises(StepFailed, match="outside the artifact folder"):
        fetch((artifacts / "sneaky").as_uri(), target, artifact_folder=artifacts)
    sneaky_up = artifacts.as_uri() + "/../secret.txt"
    with pytest.raises(StepFailed, match="outside the artifact folder"):
        fetch(sneaky_up, target, artifact_folder=artifacts)
    assert not target.exists()

    good = artifacts / "collector-1.0.tar.gz"
    good.write_bytes(b"artifact")
    fetch(good.as_uri(), target, hashlib.sha256(b"artifact").hexdigest(), artifact_folder=artifacts)
    assert target.read_bytes() == b"artifact"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/a.tar.gz", "data:,hello", "file://otherhost/etc/passwd"]
)
def test_other_schemes_and_remote_file_urls_are_refused(tmp_path, url):
    with pytest.raises(StepFailed) as refused:
        fetch(url, tmp_path / "a.tar.gz", artifact_folder=tmp_path)
    assert not refused.value.transient
    assert "cannot download collector 1.0" in str(refused.value)


def test_the_agent_refuses_an_artifact_with_a_symlink_chain(tmp_path):
    """The issue's chain end to end: before, the deployment 'succeeded' and the file landed
    outside the module folder."""
    artifacts = tmp_path / "artifacts"
    root = tmp_path / "device"
    escaped = tmp_path / "escaped.txt"
    ups = max(12, len((root / "staging" / "collector-1.0-0").parts))
    archive = tarball(
        artifacts / "evil.tar.gz",
        [
            ("sym", "s", "."),
            ("sym", "/".join(["s"] * ups) + "/up", "/".join([".."] * ups)),
            ("file", "up/" + str(escaped).lstrip("/"), "pwned"),
        ],
    )
    server = ArtifactServer(artifacts)
    try:
        agent = Agent(root, "press-01")
        before = snapshot(tmp_path, root)
        module = {
            "name": "collector",
            "version": "1.0",
            "url": f"{server.url}/evil.tar.gz",
            "sha256": hashlib.sha256(archive.read_bytes()).hexdigest(),
        }
        body = {"applications": [{"name": "line", "version": "1.0", "modules": [module]}]}
        agent.put("d1", parse_configuration(body))
        answer = agent.get("d1", wait=30)
        while answer["state"] == "running":
            answer = agent.get("d1", log_after=answer["log_total"], wait=30)
    finally:
        server.close()
    assert answer["state"] == "failed"
    assert "collector 1.0 is refused" in answer["message"]
    assert "through the link s" in answer["message"]
    assert not escaped.exists()
    assert snapshot(tmp_path, root) == before
    assert not (root / "modules" / "collector").exists()
