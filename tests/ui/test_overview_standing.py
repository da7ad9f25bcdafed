"""The overview's Status cell for what people decided about a run (ui/overview/standing.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from appupdater.core.rollout import Standing, WaveProgress
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


def test_the_next_wave_time_is_never_shown_in_the_past_or_while_paused():
    def standing(next_at, paused_by=None):
        return Standing(WaveProgress(1, 3, next_at), paused_by=paused_by)

    later = NOW + timedelta(minutes=30)
    assert "next wave at " in status_text("in progress", standing(later), NOW)
    assert status_text("in progress", standing(NOW - timedelta(minutes=1)), NOW) == (
        "in progress · wave 1 of 3, next wave opening"
    )
    assert status_text("in progress", standing(later, paused_by="alice"), NOW) == (
        "paused by alice · wave 1 of 3, next wave when resumed"
    )
