"""Durations in event messages read as people say them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from appupdater.core.events import describe_delay
from appupdater.core.words import plural


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.5, "0.5 s"),
        (3, "3 s"),
        (12, "12 s"),
        (30, "30 s"),
        (59.6, "60 s"),
        (60, "60 s"),
        (90, "90 s"),
        (120, "2 min"),
        (245, "4 min 5 s"),
        (480, "8 min"),
        (960, "16 min"),
        (3599, "1 h"),
        (3600, "1 h"),
        (3840, "1 h 4 min"),
        (3900, "1 h 5 min"),
        (7200, "2 h"),
        (86_400, "1 day"),
        (2 * 86_400 + 3 * 3600, "2 days 3 h"),
        (-5, "0 s"),
    ],
)
def test_durations_read_naturally(seconds, text):
    assert describe_delay(timedelta(seconds=seconds)) == text


def test_plural():
    assert plural(1, "deployment") == "1 deployment"
    assert plural(0, "deployment") == "0 deployments"
    assert plural(3, "device") == "3 devices"
    assert plural(2, "entry", "entries") == "2 entries"
