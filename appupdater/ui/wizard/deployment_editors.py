"""The Deployment page's table and its editors: the per-device action combo (painted, opened
with one click), the time editor, and a date-time field that Tab leaves."""

from __future__ import annotations

from PySide6.QtCore import QAbstractItemModel, QEvent, QSize, Qt, QTimer
from PySide6.QtGui import QMouseEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDateTimeEdit,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionComboBox,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from appupdater.ui.icons import icon
from appupdater.ui.tables import ModelIndex
from appupdater.ui.timefmt import from_qdatetime, to_qdatetime
from appupdater.ui.wizard.deployment_model import (
    ACTION_COLUMN,
    ACTIONS,
    TIME_COLUMN,
    WAVE_COLUMN,
    DeploymentModel,
    wave_text,
)
from appupdater.ui.wording import ACTION_ICON, ACTION_TEXT

EDITED_COLUMNS = (ACTION_COLUMN, TIME_COLUMN, WAVE_COLUMN)
COMBO_COLUMNS = (ACTION_COLUMN, WAVE_COLUMN)


class DateTimeField(QDateTimeEdit):
    """A date-time field that Tab leaves; the arrow keys and the mouse pick its sections
    (QDateTimeEdit's own Tab walks through year, month, day, hour and minute first)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.setCalendarPopup(True)

    def focusNextPrevChild(self, next: bool) -> bool:
        return QWidget.focusNextPrevChild(self, next)


class DeploymentView(QTableView):
    """The per-device table: Tab leaves it (not cell by cell through every row), and one plain
    click on an action or time cell opens its editor (the action's list opens with it)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabKeyNavigation(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed)
        # columns that share the width the others leave, by weight
        self.shares: dict[int, int] = {}

    def fit_columns(self) -> None:
        """Give the sharing columns what the others leave, so nothing is pushed off screen."""
        header = self.horizontalHeader()
        if not self.shares or self.model() is None:
            return
        fixed = sum(header.sectionSize(c) for c in range(header.count()) if c not in self.shares)
        left = max(self.viewport().width() - fixed, 0)
        total = sum(self.shares.values())
        minimum = header.minimumSectionSize()
        for column, weight in self.shares.items():
            header.resizeSection(column, max(minimum, left * weight // total))

    def viewportEvent(self, event: QEvent) -> bool:
        # the viewport, not the view: a scroll bar that appears narrows it
        handled = super().viewportEvent(event)
        if event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return handled

    def mousePressEvent(self, event: QMouseEvent) -> None:
        super().mousePressEvent(event)
        index = self.indexAt(event.position().toPoint())
        if (
            event.button() == Qt.MouseButton.LeftButton
            and event.modifiers() == Qt.KeyboardModifier.NoModifier
            and index.column() in EDITED_COLUMNS
            and index.flags() & Qt.ItemFlag.ItemIsEditable
            and self.indexWidget(index) is None
        ):
            self.edit(index)


class ActionDelegate(QStyledItemDelegate):
    """Shows the action and the wave as combo boxes (painted, so 100,000 rows cost no widgets)
    and edits them with a real one that covers the cell exactly and opens its list at once."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        if index.column() not in COMBO_COLUMNS or not index.flags() & Qt.ItemFlag.ItemIsEditable:
            return super().paint(painter, option, index)
        self.initStyleOption(option, index)
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, widget)
        combo = QStyleOptionComboBox()
        combo.rect = option.rect.adjusted(3, 2, -3, -2)
        combo.state = option.state | QStyle.StateFlag.State_Enabled
        combo.state &= ~QStyle.StateFlag.State_Selected
        combo.palette = option.palette
        combo.currentText = index.data()
        decoration = index.data(Qt.ItemDataRole.DecorationRole)
        if decoration is not None:
            combo.currentIcon = decoration
        combo.iconSize = QSize(16, 16)
        combo.frame = True
        style.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, combo, painter, widget)
        style.drawControl(QStyle.ControlElement.CE_ComboBoxLabel, combo, painter, widget)
        return None

    def sizeHint(self, option: QStyleOptionViewItem, index: ModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        if index.column() == ACTION_COLUMN:
            size.setWidth(size.width() + 40)
        return size

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> QWidget:
        if index.column() == ACTION_COLUMN:
            combo = QComboBox(parent)
            combo.setAccessibleName("Deployment action")
            for action in ACTIONS:
                combo.addItem(icon(ACTION_ICON[action]), ACTION_TEXT[action], action.value)
            combo.activated.connect(lambda _=None, e=combo: self._commit(e))
            # once the view has placed and shown it: the list, not a second click, is what the
            # click was for
            QTimer.singleShot(0, combo, combo.showPopup)
            return combo
        model = index.model()
        if index.column() == WAVE_COLUMN and isinstance(model, DeploymentModel):
            combo = QComboBox(parent)
            combo.setAccessibleName("Wave")
            for wave in range(1, model.state.wave_count() + 1):
                combo.addItem(wave_text(wave), wave)
            combo.activated.connect(lambda _=None, e=combo: self._commit(e))
            QTimer.singleShot(0, combo, combo.showPopup)
            return combo
        if index.column() == TIME_COLUMN:
            time_edit = DateTimeField(parent)
            time_edit.setAccessibleName("Deployment time")
            return time_edit
        return super().createEditor(parent, option, index)

    def updateEditorGeometry(
        self, editor: QWidget, option: QStyleOptionViewItem, index: ModelIndex
    ) -> None:
        # the whole cell: the default leaves room for the cell's icon, which then showed beside
        # the editor's own
        if index.column() in EDITED_COLUMNS:
            editor.setGeometry(option.rect)
        else:
            super().updateEditorGeometry(editor, option, index)

    def setEditorData(self, editor: QWidget, index: ModelIndex) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(editor.findData(index.data(Qt.ItemDataRole.EditRole)))
        elif isinstance(editor, QDateTimeEdit):
            editor.setDateTime(to_qdatetime(index.data(Qt.ItemDataRole.EditRole)))
        else:
            super().setEditorData(editor, index)

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: ModelIndex) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData(), Qt.ItemDataRole.EditRole)
        elif isinstance(editor, QDateTimeEdit):
            model.setData(index, from_qdatetime(editor.dateTime()), Qt.ItemDataRole.EditRole)
        else:
            super().setModelData(editor, model, index)

    def _commit(self, editor: QComboBox) -> None:
        self.commitData.emit(editor)
        self.closeEditor.emit(editor, QStyledItemDelegate.EndEditHint.NoHint)
