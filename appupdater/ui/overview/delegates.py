"""Bars painted in the overview's cells (a widget per row would not scale to 100,000 rows)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, Qt
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QToolTip,
)

from appupdater.ui.overview.models import COUNTS_ROLE, PROGRESS_ROLE
from appupdater.ui.overview.style import BAR_ORDER, STATE_COLOUR
from appupdater.ui.tables import ModelIndex


class WholeTextTip(QStyledItemDelegate):
    """Shows a cell's whole text as its tooltip when the column is too narrow for it (and the
    model has no tooltip of its own for the cell): every text stays readable at any width."""

    def helpEvent(
        self,
        event: QHelpEvent,
        view: QAbstractItemView,
        option: QStyleOptionViewItem,
        index: ModelIndex,
    ) -> bool:
        if event.type() == QEvent.Type.ToolTip and index.data(Qt.ItemDataRole.ToolTipRole) is None:
            text = clipped_text(self, option, index)
            if text:
                QToolTip.showText(event.globalPos(), text, view, option.rect)
                return True
        return super().helpEvent(event, view, option, index)


def clipped_text(
    delegate: QStyledItemDelegate, option: QStyleOptionViewItem, index: ModelIndex
) -> str | None:
    """The cell's text if its column is too narrow to show it whole, else None."""
    text = index.data(Qt.ItemDataRole.DisplayRole)
    if not isinstance(text, str) or not text:
        return None
    item = QStyleOptionViewItem(option)
    delegate.initStyleOption(item, index)
    style = item.widget.style() if item.widget else QApplication.style()
    room = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, item, item.widget)
    margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, item.widget) + 1)
    return text if item.fontMetrics.horizontalAdvance(text) > room.width() - margin else None


class ProgressDelegate(WholeTextTip):
    """A progress bar for cells that carry PROGRESS_ROLE."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            return super().paint(painter, option, index)
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(
            QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
        )
        bar = QStyleOptionProgressBar()
        bar.rect = option.rect.adjusted(3, 4, -3, -4)
        bar.minimum, bar.maximum, bar.progress = 0, 100, int(value)
        bar.text = f"{int(value)} %"
        bar.textVisible = True
        bar.state = option.state | QStyle.StateFlag.State_Horizontal
        bar.palette = option.palette
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)
        return None


class StackedBarDelegate(WholeTextTip):
    """A run's deployments by state, as coloured segments with the cell's text over them."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: ModelIndex) -> None:
        counts = index.data(COUNTS_ROLE)
        if counts is None:
            return super().paint(painter, option, index)
        style = option.widget.style() if option.widget else QApplication.style()
        style.drawPrimitive(
            QStyle.PrimitiveElement.PE_PanelItemViewItem, option, painter, option.widget
        )
        text_width = option.fontMetrics.horizontalAdvance(index.data() or "") + 12
        cell = option.rect.adjusted(3, 5, -3, -5)
        area = cell.adjusted(0, 0, -text_width, 0)
        total = sum(counts.values())
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#e6e6e6"))
        painter.drawRect(area)
        x = area.left()
        for state in BAR_ORDER:
            number = counts.get(state, 0)
            if not number or not total:
                continue
            width = round(area.width() * number / total)
            painter.setBrush(STATE_COLOUR[state])
            painter.drawRect(QRect(x, area.top(), max(1, width), area.height()))
            x += width
        painter.setPen(
            QPen(
                option.palette.color(
                    option.palette.ColorRole.HighlightedText
                    if option.state & QStyle.StateFlag.State_Selected
                    else option.palette.ColorRole.Text
                )
            )
        )
        label = QRect(area.right() + 8, option.rect.top(), text_width, option.rect.height())
        painter.drawText(
            label, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, index.data() or ""
        )
        painter.restore()
        return None
