"""Export CSV… of the Audit log: what the filters show, every matching entry (not only the rows
read so far), written off the GUI thread as UTF-8 with a header row (core/audit_query.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog, QMessageBox

from appupdater.core import audit_query
from appupdater.core.audit_query import AuditFilter
from appupdater.core.words import plural

if TYPE_CHECKING:
    from appupdater.ui.audit_window import AuditWindow


def write_csv_file(spec: AuditFilter, path: Path) -> int:
    """Write the entries `spec` matches to `path`; how many (runs in a background task)."""
    with path.open("w", encoding="utf-8", newline="") as out:
        return audit_query.write_csv(spec, out)


def export_csv(window: AuditWindow) -> None:
    """Ask where, then write; the status bar says where and how many, a failure says why."""
    default = Path.home() / f"audit-log-{datetime.now():%Y-%m-%d}.csv"
    chosen, _ = QFileDialog.getSaveFileName(
        window, "Export audit log", str(default), "CSV files (*.csv);;All files (*)"
    )
    if not chosen:
        return
    path = Path(chosen)
    spec = window.current_spec()
    window.export_action.setEnabled(False)
    window.statusBar().showMessage(f"Exporting to {path}…")

    def done(written: int) -> None:
        window.export_action.setEnabled(window.total > 0)
        window.statusBar().showMessage(
            f"Exported {plural(written, 'entry', 'entries')} to {path}", 30_000
        )
        window.exported.emit(str(path), written)

    def failed(error: BaseException) -> None:
        window.export_action.setEnabled(window.total > 0)
        window.statusBar().clearMessage()
        why = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        QMessageBox.warning(
            window,
            "Export audit log",
            f"Could not write {path}: {why}.\n\nChoose another folder or file name.",
        )

    window.tasks.submit(lambda: write_csv_file(spec, path), done, failed)
