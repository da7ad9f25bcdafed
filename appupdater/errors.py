"""Errors a user can cause or meet, kept apart from bugs.

Everything derived from `AppUpdaterError` carries a message written for the administrator: it
names the thing that is wrong and, where it can, what to do. Anything else that escapes is a bug.
Lives at the top of the package so that every layer can raise and catch these.
"""

from __future__ import annotations

from pathlib import PurePath


class AppUpdaterError(Exception):
    """A problem the administrator can understand and act on."""


class VersionError(AppUpdaterError, ValueError):
    """A version string that does not follow the version rules."""


class FleetFileError(AppUpdaterError):
    """A fleet file that cannot be imported or written. Lists every problem found, one line
    each with file, place and what is wrong. Several problems start with a line that names the
    file in full and counts them; the lines below name it short. Past `SHOWN` problems the rest
    are counted, not listed. `more` counts problems found but not kept (thousands of them)."""

    SHOWN = 20

    def __init__(self, file: str, problems: list[tuple[str, str]], *, more: int = 0):
        self.file = file
        self.problems = problems
        total = len(problems) + more
        name = file if total == 1 else PurePath(file).name
        lines = [
            f"{name}: {place}: {what}" if place else f"{name}: {what}"
            for place, what in problems[: self.SHOWN]
        ]
        if total > self.SHOWN:
            lines.insert(
                0, f"{file}: {total} problems, the first {self.SHOWN} listed; nothing was imported"
            )
        elif total > 1:
            lines.insert(0, f"{file}: {total} problems; nothing was imported")
        super().__init__("\n".join(lines))


class ExportError(AppUpdaterError):
    """The catalog and fleet cannot be written to the file asked for; one sentence says why."""


class PlanError(AppUpdaterError):
    """An update that cannot be planned: unknown application or version."""


class RunError(AppUpdaterError):
    """A run that cannot be recorded as asked, e.g. a deployment time in the past."""


class DatabaseError(AppUpdaterError):
    """The database cannot be opened, read or written."""


class SchemaTooNewError(DatabaseError):
    """The database was written by a newer App Updater; we refuse to touch it."""


class SchemaTooOldError(DatabaseError):
    """A reading command met a database of an older schema; it does not migrate it."""


class NoDatabaseError(DatabaseError):
    """A read-only command was pointed at a database that does not exist (or is empty)."""


class ForeignDatabaseError(DatabaseError):
    """The database holds another program's tables and no App Updater schema stamp."""


class DatabaseBusyError(DatabaseError):
    """Another program holds a lock on the database for longer than we wait."""


class DeviceSettingError(AppUpdaterError):
    """A device connection setting that cannot be stored; the text says which and why."""


class DesktopError(AppUpdaterError):
    """A desktop file (menu entry, icon, login entry) could not be written or removed."""


class GatewayError(AppUpdaterError):
    """A deployment attempt that did not work, in the device's words. A `transient` failure
    (unreachable, a timeout, an agent restarting) is retried; the others end the deployment."""

    transient_by_default = False

    def __init__(self, message: str, *, transient: bool | None = None):
        super().__init__(message)
        self.transient = self.transient_by_default if transient is None else transient


class DeviceUnreachable(GatewayError):
    """No answer from the device: refused, timed out, no route."""

    transient_by_default = True


class DeviceRejected(GatewayError):
    """The device refused or failed the deployment; the message is the device's own text."""


class UnknownDeployment(DeviceRejected):
    """The agent has no deployment under that id (HTTP 404): it never reached the device."""


class AgentError(GatewayError):
    """The agent answered, but not as the protocol says (HTTP 5xx, not JSON): worth a retry."""

    transient_by_default = True
