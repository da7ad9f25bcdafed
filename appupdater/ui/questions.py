"""A question with two answers in words ("Deploy Now" / "Keep Waiting"): the cautious one is
the default, and Esc gives it too."""

from __future__ import annotations

from PySide6.QtWidgets import QGridLayout, QMessageBox, QSizePolicy, QSpacerItem, QWidget

ROOM = 420  # px for the sentences: Qt wraps a message box's text very narrow


def ask(
    parent: QWidget,
    title: str,
    text: str,
    informative: str,
    yes: str,
    no: str,
    *,
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
    yes_role: QMessageBox.ButtonRole = QMessageBox.ButtonRole.AcceptRole,
) -> bool:
    """True when the person chose `yes`."""
    box = QMessageBox(icon, title, text, parent=parent)
    if informative:
        box.setInformativeText(informative)
    layout = box.layout()
    if isinstance(layout, QGridLayout):
        room = QSpacerItem(ROOM, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Minimum)
        layout.addItem(room, layout.rowCount(), 0, 1, layout.columnCount())
    go = box.addButton(yes, yes_role)
    keep = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.setEscapeButton(keep)
    box.exec()
    return box.clickedButton() is go
