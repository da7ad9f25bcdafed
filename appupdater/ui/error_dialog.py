"""Unexpected errors while the GUI runs: written to the log, and shown in a dialog (what
happened, where the log is, the details to copy) while App Updater keeps running.

`ErrorReporter` takes over `sys.excepthook` (PySide6 hands it exceptions raised in slots and
event handlers) and `threading.excepthook`, and gives both back on `uninstall`. Errors of other
threads reach the dialog through a queued signal. The dialog never recurses: an error while one
is shown, or raised by the dialog itself, is only logged; the same error again is logged and
counted, not shown a second time.
"""

from __future__ import annotations

import html
import logging
import sys
import threading
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from appupdater import __version__, desktop

log = logging.getLogger("appupdater.errors")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def where(tb: TracebackType | None) -> str:
    """`file.py:12 in function` of the innermost frame."""
    frames = traceback.extract_tb(tb)
    if not frames:
        return "unknown place"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno} in {last.name}"


class ErrorDialog(QDialog):
    def __init__(self, summary: str, place: str, details: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("App Updater — unexpected error")
        self.details = details
        icon = QLabel()
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(size)
        )
        heading = QLabel(
            "<b>Something went wrong in App Updater.</b><br>"
            "It keeps running, but what you were doing may not have finished."
        )
        what, at = html.escape(summary, quote=False), html.escape(place, quote=False)
        self.summary = QLabel(f"{what}<br><small>at {at}</small>")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.log_label = QLabel(
            f"The details were written to the log: {desktop.log_file()}. Copy them into a "
            "report to whoever looks after App Updater."
        )
        self.log_label.setWordWrap(True)
        self.text = QPlainTextEdit(details)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setMinimumHeight(140)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy_button = QPushButton("&Copy details")
        self.copy_button.clicked.connect(self.copy_details)
        self.folder_button = QPushButton("Open &log folder")
        self.folder_button.clicked.connect(self.open_log_folder)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.folder_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(icon, 0)
        words = QVBoxLayout()
        for label in (heading, self.summary, self.log_label):
            words.addWidget(label)
        top.addLayout(words, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(620, 420)

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details)
        self.copy_button.setText("&Copied")

    def open_log_folder(self) -> None:
        folder = desktop.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class ErrorReporter(QObject):
    """See the module docstring."""

    reported = Signal(str, str, str, str)  # key, summary, where, details

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.dialog: ErrorDialog | None = None
        self.shown: set[str] = set()  # errors shown once already (type and place)
        self.repeats = 0  # errors logged but not shown again
        self._previous: tuple[object, object] | None = None
        self.reported.connect(self._show)

    def install(self) -> None:
        self._previous = (sys.excepthook, threading.excepthook)
        sys.excepthook = self._excepthook
        threading.excepthook = self._thread_excepthook

    def uninstall(self) -> None:
        if self._previous is not None:
            sys.excepthook, threading.excepthook = self._previous  # type: ignore[assignment]
            self._previous = None
        if self.dialog is not None:
            self.dialog.close()

    def _excepthook(
        self, kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        self.report((kind, error, tb), "")

    def _thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        name = args.thread.name if args.thread is not None else "a thread"
        self.report((args.exc_type, args.exc_value, args.exc_traceback), f" (in {name})")

    def report(self, info: ExcInfo, context: str = "") -> None:
        """Log an unexpected error, and show it in the dialog (from any thread)."""
        try:
            kind, error, tb = info
            log.error("unexpected error%s", context, exc_info=info)
            place = where(tb) + context
            details = f"App Updater {__version__}, Python {sys.version.split()[0]}\n" + "".join(
                traceback.format_exception(kind, error, tb)
            )
            summary = f"{kind.__name__}: {error}" if str(error) else kind.__name__
            self.reported.emit(f"{kind.__name__} {place}", summary, place, details)
        except Exception:  # the reporter must never raise into the hook
            log.exception("could not report an unexpected error")

    @Slot(str, str, str, str)
    def _show(self, key: str, summary: str, place: str, details: str) -> None:
        if self.dialog is not None or key in self.shown:
            self.repeats += 1
            return
        self.shown.add(key)
        try:
            self.dialog = ErrorDialog(summary, place, details)
            self.dialog.finished.connect(self._closed)
            self.dialog.show()
            self.dialog.raise_()
        except Exception:  # an error in the dialog: logged, never shown again
            log.exception("could not show the error dialog")
            self.dialog = None

    @Slot()
    def _closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None
