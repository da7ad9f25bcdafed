"""The deployments' wave filter: "All waves / Wave 1 (canary) / … / In no wave", shown for a
run in waves only."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker
from PySide6.QtWidgets import QComboBox, QWidget

NO_WAVE = 0  # the value for devices in no wave (deployed at a specified time)


class WaveFilter(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Filter by wave")
        self.setVisible(False)

    def offer(self, total: int) -> bool:
        """Offer the waves of a run with `total` of them (0: all at once, hidden). The choice
        stays while the number of waves does; True when it was dropped (the combo rebuilt
        from a chosen wave), so the caller unfilters what it showed."""
        self.setVisible(bool(total))
        if self.count() == (total + 2 if total else 0):
            return False
        dropped = self.wave() is not None
        with QSignalBlocker(self):
            self.clear()
            if total:
                self.addItem("All waves", None)
                for wave in range(1, total + 1):
                    self.addItem(f"Wave {wave} (canary)" if wave == 1 else f"Wave {wave}", wave)
                self.addItem("In no wave (scheduled)", NO_WAVE)
        return dropped

    def wave(self) -> int | None:
        """The wave chosen (None: all; NO_WAVE: devices in none)."""
        value = self.currentData()
        return value if isinstance(value, int) else None
