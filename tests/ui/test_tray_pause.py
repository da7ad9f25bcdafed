"""The tray tells when a run pauses because its failures crossed the limit."""

from __future__ import annotations

from PySide6.QtWidgets import QSystemTrayIcon

from appupdater.ui.tasks import BackgroundTasks
from appupdater.ui.tray import Tray


def test_a_paused_run_is_notified_with_its_reason(qtbot, engine, monkeypatch):
    tasks = BackgroundTasks()
    tray = Tray(engine, tasks)
    shown = []
    monkeypatch.setattr(tray.icon, "showMessage", lambda *args: shown.append(args))
    monkeypatch.setattr(tray, "refresh", lambda: None)
    engine.run_paused.emit(4, "1 of 1 failed in wave 1, limit 10 %")
    assert shown == [
        (
            "Update run #4 paused",
            "1 of 1 failed in wave 1, limit 10 %. Nothing new of it starts until it is resumed "
            "or aborted.",
            QSystemTrayIcon.MessageIcon.Warning,
            0,
        )
    ]
    tray.deleteLater()
    tasks.deleteLater()
