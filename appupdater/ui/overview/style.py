"""How deployment states look: words, colours and icons shared by the overview's views."""

from __future__ import annotations

from PySide6.QtGui import QColor

STATE_COLOUR = {
    "succeeded": QColor("#2e7d32"),
    "failed": QColor("#c62828"),
    "running": QColor("#1f6feb"),
    "queued": QColor("#6a8caf"),
    "retrying": QColor("#e08a00"),
    "scheduled": QColor("#8e6bbf"),
    "cancelled": QColor("#9e9e9e"),
}
# The order of the stacked bar's segments.
BAR_ORDER = ("succeeded", "failed", "running", "queued", "retrying", "scheduled", "cancelled")
STATES = ("scheduled", "queued", "running", "retrying", "succeeded", "failed", "cancelled")
STATE_ICON = {
    "succeeded": "op-added",
    "failed": "op-removed",
    "running": "deploy-now",
    "queued": "deploy-now",
    "retrying": "warning",
    "scheduled": "deploy-at",
    "cancelled": "select-none",
}
