"""How deployment actions and module operations are named, drawn and coloured, everywhere the
user interface shows them (wizard pages, overview, reports on screen)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from appupdater.core.planning import ChangeOp
from appupdater.store.models import DeployAction

# The seed's wording, in its order.
ACTION_TEXT = {
    DeployAction.NONE: "Do not deploy the update",
    DeployAction.NOW: "Deploy the update now",
    DeployAction.AT: "Deploy the update at a specified time",
}
# The same, where a column is narrow; also looked up by the stored text (a StrEnum's value).
ACTION_SHORT: dict[str, str] = {
    DeployAction.NONE: "configuration only",
    DeployAction.NOW: "now",
    DeployAction.AT: "at a time",
}
ACTION_ICON = {
    DeployAction.NONE: "deploy-none",
    DeployAction.NOW: "deploy-now",
    DeployAction.AT: "deploy-at",
}

# an application a deployment pushes besides its run's own (core/along.py)
ALONG_TEXT = "also pushed: configured earlier, not on the device yet"

OP_TEXT = {ChangeOp.ADDED: "Added", ChangeOp.REMOVED: "Removed", ChangeOp.MODIFIED: "Modified"}
OP_ICON = {
    ChangeOp.ADDED: "op-added",
    ChangeOp.REMOVED: "op-removed",
    ChangeOp.MODIFIED: "op-modified",
}
OP_COLOUR = {
    ChangeOp.ADDED: QColor("#2e7d32"),
    ChangeOp.REMOVED: QColor("#c62828"),
    ChangeOp.MODIFIED: QColor("#b26a00"),
}
