"""On PostgreSQL too, a device moved past a waiting request is left as it is, each of its
targets marked with why in one bulk update (``UPDATE … FROM (VALUES …)`` keyed on run and
device)."""

from __future__ import annotations

import pytest

from tests.core.test_moved_past import (
    test_a_fleet_moved_past_a_waiting_request_is_skipped_device_by_device_and_logged_once as fleet_moved_past,
)

pytestmark = pytest.mark.integration


def test_a_fleet_moved_past_a_waiting_request_on_postgres(pg, caplog):
    fleet_moved_past(pg, caplog)
