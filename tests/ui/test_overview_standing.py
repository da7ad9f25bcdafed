"""The overview's Status cell for what people decided about a run (ui/overview/standing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core.rollout import Standing
from appupdater.ui.overview.standing import status_text

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_a_request_aborted_before_approval_says_so_not_awaiting():
    standing = Standing(
        None,
        aborted_by="alice",
        approval="awaiting",
        requested_by="alice",
        expires_at=NOW + timedelta(hours=24),
    )
    assert status_text("awaiting approval", standing, NOW) == (
        "aborted by alice before anyone approved it"
    )
    awaiting = Standing(
        None, approval="awaiting", requested_by="alice", expires_at=NOW + timedelta(hours=24)
    )
    assert status_text("awaiting approval", awaiting, NOW).startswith(
        "awaiting approval · asked by alice, until "
    )
