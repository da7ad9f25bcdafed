"""The Audit log's filters: a time range (a preset or From/To), a user, an action and free
text. `changed` says the filter is different (typing waits a moment first); `spec` is the
filter for core/audit_query at a given moment (a preset counts back from it)."""

from __future__ import annotations

from datetime import datetime, timedelta

from PySide6.QtCore import QDateTime, QSignalBlocker, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QGridLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QWidget,
)

from appupdater.core.audit_query import AuditFilter
from appupdater.store.fields import utcnow
from appupdater.ui.timefmt import from_qdatetime, to_qdatetime

# (label, how far back; None: all time)
PRESETS: tuple[tuple[str, timedelta | None], ...] = (
    ("All time", None),
    ("Last 24 hours", timedelta(hours=24)),
    ("Last 7 days", timedelta(days=7)),
    ("Last 30 days", timedelta(days=30)),
)
CUSTOM = "Custom range"
ALL_USERS = "All users"
ALL_ACTIONS = "All actions"
TYPING_MS = 300  # the search waits this long after the last key
EARLIEST = QDateTime.fromMSecsSinceEpoch(946_684_800_000)  # 2000-01-01: "the beginning"
FORMAT = "yyyy-MM-dd HH:mm"


def _minute(value: QDateTime) -> datetime:
    """The moment an editor shows, to the minute (it keeps the seconds of a time set earlier)."""
    return from_qdatetime(value).replace(second=0, microsecond=0)


class AuditFilterBar(QWidget):
    """Time range, user, action and search, in two rows."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.period = QComboBox()
        self.period.setAccessibleName("Time range")
        for preset, back in PRESETS:
            self.period.addItem(preset, back)
        self.period.addItem(CUSTOM, None)
        self.since_edit = self._moment_edit("From")
        self.since_edit.setMinimumDateTime(EARLIEST)
        self.since_edit.setSpecialValueText("the beginning")
        self.until_edit = self._moment_edit("To")
        self.user = QComboBox()
        self.user.setAccessibleName("User")
        self.user.addItem(ALL_USERS, None)
        self.action = QComboBox()
        self.action.setAccessibleName("Action")
        self.action.addItem(ALL_ACTIONS, None)
        for combo in (self.user, self.action):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumContentsLength(12)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search objects, notes, outcomes, users, hosts")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search the audit log")
        self.search.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

        self.typing = QTimer(self)
        self.typing.setObjectName("audit-search-typing")
        self.typing.setSingleShot(True)
        self.typing.setInterval(TYPING_MS)
        self.typing.timeout.connect(self.changed)

        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for column, (text, widget) in enumerate(
            (("&Time:", self.period), ("&From:", self.since_edit), ("T&o:", self.until_edit))
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            layout.addWidget(label, 0, 2 * column)
            layout.addWidget(widget, 0, 2 * column + 1)
        for column, (text, widget) in enumerate(
            (("&User:", self.user), ("&Action:", self.action), ("&Search:", self.search))
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            layout.addWidget(label, 1, 2 * column)
            layout.addWidget(widget, 1, 2 * column + 1, 1, 2 if widget is self.search else 1)
        layout.setColumnStretch(6, 1)  # the search takes the width left; the rest keep theirs

        self.show_period(utcnow())
        self.period.currentIndexChanged.connect(self._period_chosen)
        self.since_edit.dateTimeChanged.connect(self._moment_edited)
        self.until_edit.dateTimeChanged.connect(self._moment_edited)
        self.user.currentIndexChanged.connect(self.changed)
        self.action.currentIndexChanged.connect(self.changed)
        self.search.textChanged.connect(self.typing.start)

    def _moment_edit(self, name: str) -> QDateTimeEdit:
        edit = QDateTimeEdit()
        edit.setAccessibleName(name)
        edit.setCalendarPopup(True)
        edit.setDisplayFormat(FORMAT)
        edit.setKeyboardTracking(False)  # a typed time counts when taken (Return, or leaving)
        return edit

    # -- what is chosen ------------------------------------------------------------------

    def custom(self) -> bool:
        return self.period.currentText() == CUSTOM

    def spec(self, now: datetime) -> AuditFilter:
        """The filter as chosen; a preset counts back from `now` and has no end, so entries
        written while the window is open still match."""
        since: datetime | None
        until: datetime | None = None
        if self.custom():
            start = self.since_edit.dateTime()
            since = None if start == self.since_edit.minimumDateTime() else _minute(start)
            # To is shown to the minute and includes that minute
            until = _minute(self.until_edit.dateTime()) + timedelta(minutes=1)
        else:
            back: timedelta | None = self.period.currentData()
            since = None if back is None else now - back
        return AuditFilter(
            since=since,
            until=until,
            user=self.user.currentData(),
            action=self.action.currentData(),
            text=self.search.text().strip(),
        )

    def filtering(self) -> bool:
        """Whether anything is chosen besides all entries."""
        return self.custom() or self.spec(utcnow()) != AuditFilter()

    def show_period(self, now: datetime) -> None:
        """Show a preset's range in From and To (To: now), without it counting as an edit."""
        if self.custom():
            return
        back: timedelta | None = self.period.currentData()
        with QSignalBlocker(self.since_edit), QSignalBlocker(self.until_edit):
            if back is None:
                self.since_edit.setDateTime(self.since_edit.minimumDateTime())
            else:
                self.since_edit.setDateTime(to_qdatetime(now - back))
            self.until_edit.setDateTime(to_qdatetime(now))

    def set_choices(self, users: list[str], actions: list[str]) -> None:
        """The users and actions found in the trail; the current choice stays (also when no
        entry has it any more)."""
        for combo, values, everyone in (
            (self.user, users, ALL_USERS),
            (self.action, actions, ALL_ACTIONS),
        ):
            chosen = combo.currentData()
            wanted = sorted(set(values) | ({chosen} if chosen is not None else set()))
            if [combo.itemData(i) for i in range(1, combo.count())] == wanted:
                continue
            with QSignalBlocker(combo):
                combo.clear()
                combo.addItem(everyone, None)
                for value in wanted:
                    combo.addItem(value, value)
                combo.setCurrentIndex(max(combo.findData(chosen), 0) if chosen else 0)

    # -- changes ---------------------------------------------------------------------------

    def _period_chosen(self) -> None:
        now = utcnow()
        if self.custom() and self.since_edit.dateTime() == self.since_edit.minimumDateTime():
            # a range to edit from "the beginning": the week up to now
            with QSignalBlocker(self.since_edit):
                self.since_edit.setDateTime(to_qdatetime(now - timedelta(days=7)))
        self.show_period(now)
        self.changed.emit()

    def _moment_edited(self) -> None:
        if not self.custom():
            with QSignalBlocker(self.period):
                self.period.setCurrentIndex(self.period.findText(CUSTOM))
        self.changed.emit()
