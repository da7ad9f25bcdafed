"""How deployment states look: words, colours and icons shared by the overview's views."""

from __future__ import annotations

from PySide6.QtGui import QColor

from appupdater.store.models import DeploymentState as S

STATE_COLOUR: dict[str, QColor] = {
    S.SUCCEEDED: QColor("#2e7d32"),
    S.FAILED: QColor("#c62828"),
    S.RUNNING: QColor("#1f6feb"),
    S.QUEUED: QColor("#6a8caf"),
    S.RETRYING: QColor("#e08a00"),
    S.SCHEDULED: QColor("#8e6bbf"),
    S.HELD: QColor("#7b8794"),  # waiting for its wave, or its run paused
    S.CANCELLED: QColor("#9e9e9e"),
}
# The order of the stacked bar's segments.
BAR_ORDER = (
    S.SUCCEEDED,
    S.FAILED,
    S.RUNNING,
    S.QUEUED,
    S.RETRYING,
    S.SCHEDULED,
    S.HELD,
    S.CANCELLED,
)
# The order of the state filter.
STATES = (
    S.SCHEDULED,
    S.HELD,
    S.QUEUED,
    S.RUNNING,
    S.RETRYING,
    S.SUCCEEDED,
    S.FAILED,
    S.CANCELLED,
)
STATE_ICON: dict[str, str] = {
    S.SUCCEEDED: "op-added",
    S.FAILED: "op-removed",
    S.RUNNING: "deploy-now",
    S.QUEUED: "deploy-now",
    S.RETRYING: "warning",
    S.SCHEDULED: "deploy-at",
    S.HELD: "deploy-at",
    S.CANCELLED: "select-none",
}
