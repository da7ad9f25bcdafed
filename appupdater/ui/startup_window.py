"""The windows of a start on a database that is not there yet: "Connecting to …" (with what
went wrong when it fails), and the question before migrating a shared database."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.words import plural
from appupdater.store.migration_plan import MigrationPlan
from appupdater.ui.icons import icon

TEXT_WIDTH = 460


def _headline(text: str) -> QLabel:
    label = QLabel(text)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    label.setWordWrap(True)
    return label


def _text(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setMinimumWidth(TEXT_WIDTH)
    return label


def _with_icon(content: QVBoxLayout) -> QHBoxLayout:
    row = QHBoxLayout()
    picture = QLabel()
    picture.setPixmap(icon("appupdater").pixmap(48, 48))
    picture.setAlignment(Qt.AlignmentFlag.AlignTop)
    row.addWidget(picture)
    row.addSpacing(12)
    row.addLayout(content, 1)
    return row


class ConnectingWindow(QWidget):
    """Shown at once while the database opens off the GUI thread; says what went wrong if it
    cannot be opened, with Try again and Quit."""

    retry_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, where: str, give_up_s: int | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.where = where
        self.give_up_s = give_up_s
        self.setWindowTitle("App Updater")
        self.setWindowIcon(icon("appupdater"))
        self.headline = _headline("")
        self.detail = _text()
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setAccessibleName("Connecting")
        content = QVBoxLayout()
        content.addWidget(self.headline)
        content.addWidget(self.detail)
        content.addWidget(self.bar)
        content.addStretch(1)
        self.buttons = QDialogButtonBox()
        self.retry_button = QPushButton("&Try again")
        self.quit_button = QPushButton("&Quit")
        self.buttons.addButton(self.retry_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.quit_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.retry_button.clicked.connect(self.retry_requested)
        self.quit_button.clicked.connect(self.quit_requested)
        layout = QVBoxLayout(self)
        layout.addLayout(_with_icon(content))
        layout.addWidget(self.buttons)
        self.connecting()

    def connecting(self) -> None:
        self.headline.setText("Connecting to the database…")
        after = (
            f" App Updater gives up after {plural(self.give_up_s, 'second')} without an answer."
            if self.give_up_s
            else ""
        )
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.detail.setText(f"{self.where}\n\nThe window opens when the database answers.{after}")
        self.bar.show()
        self.retry_button.hide()
        self.quit_button.setDefault(True)

    def failed(self, text: str) -> None:
        self.headline.setText("App Updater cannot open the database")
        self.detail.setText(_sentence(text))
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.bar.hide()
        self.retry_button.show()
        self.retry_button.setDefault(True)
        self.retry_button.setFocus()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.quit_requested.emit()
        super().closeEvent(event)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


class MigrationDialog(QDialog):
    """Asks before migrating a shared database: from which schema to which, what changes, that
    the others must upgrade too and how to back it up. Migrate now keeps it open, busy, until
    the database is open (or `failed`)."""

    migrate_requested = Signal()

    def __init__(self, plan: MigrationPlan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan = plan
        self.setWindowTitle("Migrate the database")
        self.setWindowIcon(icon("appupdater"))
        content = QVBoxLayout()
        content.addWidget(_headline(f"{plan.headline()}."))
        steps = "".join(f"<li>{step}</li>" for step in plan.steps)
        content.addWidget(_text(f"What changes:<ul style='margin-top:0'>{steps}</ul>"))
        if plan.server:
            content.addWidget(_text(plan.others()))
            content.addWidget(
                _text(
                    "Back it up first (App Updater keeps no copy of a server database), for "
                    "example with:"
                )
            )
            self.command = QLineEdit(plan.backup_command or "")
            self.command.setReadOnly(True)
            room = self.command.fontMetrics().horizontalAdvance(self.command.text()) + 24
            self.command.setMinimumWidth(min(room, 760))
            self.command.setAccessibleName("Backup command")
            self.command.setCursorPosition(0)
            content.addWidget(self.command)
            content.addWidget(
                _text("The migration runs in one transaction: if it fails, nothing is changed.")
            )
        else:
            content.addWidget(_text(plan.backup()))
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setTextVisible(False)
        self.busy.setAccessibleName("Migrating")
        self.busy_text = _text(
            "Migrating… Other App Updaters and engines that start now wait until it is done."
        )
        busy_row = QHBoxLayout()
        busy_row.addWidget(self.busy_text, 1)
        busy_row.addWidget(self.busy)
        self.busy_box = QWidget()
        self.busy_box.setLayout(busy_row)
        busy_row.setContentsMargins(0, 0, 0, 0)
        self.busy_box.hide()
        content.addWidget(self.busy_box)
        self.buttons = QDialogButtonBox()
        self.migrate_button = QPushButton("&Migrate now")
        self.quit_button = QPushButton("&Quit")
        self.buttons.addButton(self.migrate_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.quit_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.migrate_button.setAutoDefault(False)
        self.quit_button.setDefault(True)  # the cautious answer; Esc gives it too
        self.quit_button.setFocus()
        self.migrate_button.clicked.connect(self._migrate)
        self.quit_button.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(_with_icon(content))
        layout.addWidget(self.buttons)

    @property
    def migrating(self) -> bool:
        return not self.busy_box.isHidden()

    def _migrate(self) -> None:
        self.migrate_button.setEnabled(False)
        self.quit_button.setEnabled(False)
        self.busy_box.show()
        self.migrate_requested.emit()

    def reject(self) -> None:
        if not self.migrating:  # a migration under way is not left half-asked
            super().reject()
