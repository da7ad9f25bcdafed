"""Errors a user can cause or meet, kept apart from bugs.

Everything derived from `AppUpdaterError` carries a message written for the administrator: it
names the thing that is wrong and, where it can, what to do. Anything else that escapes is a bug.
Lives at the top of the package so that every layer can raise and catch these.
"""

from __future__ import annotations


class AppUpdaterError(Exception):
    """A problem the administrator can understand and act on."""


class VersionError(AppUpdaterError, ValueError):
    """A version string that does not follow the version rules."""


class FleetFileError(AppUpdaterError):
    """A fleet file that cannot be imported; lists every problem found, each with its place."""

    def __init__(self, file: str, problems: list[tuple[str, str]]):
        self.file = file
        self.problems = problems
        lines = [
            f"{file}: {place}: {what}" if place else f"{file}: {what}" for place, what in problems
        ]
        super().__init__("\n".join(lines))


class PlanError(AppUpdaterError):
    """An update that cannot be planned: unknown application or version."""


class RunError(AppUpdaterError):
    """A run that cannot be recorded as asked, e.g. a deployment time in the past."""


class DatabaseError(AppUpdaterError):
    """The database cannot be opened, read or written."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer App Updater; we refuse to touch it."""


class DatabaseBusyError(DatabaseError):
    """Another program holds a lock on the database for longer than we wait."""
