"""The Deployment page's rollout strategy: all at once, or in waves (a canary, then waves of a
count or a percentage, the last one possibly the rest), with a soak time and a failure limit."""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from appupdater.core.waves import (
    DEFAULT_MAX_FAILURES_PERCENT,
    DEFAULT_SOAK_MINUTES,
    REST,
    Strategy,
    WaveSize,
)
from appupdater.core.words import plural

DEVICES, PERCENT = "devices", "%"
SHOWN_SIZES = 6  # the preview lists this many waves' sizes, then "…"


class SizeField(QWidget):
    """A wave's size: a number and its unit (devices or % of the deploy-now devices)."""

    changed = Signal()

    def __init__(self, name: str, count: int, unit: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.number = QSpinBox()
        self.number.setRange(1, 1_000_000)
        self.number.setValue(count)
        self.number.setAccessibleName(f"{name} size")
        self.unit = QComboBox()
        self.unit.addItems([DEVICES, PERCENT])
        self.unit.setCurrentText(unit)
        self.unit.setAccessibleName(f"{name} size unit")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.number)
        layout.addWidget(self.unit)
        self.number.valueChanged.connect(self.changed)
        self.unit.currentIndexChanged.connect(self._unit_changed)

    def wave_size(self) -> WaveSize:
        if self.unit.currentText() == PERCENT:
            return WaveSize(percent=float(self.number.value()))
        return WaveSize(count=self.number.value())

    def _unit_changed(self) -> None:
        self.number.setMaximum(100 if self.unit.currentText() == PERCENT else 1_000_000)
        self.changed.emit()


class StrategyBox(QGroupBox):
    """The run-level choice; `strategy(total)` builds what it says for `total` deploy-now
    devices (None: all at once)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Rollout", parent)
        self.all_at_once = QRadioButton("&All at once")
        self.all_at_once.setToolTip("Every deploy-now device starts as soon as you approve.")
        self.in_waves = QRadioButton("In &waves")
        self.in_waves.setToolTip(
            "A canary first, then waves; the run pauses when too many deployments fail."
        )
        self.all_at_once.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.all_at_once)
        group.addButton(self.in_waves)

        self.canary = SizeField("Canary", 1, DEVICES)
        self.wave_size_field = SizeField("Wave", 10, PERCENT)
        self.wave_size, self.wave_unit = self.wave_size_field.number, self.wave_size_field.unit
        self.rest = QCheckBox("then the &rest in one wave")
        self.rest.setToolTip(
            "Checked: the canary, one wave of this size, then every other device.\n"
            "Not checked: waves of this size until every device is in one."
        )
        self.rest.setChecked(True)
        self.soak = QSpinBox()
        self.soak.setRange(0, 7 * 24 * 60)
        self.soak.setValue(int(DEFAULT_SOAK_MINUTES))
        self.soak.setSuffix(" min")
        self.soak.setAccessibleName("Soak time")
        self.soak.setToolTip("How long to wait after a wave finished before the next starts.")
        self.limit = QSpinBox()
        self.limit.setRange(0, 100)
        self.limit.setValue(int(DEFAULT_MAX_FAILURES_PERCENT))
        self.limit.setSuffix(" %")
        self.limit.setAccessibleName("Failure limit")
        self.limit.setToolTip(
            "Pause the run when more than this share of its finished deployments failed."
        )
        self.preview = QLabel()
        self.preview.setAccessibleName("Waves")
        self.preview.setWordWrap(True)
        for spin in (self.canary.number, self.wave_size, self.soak, self.limit):
            spin.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            spin.setMinimumWidth(spin.fontMetrics().horizontalAdvance("10080 min") + 36)

        limit_row = QWidget()
        limit_line = QHBoxLayout(limit_row)
        limit_line.setContentsMargins(0, 0, 0, 0)
        limit_line.addWidget(self.limit)
        limit_line.addWidget(QLabel("failed"))
        limit_line.addStretch(1)
        grid = QGridLayout()
        grid.setHorizontalSpacing(8)
        for column, (text, field) in enumerate(
            (
                ("&Canary:", self.canary),
                ("&Then waves of:", self.wave_size_field),
                ("&Soak time:", self.soak),
                ("Pause a&bove:", limit_row),
            )
        ):
            label = QLabel(text)
            label.setBuddy(
                field.number
                if isinstance(field, SizeField)
                else self.limit
                if field is limit_row
                else field
            )
            grid.addWidget(label, column // 2, (column % 2) * 3)
            grid.addWidget(field, column // 2, (column % 2) * 3 + 1)
        grid.addWidget(self.rest, 0, 5)
        grid.setColumnMinimumWidth(2, 12)
        self.controls = QWidget()
        self.controls.setLayout(grid)
        grid.setContentsMargins(0, 0, 0, 0)
        choice = QVBoxLayout()
        choice.addWidget(self.all_at_once)
        choice.addWidget(self.in_waves)
        layout = QHBoxLayout(self)
        layout.addLayout(choice)
        layout.addSpacing(16)
        layout.addWidget(self.controls)
        layout.addSpacing(16)
        layout.addWidget(self.preview, 1)
        self.controls.setEnabled(False)

        self.in_waves.toggled.connect(self._mode_changed)
        for signal in (
            self.canary.changed,
            self.wave_size_field.changed,
            self.rest.toggled,
            self.soak.valueChanged,
            self.limit.valueChanged,
        ):
            signal.connect(self.changed)

    def tab_chain(self) -> list[QWidget]:
        """Its fields in the order Tab visits them."""
        return [
            self.all_at_once,
            self.in_waves,
            self.canary.number,
            self.canary.unit,
            self.wave_size,
            self.wave_unit,
            self.rest,
            self.soak,
            self.limit,
        ]

    def strategy(self, total: int) -> Strategy | None:
        """What the controls say for `total` deploy-now devices; None when all at once."""
        if not self.in_waves.isChecked():
            return None
        canary, size = self.canary.wave_size(), self.wave_size_field.wave_size()
        if self.rest.isChecked():
            waves: tuple[WaveSize, ...] = (canary, size, REST)
        else:
            left = max(total - canary.devices(total), 0)
            waves = (canary,) + (size,) * max(1, math.ceil(left / size.devices(total or 1)))
        return Strategy(waves, float(self.soak.value()), float(self.limit.value()))

    def show_sizes(self, sizes: list[int]) -> None:
        """Say what the waves come to: "3 waves: 1, 5 and 54 devices"."""
        if not self.in_waves.isChecked():
            self.preview.clear()
            return
        if not sizes:
            self.preview.setText("No device deploys now: there are no waves.")
            return
        shown = [f"{n:,}" for n in sizes[:SHOWN_SIZES]]
        if len(sizes) > SHOWN_SIZES:
            shown.append(f"… {sizes[-1]:,}")
        listed = ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]
        devices = "device" if sizes == [1] else "devices"
        self.preview.setText(f"{plural(len(sizes), 'wave')}: {listed} {devices}")

    def _mode_changed(self) -> None:
        self.controls.setEnabled(self.in_waves.isChecked())
        self.changed.emit()
