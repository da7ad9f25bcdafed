"""File → Settings…: the team's default rollout strategy, chosen as a person would, stored in the
database for every workstation on it, refused in words when it cannot be read or written."""

from __future__ import annotations

import getpass
import sqlite3
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialogButtonBox
from shiboken6 import isValid

from appupdater.core.team_settings import default_strategy, last_changed, set_default_strategy
from appupdater.core.waves import REST, Strategy, WaveSize, parse_waves
from appupdater.store.models import db as db_proxy
from appupdater.ui.main_window import MainWindow
from appupdater.ui.settings_dialog import SettingsDialog, changed_text
from appupdater.ui.wizard.deployment_model import WAVE_COLUMN
from tests.ui.drive import LEFT, choose_menu, next_page, open_wizard

ONE_TEN_REST = (WaveSize(count=1), WaveSize(percent=10), REST)


def open_settings_dialog(qtbot, window) -> SettingsDialog:
    """File → Settings… with clicks; the dialog it opens."""
    choose_menu(qtbot, window, "File", "Settings…")
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(SettingsDialog)))
    [dialog] = [d for d in window.findChildren(SettingsDialog) if d.isVisible()]
    return dialog


def closed(dialog) -> bool:
    """Whether the dialog closed (it is deleted when it does)."""
    return not isValid(dialog) or not dialog.isVisible()


def type_into(qtbot, spin, text):
    spin.selectAll()
    qtbot.keyClicks(spin, text)


def click_ok(qtbot, dialog):
    qtbot.mouseClick(dialog.ok, LEFT)


def test_in_waves_ok_stores_the_default_and_the_wizard_starts_from_it(
    qtbot, main_window, screenshot
):
    dialog = open_settings_dialog(qtbot, main_window)
    assert dialog.windowTitle() == "Settings"
    box = dialog.strategy_box
    assert box.all_at_once.isChecked() and not box.rest.isVisible()
    assert "Not changed yet" in dialog.changed.text()
    qtbot.mouseClick(box.in_waves, LEFT)
    # the common case is the fields as they stand: a canary of 1, then 10 %, then the rest
    type_into(qtbot, box.soak, "15")
    type_into(qtbot, box.limit, "5")
    assert "For 100 devices: 3 waves: 1, 10 and 89 devices" in box.preview.text()
    shots(qtbot, screenshot, dialog, "settings-dialog-waves")
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert default_strategy() == Strategy(ONE_TEN_REST, 15, 5)
    assert last_changed().by == getpass.getuser()

    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    box = page.strategy_box
    assert box.in_waves.isChecked()
    assert (box.soak.value(), box.limit.value()) == (15, 5)
    assert not page.view.isColumnHidden(WAVE_COLUMN)
    assert page.model.index(0, WAVE_COLUMN).data() == "1 (canary)"
    assert wizard.state.strategy == Strategy(ONE_TEN_REST, 15, 5)
    assert box.title() == "Rollout — the team's default"
    shots(qtbot, screenshot, wizard, "wizard-deployment-from-default")
    # the administrator can still choose otherwise for this run
    qtbot.mouseClick(box.all_at_once, LEFT)
    assert page.view.isColumnHidden(WAVE_COLUMN) and wizard.state.strategy is None
    assert box.title() == "Rollout"
    qtbot.mouseClick(box.in_waves, LEFT)
    assert box.title() == "Rollout — the team's default"
    # the default untouched is no choice of theirs: Cancel closes without asking
    qtbot.mouseClick(wizard.button(wizard.WizardButton.CancelButton), LEFT)
    qtbot.waitUntil(lambda: not wizard.isVisible())


def shots(qtbot, screenshot, widget, name):
    """A dialog at its natural size; a big window at 1280×800 and 1024×700."""
    if isinstance(widget, SettingsDialog):
        widget.adjustSize()
        screenshot(widget, name)
        return
    for width, height in ((1280, 800), (1024, 700)):
        widget.resize(width, height)
        qtbot.waitUntil(lambda w=width: widget.width() == w)
        screenshot(widget, f"{name}-{width}x{height}")


def test_custom_sizes_reach_the_wizard_as_the_command_line_writes_them(qtbot, main_window):
    dialog = open_settings_dialog(qtbot, main_window)
    box = dialog.strategy_box
    qtbot.mouseClick(box.in_waves, LEFT)
    qtbot.mouseClick(box.custom, LEFT)
    assert box.spec.text() == "1,10%,rest"  # starts from what the fields said
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "1,10%,50%,rest")
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert default_strategy() == Strategy(parse_waves("1,10%,50%,rest"))

    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    box = wizard.deployment_page.strategy_box
    assert box.custom.isChecked() and box.spec.text() == "1,10%,50%,rest"
    assert "4 waves" in box.preview.text()
    wizard.reject()


def test_sizes_that_do_not_parse_are_refused_next_to_the_field(qtbot, main_window, screenshot):
    dialog = open_settings_dialog(qtbot, main_window)
    box = dialog.strategy_box
    qtbot.mouseClick(box.in_waves, LEFT)
    qtbot.mouseClick(box.custom, LEFT)
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "1,ten,rest")
    assert box.spec_error.isVisible()
    assert "'ten' is not a number of devices" in box.spec_error.text()
    assert not dialog.ok.isEnabled()
    shots(qtbot, screenshot, dialog, "settings-dialog-bad-sizes")
    qtbot.keyClick(box.spec, Qt.Key.Key_Return)
    assert dialog.isVisible() and last_changed() is None
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "rest,1")
    assert "only the last wave can be 'the rest'" in box.spec_error.text()
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "2,rest")
    assert not box.spec_error.isVisible() and dialog.ok.isEnabled()
    dialog.reject()


def test_the_wizard_refuses_custom_sizes_it_cannot_read(qtbot, main_window):
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    page = wizard.deployment_page
    box = page.strategy_box
    qtbot.mouseClick(box.in_waves, LEFT)
    qtbot.mouseClick(box.custom, LEFT)
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "1,0,rest")
    assert "wave 2: a wave needs at least 1 device" in box.spec_error.text()
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
    box.spec.selectAll()
    qtbot.keyClicks(box.spec, "1,2,rest")
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()
    assert page.model.index(1, WAVE_COLUMN).data() == "2"
    wizard.reject()


def test_restore_defaults_is_all_at_once(qtbot, main_window, screenshot):
    set_default_strategy(
        Strategy(ONE_TEN_REST, 15, 5), by="alice", now=datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    )
    dialog = open_settings_dialog(qtbot, main_window)
    box = dialog.strategy_box
    # Europe/Berlin in the tests: 08:30 UTC is 09:30 there
    assert dialog.changed.text() == (
        "Shared by everyone using this database. Last changed by alice on 28 Nov 2026 09:30."
    )
    assert box.in_waves.isChecked() and box.soak.value() == 15
    shots(qtbot, screenshot, dialog, "settings-dialog-last-changed")
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults), LEFT)
    assert box.all_at_once.isChecked()
    assert (box.soak.value(), box.limit.value()) == (0, 10)
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert default_strategy() is None
    assert last_changed().by == getpass.getuser()

    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    assert wizard.deployment_page.strategy_box.all_at_once.isChecked()
    assert wizard.deployment_page.view.isColumnHidden(WAVE_COLUMN)
    wizard.reject()


@pytest.fixture
def locked(db_path):
    """Another program holding the database's write lock (and a short wait for it)."""
    db_proxy.obj.pragma("busy_timeout", 50, permanent=True)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield other
    other.close()


def test_a_locked_database_is_named_and_the_dialog_keeps_the_input(
    qtbot, main_window, locked, db_path
):
    dialog = open_settings_dialog(qtbot, main_window)
    box = dialog.strategy_box
    qtbot.mouseClick(box.in_waves, LEFT)
    type_into(qtbot, box.soak, "20")
    click_ok(qtbot, dialog)
    # while it tries, Cancel cannot pretend nothing changed: it is off, Esc does not close
    assert not dialog.cancel.isEnabled()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.isVisible()
    qtbot.waitUntil(dialog.problem.isVisible, timeout=10_000)
    assert dialog.cancel.isEnabled()
    assert "not saved" in dialog.problem.text()
    assert str(db_path) in dialog.problem.text() and "locked" in dialog.problem.text()
    assert dialog.isVisible() and box.in_waves.isChecked() and box.soak.value() == 20
    assert dialog.ok.isEnabled()
    locked.execute("ROLLBACK")  # the other program finished
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))
    assert default_strategy() == Strategy(ONE_TEN_REST, 20, 10)


def test_two_workstations_on_one_database_see_the_same_default(qtbot, main_window, engine):
    other = MainWindow(engine)
    qtbot.addWidget(other)
    other.show()
    qtbot.waitUntil(lambda: other.inventory is not None)
    dialog = open_settings_dialog(qtbot, main_window)
    qtbot.mouseClick(dialog.strategy_box.in_waves, LEFT)
    click_ok(qtbot, dialog)
    qtbot.waitUntil(lambda: closed(dialog))

    seen = open_settings_dialog(qtbot, other)
    assert seen.strategy_box.in_waves.isChecked()
    assert seen.changed.text() == changed_text(last_changed())
    assert f"by {getpass.getuser()}" in seen.changed.text()
    seen.reject()
    wizard = open_wizard(qtbot, other, "line-monitor")
    next_page(qtbot, wizard)
    assert wizard.state.strategy == Strategy(ONE_TEN_REST)
    wizard.reject()
    other.close()
    QApplication.processEvents()


def test_cancel_asks_about_a_strategy_other_than_the_default(qtbot, main_window, message_boxes):
    set_default_strategy(Strategy(ONE_TEN_REST), by="alice")
    wizard = open_wizard(qtbot, main_window, "line-monitor")
    next_page(qtbot, wizard)
    qtbot.mouseClick(wizard.deployment_page.strategy_box.all_at_once, LEFT)
    message_boxes.answer(text="&Discard choices")
    qtbot.mouseClick(wizard.button(wizard.WizardButton.CancelButton), LEFT)
    qtbot.waitUntil(lambda: not wizard.isVisible())
    assert "You chose a rollout all at once." in message_boxes.seen[-1]
