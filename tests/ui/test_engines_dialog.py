"""View → Engines…: the engines sharing the database, read as they come and go."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from appupdater.core import scheduling
from appupdater.store.models import EngineInstance
from appupdater.ui.engines_dialog import EnginesDialog


def _rows(dialog):
    tree = dialog.tree
    return [
        [tree.topLevelItem(i).text(c) for c in range(tree.columnCount())]
        for i in range(tree.topLevelItemCount())
    ]


def test_the_engines_dialog_lists_every_engine_and_follows_them(qtbot, main_window, screenshot):
    window = main_window
    window.engine.start()
    qtbot.waitUntil(lambda: EngineInstance.get_or_none(id=window.engine.instance) is not None)
    scheduling.heartbeat("engine-b", "fleet-server-2", 2817, datetime.now(UTC))
    seen = []

    def look():
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, EnginesDialog)
        seen.append(dialog)
        qtbot.waitUntil(lambda: len(_rows(dialog)) == 2)
        rows = _rows(dialog)
        own = next(r for r in rows if r[5].startswith("alive (this window"))
        other = next(r for r in rows if r[0] == "fleet-server-2")
        assert own[1] != "2817" and other[1:2] == ["2817"]
        assert other[4] == "0 deployments" and other[5] == "alive"
        assert "2 engines share this database; 0 deployments run now" in dialog.summary.text()
        for size in ((1280 // 2, 300), (1024 // 2 + 200, 260)):
            dialog.resize(*size)
            screenshot(dialog, f"engines-{size[0]}")
        scheduling.forget_instance("engine-b")  # it stopped
        qtbot.waitUntil(lambda: len(_rows(dialog)) == 1, timeout=10_000)
        assert "One engine runs on this database" in dialog.summary.text()
        dialog.reject()

    QTimer.singleShot(0, look)
    window.engines_action.trigger()
    assert seen and not seen[0].isVisible()
