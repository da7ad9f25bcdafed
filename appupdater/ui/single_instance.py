"""One App Updater per user and database: a second start hands over to the first one."""

from __future__ import annotations

import getpass
import hashlib
import logging

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger("appupdater.ui")
MESSAGE = b"show\n"


def server_name(database: str) -> str:
    digest = hashlib.sha1(database.encode()).hexdigest()[:12]
    return f"appupdater-{getpass.getuser()}-{digest}"


def notify_running(database: str, timeout_ms: int = 1000) -> bool:
    """Ask an instance already running on `database` to come forward; True if one answered."""
    socket = QLocalSocket()
    socket.connectToServer(server_name(database))
    if not socket.waitForConnected(timeout_ms):
        return False
    socket.write(MESSAGE)
    socket.flush()
    socket.waitForBytesWritten(timeout_ms)
    socket.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later starts; emits `show_requested` when one asks."""

    show_requested = Signal()

    def __init__(self, database: str, parent: QObject | None = None):
        super().__init__(parent)
        self.server = QLocalServer(self)
        name = server_name(database)
        if not self.server.listen(name):
            QLocalServer.removeServer(name)  # left behind by a crash
            if not self.server.listen(name):
                log.warning("cannot listen as %s: %s", name, self.server.errorString())
        self.server.newConnection.connect(self._connection)

    @Slot()
    def _connection(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(self._read)
            socket.disconnected.connect(socket.deleteLater)

    @Slot()
    def _read(self) -> None:
        for socket in self.server.findChildren(QLocalSocket):
            if socket.bytesAvailable() and bytes(socket.readAll().data()).startswith(
                MESSAGE.strip()
            ):
                self.show_requested.emit()

    def close(self) -> None:
        for socket in self.server.findChildren(QLocalSocket):
            socket.abort()
        self.server.close()
