"""Settings → Notifications: the webhooks told about runs (core/webhooks.py, docs/webhooks.md),
their events, the last deliveries with their HTTP status; Add…, Remove and Send test act at once
(not on OK), each off the GUI thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import peewee
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from appupdater.core import webhooks
from appupdater.core.urls import redacted_url
from appupdater.core.webhook_retention import history_words
from appupdater.core.webhooks import EVENT_WORDS, EVENTS, Delivery, EventKind, WebhookInfo
from appupdater.errors import AppUpdaterError
from appupdater.store.db import database_problem
from appupdater.store.fields import utcnow
from appupdater.ui.questions import ask
from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.timefmt import short_local_text

SHOWN_DELIVERIES = 10
OK_COLOUR, BAD_COLOUR = "#1b5e20", "#b3261e"


@dataclass(frozen=True)
class Loaded:
    hooks: list[WebhookInfo]
    deliveries: dict[int, list[Delivery]]


def load() -> Loaded:
    hooks = webhooks.webhooks()
    return Loaded(hooks, {h.id: webhooks.deliveries(h.id, limit=SHOWN_DELIVERIES) for h in hooks})


def events_text(events: tuple[str, ...]) -> str:
    """ "all events", "all but deployment failed", "run paused, run completed"."""
    missing = [EVENT_WORDS[k] for k in EVENTS if str(k) not in events]
    if not missing:
        return "all events"
    if len(missing) <= 2 and len(missing) < len(EVENTS) - 2:
        return "all but " + " and ".join(missing)
    return ", ".join(EVENT_WORDS[EventKind(e)] for e in events)


class AddWebhookDialog(QDialog):
    """URL, optional secret, events: refused in words until the URL is http(s)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add Webhook")
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://chat.example.com/hooks/…")
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("optional: signs each message")
        self.events = {k: QCheckBox(EVENT_WORDS[k].capitalize()) for k in EVENTS}
        for box in self.events.values():
            box.setChecked(True)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet(f"color: {BAD_COLOUR};")
        self.problem.hide()
        form = QFormLayout()
        form.addRow("URL:", self.url)
        form.addRow("Secret:", self.secret)
        events = QGridLayout()  # two columns: the run's events, then the rest
        half = (len(self.events) + 1) // 2
        for i, box in enumerate(self.events.values()):
            events.addWidget(box, i % half, i // half)
        form.addRow("Events:", events)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Add")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(480)

    def chosen(self) -> list[str]:
        return [str(k) for k, box in self.events.items() if box.isChecked()]

    def accept(self) -> None:
        try:
            webhooks.check_url(self.url.text())
            if not self.chosen():
                raise webhooks.WebhookError("choose at least one event")
        except webhooks.WebhookError as refused:
            text = str(refused)
            self.problem.setText(text[:1].upper() + text[1:] + ".")
            self.problem.show()
            return
        super().accept()


class NotificationsSection(QWidget):
    """The webhooks table, the selected one's last deliveries, and the buttons."""

    def __init__(self, tasks: BackgroundTasks, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        about = QLabel(
            "Besides the tray, App Updater's engines post a JSON message to these URLs when a "
            "run awaits approval, is approved, completes (with or without failures) or is "
            "paused, and when deployments fail. Changes here apply at once, for everyone "
            "using this database."
        )
        about.setWordWrap(True)
        self.table = self._table(["URL", "Events", "Last delivery"])
        self.table.setAccessibleName("Webhooks")
        self.add = QPushButton("Add…")
        self.remove = QPushButton("Remove")
        self.test = QPushButton("Send Test")
        buttons = QHBoxLayout()
        for button in (self.add, self.remove, self.test):
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Notification status")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.deliveries_title = QLabel("Last deliveries")
        self.deliveries = self._table(["Time", "Event", "Run", "Result", "Took"])
        self.deliveries.setAccessibleName("Last deliveries")
        self.deliveries.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.history = QLabel(history_words())
        self.history.setWordWrap(True)
        self.history.setStyleSheet("color: #5f6368;")  # a note, not a control
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(about)
        layout.addWidget(self.table, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.deliveries_title)
        layout.addWidget(self.deliveries, 3)
        layout.addWidget(self.history)
        self.loaded = Loaded([], {})
        self._busy = 0
        # tasks under way: their answers are dropped once this section is gone
        tokens: set[int] = set()
        self._tokens = tokens
        self.destroyed.connect(lambda: _forget(tasks, tokens))
        self.add.clicked.connect(self._add)
        self.remove.clicked.connect(self._remove)
        self.test.clicked.connect(self._test)
        self.table.itemSelectionChanged.connect(self._selected)
        self._selected()
        self.refresh()

    @staticmethod
    def _table(headers: list[str]) -> QTableWidget:
        table = QTableWidget(0, len(headers))
        table.setHorizontalHeaderLabels(headers)
        table.verticalHeader().hide()
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.horizontalHeader().setStretchLastSection(True)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.setWordWrap(False)
        table.setMinimumHeight(90)
        return table

    # -- reading ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._run(load, self._show)

    def selected(self) -> WebhookInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.loaded.hooks):
            return None
        return self.loaded.hooks[rows[0].row()]

    def _show(self, loaded: Loaded) -> None:
        keep = self.selected()
        self.loaded = loaded
        self.table.setRowCount(len(loaded.hooks))
        for row, hook in enumerate(loaded.hooks):
            url = redacted_url(hook.url) + ("  (signed)" if hook.has_secret else "")
            last = "none yet" if hook.last is None else _result(hook.last)
            for column, text in enumerate((url, events_text(hook.events), last)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if column == 2 and hook.last is not None:
                    item.setForeground(_colour(hook.last))
                self.table.setItem(row, column, item)
        self.table.resizeColumnToContents(0)
        self.table.setColumnWidth(0, min(self.table.columnWidth(0), 340))
        self.table.setColumnWidth(1, 200)
        ids = [h.id for h in loaded.hooks]
        if ids:
            self.table.selectRow(ids.index(keep.id) if keep is not None and keep.id in ids else 0)
        self._selected()

    def _selected(self) -> None:
        hook = self.selected()
        idle = self._busy == 0
        self.remove.setEnabled(hook is not None and idle)
        self.test.setEnabled(hook is not None and idle)
        self.add.setEnabled(idle)
        shown = [] if hook is None else self.loaded.deliveries.get(hook.id, [])
        self.deliveries_title.setText(
            "Last deliveries" if hook is None
            else f"Last deliveries to {redacted_url(hook.url)}"
        )  # fmt: skip
        self.deliveries.setRowCount(len(shown))
        for row, d in enumerate(shown):
            run = "" if d.run is None else f"#{d.run}"
            texts = (
                short_local_text(d.at, utcnow()),
                _event_words(d.event),
                run,
                d.describe(),
                f"{d.duration_ms:,} ms",
            )
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if column == 3:
                    item.setForeground(_colour(d))
                self.deliveries.setItem(row, column, item)
        self.deliveries.setColumnWidth(1, 220)

    # -- acting ----------------------------------------------------------------------------------

    def _add(self) -> None:
        dialog = AddWebhookDialog(self)
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        url, secret, events = dialog.url.text(), dialog.secret.text(), dialog.chosen()
        self._run(
            lambda: webhooks.add_webhook(url, secret=secret or None, events=events),
            lambda _id: self._done(f"Added {redacted_url(url.strip())}."),
        )

    def _remove(self) -> None:
        hook = self.selected()
        if hook is None:
            return
        url = redacted_url(hook.url)
        if not ask(
            self,
            "Remove Webhook",
            f"Remove the webhook {url}?",
            "Nothing more is sent to it, by any workstation on this database. Its past "
            "deliveries stay recorded.",
            "Remove",
            "Keep",
        ):
            return
        self._run(
            lambda: webhooks.remove_webhook(hook.id), lambda _u: self._done(f"Removed {url}.")
        )

    def _test(self) -> None:
        hook = self.selected()
        if hook is None:
            return
        from appupdater.engine.webhooks import send_test

        url = redacted_url(hook.url)
        self.status.setStyleSheet("")
        self.status.setText(f"Sending a test message to {url}…")
        self._run(lambda: send_test(hook.id, utcnow()), lambda sent: self._tested(url, sent))

    def _tested(self, url: str, sent: webhooks.Sent) -> None:
        if sent.ok:
            self._done(f"Test message delivered to {url}: HTTP {sent.status}.")
        elif sent.status is not None:
            self._done(f"{url} refused the test message: HTTP {sent.status}.", bad=True)
        else:
            self._done(f"The test message did not reach {url}: {sent.error}.", bad=True)

    def _done(self, message: str, *, bad: bool = False) -> None:
        self.status.setStyleSheet(f"color: {BAD_COLOUR if bad else OK_COLOUR};")
        self.status.setText(message)
        self.refresh()

    def _run(self, work: Callable[[], Any], on_done: Callable[[Any], object]) -> None:
        self._busy += 1
        self._selected()

        token = 0

        def finished(result: object) -> None:
            self._tokens.discard(token)
            self._busy -= 1
            on_done(result)
            self._selected()

        def failed(error: BaseException) -> None:
            self._tokens.discard(token)
            self._failed(error)

        token = self.tasks.submit(work, finished, failed)
        self._tokens.add(token)

    def _failed(self, error: BaseException) -> None:
        self._busy -= 1
        if isinstance(error, peewee.PeeweeException | sqlite3.Error):
            error = database_problem(error)
        elif not isinstance(error, AppUpdaterError | OSError):
            raise error  # a bug of ours: the error dialog takes it
        self.status.setStyleSheet(f"color: {BAD_COLOUR};")
        self.status.setText(f"Not done: {error}")
        self._selected()


def _event_words(event: str) -> str:
    known = {str(k): words for k, words in EVENT_WORDS.items()}
    return known.get(event, event)


def _result(delivery: Delivery) -> str:
    when = short_local_text(delivery.at, utcnow())
    return f"{delivery.describe()}, {when}"


def _colour(delivery: Delivery) -> QColor:
    return QColor(OK_COLOUR if delivery.ok else BAD_COLOUR)


def _forget(tasks: BackgroundTasks, tokens: set[int]) -> None:
    for token in list(tokens):
        tasks.forget(token)
