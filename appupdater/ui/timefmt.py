"""Moments between Python (aware UTC datetimes) and Qt (QDateTime), and how they are shown.

`QDateTime(aware_datetime)` ignores the zone and `toPython()` returns a naive value (verified,
DESIGN.md), so conversion goes through epoch milliseconds in both directions.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QDateTime, QTimeZone

from appupdater.store.fields import utcnow


def to_qdatetime(moment: datetime) -> QDateTime:
    """An aware datetime as a QDateTime in the workstation's local time zone."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    millis = round(moment.timestamp() * 1000)
    return QDateTime.fromMSecsSinceEpoch(millis, QTimeZone.systemTimeZone())


def from_qdatetime(value: QDateTime) -> datetime:
    """A QDateTime (any zone) as an aware UTC datetime."""
    return datetime.fromtimestamp(value.toMSecsSinceEpoch() / 1000, tz=UTC)


def next_full_hour(now: datetime | None = None) -> datetime:
    """The next full hour after `now` in local time (a time zone offset can be a half hour)."""
    now = (now or utcnow()).astimezone()
    return (now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(UTC)


def local_text(moment: datetime | None) -> str:
    """`2026-11-27 14:00` in the workstation's local time; empty for None."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def short_local_text(moment: datetime, now: datetime | None = None) -> str:
    """`17:00` today, `tomorrow 01:30` or `yesterday 23:00`, else as `local_text` (local time,
    days as the workstation's calendar has them)."""
    local = moment.astimezone()
    days = (local.date() - (now or utcnow()).astimezone().date()).days
    words = {0: "", 1: "tomorrow ", -1: "yesterday "}
    if days in words:
        return words[days] + local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


# how the engine writes a moment into a stored message (core/runs.py, core/actions.py)
_UTC_STAMP = re.compile(r"\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC\b")


def local_times_in(message: str) -> str:
    """A stored message with its UTC stamps (`2026-11-28 16:00 UTC`) in local time, as the
    tables show times (`2026-11-28 17:00`). Messages stay UTC in the database, so that they
    read the same on every workstation; a stamp that does not parse is left as it is."""
    if " UTC" not in message:  # most messages: no regular expression
        return message

    def local(match: re.Match[str]) -> str:
        try:
            moment = datetime.fromisoformat(f"{match[1]} {match[2]}").replace(tzinfo=UTC)
        except ValueError:
            return match[0]
        return local_text(moment)

    return _UTC_STAMP.sub(local, message)


def zone_text() -> str:
    """The workstation's time zone as shown, e.g. `Europe/Berlin (UTC+01:00)`."""
    zone = QTimeZone.systemTimeZone()
    offset = zone.offsetFromUtc(QDateTime.currentDateTime())
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    name = bytes(zone.id().data()).decode()
    return f"{name} (UTC{sign}{hours:02d}:{minutes:02d})"
