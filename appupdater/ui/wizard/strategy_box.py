"""The rollout strategy's controls, on the Deployment page and in File → Settings (the team's
default): all at once, or in waves (a canary, then waves of a count or a percentage, the last one
possibly the rest, or any list of sizes the command line takes), with a soak time and a failure
limit."""

from __future__ import annotations

import contextlib
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
    QLineEdit,
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
    StrategyError,
    WaveSize,
    parse_waves,
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
    devices (None: all at once). With `any_total` (the team default, where no run's devices are
    known yet) "waves of this size until every device is in one" cannot be said, so the last
    wave is always the rest; any other list of sizes goes in Custom sizes."""

    changed = Signal()

    def __init__(
        self, title: str = "Rollout", parent: QWidget | None = None, *, any_total: bool = False
    ) -> None:
        super().__init__(title, parent)
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
        self.rest.setHidden(any_total)
        self.custom = QCheckBox("C&ustom sizes:")
        self.custom.setToolTip("Any list of wave sizes, as `appupdater update --waves` takes it.")
        self.spec = QLineEdit()
        self.spec.setPlaceholderText("e.g. 1,10%,50%,rest")
        self.spec.setAccessibleName("Custom wave sizes")
        self.spec.setToolTip(
            "Wave sizes separated by commas: a number of devices, a percentage of the devices "
            "deployed now, and last possibly 'rest'."
        )
        self.spec.setEnabled(False)
        self.spec_error = QLabel()
        self.spec_error.setAccessibleName("Wave sizes error")
        self.spec_error.setWordWrap(True)
        self.spec_error.setStyleSheet("color: #b3261e; font-weight: bold;")
        self.spec_error.hide()
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
        # the waves the custom sizes said when they last could be read
        self._custom_waves: tuple[WaveSize, ...] = (WaveSize(count=1), REST)

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
        grid.addWidget(self.custom, 2, 0)
        if any_total:
            grid.addWidget(self.spec, 2, 1, 1, 4)
        else:  # the preview beside the custom sizes, where it has room to say it in one line
            grid.addWidget(self.spec, 2, 1)
            grid.addWidget(self.preview, 2, 3, 1, 3)
        grid.setColumnMinimumWidth(2, 12)
        self.controls = QWidget()
        self.controls.setLayout(grid)
        grid.setContentsMargins(0, 0, 0, 0)
        choice = QVBoxLayout()
        choice.addWidget(self.all_at_once)
        choice.addWidget(self.in_waves)
        choice.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addLayout(choice)
        layout.addSpacing(16)
        fields = QVBoxLayout()
        fields.addWidget(self.controls)
        fields.addWidget(self.spec_error)
        if any_total:  # the fields leave no room beside the custom sizes: under them
            fields.addWidget(self.preview)
        layout.addLayout(fields)
        layout.addStretch(1)
        self.controls.setEnabled(False)

        self.in_waves.toggled.connect(self._mode_changed)
        self.custom.toggled.connect(self._custom_toggled)
        self.spec.textChanged.connect(self._spec_changed)
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
            self.custom,
            self.spec,
        ]

    def problem(self) -> str | None:
        """Why the controls say no usable strategy (custom sizes that cannot be read), or None."""
        if not (self.in_waves.isChecked() and self.custom.isChecked()):
            return None
        try:
            Strategy(parse_waves(self.spec.text()))
        except StrategyError as exc:
            return f"Wave sizes: {exc}"
        return None

    def strategy(self, total: int) -> Strategy | None:
        """What the controls say for `total` deploy-now devices; None when all at once. Custom
        sizes that cannot be read (see `problem`) count as the last ones that could."""
        if not self.in_waves.isChecked():
            return None
        waves = self._custom_waves if self.custom.isChecked() else self._field_waves(total)
        return Strategy(waves, float(self.soak.value()), float(self.limit.value()))

    def _field_waves(self, total: int) -> tuple[WaveSize, ...]:
        canary, size = self.canary.wave_size(), self.wave_size_field.wave_size()
        if self.rest.isChecked() or self.rest.isHidden():
            return (canary, size, REST)
        left = max(total - canary.devices(total), 0)
        return (canary,) + (size,) * max(1, math.ceil(left / size.devices(total or 1)))

    def set_strategy(self, strategy: Strategy | None) -> None:
        """Show `strategy` (None: all at once): a canary, a wave and the rest in the size
        fields, any other list of sizes in Custom sizes."""
        if strategy is None:
            self.all_at_once.setChecked(True)
            return
        fields = _as_fields(strategy.waves)
        self.custom.setChecked(fields is None)
        if fields is None:
            self.spec.setText(strategy.spec())
        else:
            for field, (number, unit) in zip(
                (self.canary, self.wave_size_field), fields, strict=True
            ):
                field.unit.setCurrentText(unit)
                field.number.setValue(number)
            self.rest.setChecked(True)
        self.soak.setValue(round(strategy.soak_minutes))
        self.limit.setValue(round(strategy.max_failures_percent))
        self.in_waves.setChecked(True)

    def restore_defaults(self) -> None:
        """All at once, and the fields as a new box has them."""
        self.set_strategy(Strategy((WaveSize(count=1), WaveSize(percent=10), REST)))
        self.spec.clear()
        self.set_strategy(None)

    def show_sizes(self, sizes: list[int]) -> None:
        """Say what the waves come to: "3 waves: 1, 5 and 54 devices"."""
        if not self.in_waves.isChecked() or self.problem() is not None:
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
        self._show_problem()
        self.changed.emit()

    def _custom_toggled(self, custom: bool) -> None:
        for widget in (self.canary, self.wave_size_field, self.rest):
            widget.setEnabled(not custom)
        self.spec.setEnabled(custom)
        if custom and not self.spec.text():
            self.spec.setText(Strategy(self._field_waves(0)).spec())
        self._spec_changed()

    def _spec_changed(self) -> None:
        with contextlib.suppress(StrategyError):  # the message shows why; the last kept
            self._custom_waves = Strategy(parse_waves(self.spec.text())).waves
        self._show_problem()
        self.changed.emit()

    def _show_problem(self) -> None:
        problem = self.problem()
        self.spec_error.setText(problem or "")
        self.spec_error.setVisible(problem is not None)


def _as_fields(waves: tuple[WaveSize, ...]) -> tuple[tuple[int, str], tuple[int, str]] | None:
    """A canary, a wave and the rest as the size fields show them; None for any other list."""
    if len(waves) != 3 or not waves[2].rest:
        return None
    fields = []
    for size in waves[:2]:
        if size.count is not None:
            fields.append((size.count, DEVICES))
        elif size.percent is not None and size.percent == int(size.percent):
            fields.append((int(size.percent), PERCENT))
        else:
            return None
    return fields[0], fields[1]
