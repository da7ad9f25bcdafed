"""`appupdater webhook add | list | remove | test`: http(s) only, the secret never printed, the
last delivery's status listed, a test event sent now with its HTTP status."""

from __future__ import annotations

import json

import pytest

from appupdater.core.urls import redacted_url
from appupdater.store.db import close_database
from tests.test_cli import run


@pytest.fixture
def database(tmp_path):
    yield ["--database", str(tmp_path / "cli.sqlite3")]
    close_database()


def test_add_list_test_remove(capsys, database, receiver):
    code, out, err = run(
        capsys, *database, "webhook", "add", receiver.url(), "--secret", "s3cret",
        "--events", "run.paused,run.approved",
    )  # fmt: skip
    assert (code, out, err) == (0, f"webhook 1 added: {redacted_url(receiver.url())}\n", "")
    code, out, _ = run(capsys, *database, "webhook", "list")
    assert out == (
        f"1  {redacted_url(receiver.url())}, signed\n"
        "    events: run.approved, run.paused\n"
        "    last delivery: none yet\n"
        "\nDelivery history is kept for 30 days; "
        "the last 20 attempts of each webhook are always kept.\n"
    )
    code, out, _ = run(capsys, *database, "webhook", "test", "1")
    assert code == 0 and out.startswith("HTTP 200 (")
    [got] = receiver.received
    assert got.body["event"] == "test" and got.signed_with("s3cret")
    code, out, _ = run(capsys, *database, "webhook", "list", "--json")
    [listed] = json.loads(out)
    assert listed["secret"] is True and "s3cret" not in out
    assert (listed["last_delivery"]["event"], listed["last_delivery"]["status"]) == ("test", 200)
    assert "last delivery: test on " in run(capsys, *database, "webhook", "list")[1]
    code, out, _ = run(capsys, *database, "webhook", "remove", "1")
    assert (code, out) == (0, f"webhook 1 removed: {redacted_url(receiver.url())}\n")
    assert run(capsys, *database, "webhook", "list")[1] == (
        "No webhooks. Add one with `appupdater webhook add URL`.\n"
    )


def test_a_url_that_is_not_http_is_refused(capsys, database):
    code, out, err = run(capsys, *database, "webhook", "add", "ftp://files.example/hook")
    assert code != 0 and out == ""
    assert "a webhook URL must start with http:// or https:// (not ftp:; nothing was added)" in err


def test_a_test_without_answer_says_so(capsys, database):
    run(capsys, *database, "webhook", "add", "http://127.0.0.1:9/hook")
    code, out, _ = run(capsys, *database, "webhook", "test", "1")
    assert code == 1 and out.startswith("no answer from webhook 1: ")
    code, _, err = run(capsys, *database, "webhook", "test", "7")
    assert code != 0 and "there is no webhook 7" in err
