"""Driving the real widgets as a person would: clicks on rows, checkboxes, buttons, editors."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QApplication,
    QMessageBox,
    QStyle,
    QStyleOptionViewItem,
    QToolBar,
    QWizard,
)

LEFT = Qt.MouseButton.LeftButton


def click_row(qtbot, view, row, column=0, modifier=Qt.KeyboardModifier.NoModifier):
    index = view.model().index(row, column)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), LEFT, modifier, view.visualRect(index).center())


def click_check(qtbot, view, row):
    """Click the check box drawn in column 0 of `row`."""
    index = view.model().index(row, 0)
    view.scrollTo(index)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(index)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    rect = view.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, view
    )
    qtbot.mouseClick(view.viewport(), LEFT, pos=rect.center())


def click_action(qtbot, window, action):
    """Click a toolbar action as a person does: once it is offered (a refresh that enables it
    may still be landing; clicking a disabled button does nothing)."""
    qtbot.waitUntil(action.isEnabled, timeout=10_000)
    toolbar = window.findChild(QToolBar)
    qtbot.mouseClick(toolbar.widgetForAction(action), LEFT)


def click_wizard(qtbot, wizard, which):
    button = wizard.button(which)
    assert button.isEnabled(), f"{button.text()} is disabled"
    qtbot.mouseClick(button, LEFT)


def next_page(qtbot, wizard):
    click_wizard(qtbot, wizard, QWizard.WizardButton.NextButton)


def open_editor(qtbot, view, row, column):
    """Click a cell to open its editor and return the editor widget."""
    index = view.model().index(row, column)
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), LEFT, pos=view.visualRect(index).center())
    qtbot.waitUntil(lambda: view.indexWidget(index) is not None)
    return view.indexWidget(index)


def choose_in_combo(qtbot, combo, text):
    """Open the combo's list with a click, walk to the entry that reads `text` with the arrow
    keys and take it with Return. (A click on the list right after it opened is ignored by
    QComboBox, which waits for a press-drag-release; keys are what a quick person uses.)"""
    qtbot.mouseClick(combo, LEFT)
    qtbot.waitUntil(combo.view().isVisible)
    choose_in_open_list(qtbot, combo, text)
    assert combo.currentText() == text


def choose_menu(qtbot, window, menu_title, action_text):
    """Click a menu's title in the window's menu bar, then the entry that reads `action_text`
    (ampersands ignored). A modal dialog the entry opens runs inside this call: answer it from
    a timer started before."""
    bar = window.menuBar()
    [menu_action] = [
        a for a in bar.actions() if a.text().replace("&", "") == menu_title.replace("&", "")
    ]
    menu = menu_action.menu()
    qtbot.mouseClick(bar, LEFT, pos=bar.actionGeometry(menu_action).center())
    qtbot.waitUntil(menu.isVisible)
    [action] = [
        a for a in menu.actions() if a.text().replace("&", "") == action_text.replace("&", "")
    ]
    assert action.isEnabled(), f"{action_text} is disabled"
    qtbot.mouseClick(menu, LEFT, pos=menu.actionGeometry(action).center())


def open_wizard(qtbot, window, *apps):
    """Select `apps` in the main window with clicks and open the Update wizard on them."""
    names = [a.name for a in window.apps_model.apps]
    for i, app in enumerate(apps):
        modifier = Qt.KeyboardModifier.ControlModifier if i else Qt.KeyboardModifier.NoModifier
        click_row(qtbot, window.apps_view, names.index(app), modifier=modifier)
    assert window.selected_applications() == sorted(apps)
    click_action(qtbot, window, window.update_action)
    wizard = window.wizard
    assert wizard is not None and wizard.isVisible()
    qtbot.waitUntil(lambda: wizard.state.plan is not None and wizard.devices_page.isComplete())
    return wizard


def approve(qtbot, wizard, message_boxes) -> int:
    """Click Approve Update, answer its question with OK; the id of the recorded run."""
    assert (
        wizard.button(QWizard.WizardButton.FinishButton).text().replace("&", "") == "Approve Update"
    )
    message_boxes.answer(QMessageBox.StandardButton.Ok)
    with qtbot.waitSignal(wizard.run_created, timeout=10_000) as signal:
        click_wizard(qtbot, wizard, QWizard.WizardButton.FinishButton)
    qtbot.waitUntil(lambda: not wizard.isVisible())
    return signal.args[0]


def open_action_list(qtbot, view, row, column):
    """Click a cell once; its combo box editor opens with its list shown. The combo."""
    combo = open_editor(qtbot, view, row, column)
    qtbot.waitUntil(combo.view().isVisible)
    return combo


def choose_in_open_list(qtbot, combo, text):
    """In a combo whose list is open, walk to the entry that reads `text` and take it with
    Return (see choose_in_combo)."""
    popup = combo.view()
    assert popup.isVisible(), "the list is not open"
    row = combo.findText(text)
    assert row >= 0, f"{text!r} not in the list"
    step = Qt.Key.Key_Down if row > combo.currentIndex() else Qt.Key.Key_Up
    for _ in range(abs(row - combo.currentIndex())):
        qtbot.keyClick(popup, step)
    # The popup's container takes Return in an event filter without accepting the event, so
    # QTest would warn; deliver it the way the window system does instead.
    QApplication.sendEvent(
        popup, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
    )
    qtbot.waitUntil(lambda: not popup.isVisible())


def choose_action(qtbot, view, row, column, text):
    """Open a row's action list with one click and take the entry that reads `text`."""
    combo = open_action_list(qtbot, view, row, column)
    choose_in_open_list(qtbot, combo, text)
    qtbot.waitUntil(lambda: view.indexWidget(view.model().index(row, column)) is None)


def grab_with_popup(window, popup):
    """The window as shown with an open popup (a separate window) painted over it."""
    image = window.grab()
    if popup is not None and popup.isVisible():
        painter = QPainter(image)
        top_left = window.mapFromGlobal(popup.window().mapToGlobal(popup.window().rect().topLeft()))
        painter.drawPixmap(top_left, popup.window().grab())
        painter.end()
    return image
