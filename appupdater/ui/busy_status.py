"""Background work a window starts (loading the fleet, an import, an export), shown in its
status bar while any runs; a failure is told in a message box that names what failed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QMainWindow, QMessageBox, QProgressBar, QWidget

from appupdater.ui.tasks import BackgroundTasks

# wide enough that a problem of a fleet file (file, place, what is wrong) reads on one line
_WIDE = "QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 720px; }"


def failure_box(parent: QWidget, title: str, error: BaseException) -> QMessageBox:
    """ "<title> failed." and the error's first line; its further lines (one problem each, as
    a fleet file's) below, where they keep their line breaks."""
    first, *rest = str(error).splitlines() or [""]
    box = QMessageBox(
        QMessageBox.Icon.Critical, title, f"{title} failed.\n\n{first}", parent=parent
    )
    if rest:
        box.setInformativeText("\n".join(rest))
        box.setStyleSheet(_WIDE)
    return box


class BusyStatus:
    def __init__(self, window: QMainWindow, tasks: BackgroundTasks):
        self.window = window
        self.tasks = tasks
        self.running = 0
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.hide()
        self.label = QLabel()
        window.statusBar().addPermanentWidget(self.label)
        window.statusBar().addPermanentWidget(self.bar)

    def run(
        self,
        message: str,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        title: str,
        on_failed: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run `work` in the background with `message` shown; then `on_done(result)`, or a
        message box titled `title` with what went wrong (and then `on_failed(error)`)."""
        self.running += 1
        self.bar.show()
        self.label.setText(message)

        def done(result: Any) -> None:
            self._finished()
            on_done(result)

        def failed(error: BaseException) -> None:
            self._finished()
            self.window.statusBar().showMessage(f"{title} failed", 10_000)
            failure_box(self.window, title, error).exec()
            if on_failed is not None:
                on_failed(error)

        self.tasks.submit(work, done, failed)

    def _finished(self) -> None:
        self.running -= 1
        self.bar.setVisible(self.running > 0)
        if not self.running:
            self.label.clear()
