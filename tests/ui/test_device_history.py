"""Devices → History… and a double-click on a device: its configuration revisions newest first,
what each changed module by module, the deployments that pushed it, an empty state for a new
device, and Revert to this revision through the update wizard to an approved run."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QWizard

from appupdater.core.config_history import device_history
from appupdater.core.planning import Selection, plan_update
from appupdater.core.rollback import plan_rollback
from appupdater.core.runs import CONFIG_ONLY, apply_configuration, create_run
from appupdater.store.fields import utcnow
from appupdater.store.models import Deployment, DeploymentState, Device, UpdateRun
from appupdater.ui.device_history import DeviceHistoryDialog
from appupdater.ui.timefmt import local_text
from tests.helpers import devices_yaml, load_yaml
from tests.ui.conftest import shots_folder
from tests.ui.drive import LEFT, approve, choose_menu, click_row

SHOTS = shots_folder("histui")


@pytest.fixture
def three_revisions(demo_fleet):
    """hist-01: imported with line-monitor 1.0.0 (revision 1), updated to 1.2.0 by a run that
    deploys (revision 2), then that run rolled back (revision 3, back at 1.0.0). The run ids."""
    load_yaml(
        devices_yaml(
            "{name: hist-01, site: Lab, applications: "
            "{line-monitor: {configured: '1.0.0', installed: '1.0.0'}}}"
        ),
        "fleet.yaml",
    )
    device = Device.get(Device.name == "hist-01").id
    run_id = create_run(
        plan_update([Selection("line-monitor", "1.2.0")]), approved_by="alice", devices=[device]
    )
    apply_configuration(run_id)
    rollback = create_run(plan_rollback(run_id), approved_by="bob", default=CONFIG_ONLY)
    apply_configuration(rollback)
    return run_id, rollback


def _device_row(window, name):
    model = window.devices_model
    return next(row for row, i in enumerate(model.rows) if model.devices[i].name == name)


def _open_by_double_click(qtbot, window, name) -> DeviceHistoryDialog:
    view = window.devices_view
    row = _device_row(window, name)
    click_row(qtbot, view, row)
    index = view.model().index(row, 0)
    qtbot.mouseDClick(view.viewport(), LEFT, pos=view.visualRect(index).center())
    return _dialog(qtbot, window, name)


def _dialog(qtbot, window, name) -> DeviceHistoryDialog:
    found: list[DeviceHistoryDialog] = []

    def shown():
        found[:] = [d for d in window.findChildren(DeviceHistoryDialog) if d.isVisible()]
        return bool(found)

    qtbot.waitUntil(shown)
    dialog = found[0]
    assert dialog.windowTitle() == f"History of {name}"
    assert not dialog.isModal()
    qtbot.waitUntil(lambda: dialog._reading is None and dialog.summary.text().startswith("<b>"))
    return dialog


def _cells(model, row_count=None):
    rows = model.rowCount() if row_count is None else row_count
    return [
        tuple(model.index(r, c).data() for c in range(model.columnCount())) for r in range(rows)
    ]


def _tree(model):
    """The changes tree as (application row, [module rows])."""
    found = []
    for r in range(model.rowCount()):
        app = model.index(r, 0)
        modules = [
            tuple(model.index(m, c, app).data() for c in range(model.columnCount()))
            for m in range(model.rowCount(app))
        ]
        found.append((tuple(model.index(r, c).data() for c in range(4)), modules))
    return found


def _select_revision(qtbot, dialog, number):
    row = [r.number for r in dialog.revisions_model.items].index(number)
    click_row(qtbot, dialog.revisions_view, row)
    assert dialog.selected_revision().number == number


def test_double_click_lists_the_revisions_newest_first_with_diffs_and_deployments(
    qtbot, three_revisions, main_window, screenshot
):
    run_id, _ = three_revisions
    dialog = _open_by_double_click(qtbot, main_window, "hist-01")
    history = device_history(Device.get(Device.name == "hist-01").id)
    assert _cells(dialog.revisions_model) == [
        ("3 (current)", local_text(history[0].at), "bob", f"rollback of run #{run_id}"),
        ("2", local_text(history[1].at), "alice", f"run #{run_id}"),
        ("1", local_text(history[2].at), history[2].by, "import of fleet.yaml"),
    ]
    # the current revision is selected first, marked, and cannot be reverted to
    assert dialog.selected_revision().number == 3
    assert "the current configuration" in dialog.details.heading.text()
    assert not dialog.revert_button.isEnabled()
    assert _tree(dialog.details.changes_model) == [
        (
            ("line-monitor", "", "1.2.0", "1.0.0"),
            [
                ("alerts", "Removed", "0.1.0", "—"),
                ("collector", "Modified", "1.1.3", "1.0.0"),
                ("dashboard", "Modified", "1.0.0", "0.9.2"),
            ],
        )
    ]
    assert dialog.details.changes_box.title() == "Changes from revision 2"
    assert dialog.details.no_deployments.isVisible()  # the rollback only configured

    _select_revision(qtbot, dialog, 2)
    assert dialog.revert_button.isEnabled()
    assert _cells(dialog.details.configured_model) == [("line-monitor", "1.2.0")]
    assert _tree(dialog.details.changes_model) == [
        (
            ("line-monitor", "", "1.0.0", "1.2.0"),
            [
                ("alerts", "Added", "—", "0.1.0"),
                ("collector", "Modified", "1.0.0", "1.1.3"),
                ("dashboard", "Modified", "0.9.2", "1.0.0"),
            ],
        )
    ]
    assert dialog.details.deployments_view.isVisible()
    [deployment] = _cells(dialog.details.deployments_model)
    assert deployment[1:3] == (f"#{run_id}", history[1].deployments[0].state.value)
    screenshot(dialog, "device-history")
    for width, height in ((1280, 800), (1024, 700)):
        dialog.resize(width, height)
        QApplication.processEvents()
        assert dialog.grab().save(f"{SHOTS}/history-run-{width}x{height}.png")

    _select_revision(qtbot, dialog, 1)
    assert dialog.details.changes_box.title() == "Changes: everything its first revision configures"
    assert [row[0][0] for row in _tree(dialog.details.changes_model)] == ["line-monitor"]
    assert "import of fleet.yaml" in dialog.details.no_deployments.text()
    dialog.close()


def test_history_menu_follows_the_selection_and_the_dialog_remembers_its_size(
    qtbot, three_revisions, main_window
):
    action = main_window.findChild(type(main_window.connection_action), "device-history-action")
    main_window.devices_view.clearSelection()
    assert not action.isEnabled()
    click_row(qtbot, main_window.devices_view, _device_row(main_window, "hist-01"))
    assert action.isEnabled()
    choose_menu(qtbot, main_window, "Devices", "History…")
    dialog = _dialog(qtbot, main_window, "hist-01")
    # asked again for the same device: the open dialog comes forward, no second one
    choose_menu(qtbot, main_window, "Devices", "History…")
    assert len([d for d in main_window.findChildren(DeviceHistoryDialog) if d.isVisible()]) == 1
    dialog.resize(720, 520)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert QSettings().value("device-history/geometry") is not None
    choose_menu(qtbot, main_window, "Devices", "History…")
    again = _dialog(qtbot, main_window, "hist-01")
    assert (again.width(), again.height()) == (720, 520)
    again.close()


def test_refresh_shows_a_revision_made_while_open(qtbot, three_revisions, main_window):
    _, rollback = three_revisions
    dialog = _open_by_double_click(qtbot, main_window, "hist-01")
    again = create_run(plan_rollback(rollback), approved_by="carol", default=CONFIG_ONLY)
    apply_configuration(again)
    qtbot.mouseClick(dialog.refresh_button, LEFT)
    qtbot.waitUntil(lambda: dialog.revisions_model.rowCount() == 4)
    assert dialog.revisions_model.index(0, 0).data() == "4 (current)"
    assert dialog.revisions_model.index(0, 3).data() == f"rollback of run #{rollback}"
    dialog.close()


def test_a_new_device_without_revisions_says_so(qtbot, demo_fleet, main_window):
    Device.create(name="brand-new-01", site="Lab")  # nothing has configured it yet
    assert device_history(Device.get(Device.name == "brand-new-01").id) == []
    main_window.refresh()
    qtbot.waitUntil(
        lambda: any(d.name == "brand-new-01" for d in main_window.devices_model.devices)
    )
    dialog = _open_by_double_click(qtbot, main_window, "brand-new-01")
    assert dialog.pages.currentWidget() is dialog.empty
    assert "No configuration revisions yet" in dialog.empty.text()
    assert "has no configuration revisions" in dialog.summary.text()
    assert not dialog.revert_button.isEnabled()
    for width, height in ((1280, 800), (1024, 700)):
        dialog.resize(width, height)
        QApplication.processEvents()
        assert dialog.grab().save(f"{SHOTS}/history-empty-{width}x{height}.png")
    dialog.close()


def test_revert_to_a_revision_through_the_wizard(
    qtbot, three_revisions, main_window, message_boxes
):
    device = Device.get(Device.name == "hist-01").id
    dialog = _open_by_double_click(qtbot, main_window, "hist-01")
    _select_revision(qtbot, dialog, 2)
    qtbot.mouseClick(dialog.revert_button, LEFT)
    qtbot.waitUntil(lambda: main_window.wizard is not None and main_window.wizard.isVisible())
    wizard = main_window.wizard
    assert wizard.windowTitle() == "Revert hist-01 to revision 2"
    assert wizard.currentPage() is wizard.deployment_page
    assert wizard.state.selected == {device}
    assert [t.to_version.text for t in wizard.state.plan.targets] == ["1.2.0"]
    qtbot.mouseClick(wizard.button(QWizard.WizardButton.NextButton), LEFT)
    new_run = approve(qtbot, wizard, message_boxes)
    assert UpdateRun.get_by_id(new_run).reason == "revert to revision 2"
    apply_configuration(new_run)  # a no-op when approving configured it already
    newest = device_history(device)[0]
    assert (newest.number, newest.reason, newest.run_id) == (4, "revert to revision 2", new_run)
    assert newest.configured == {"line-monitor": "1.2.0"}
    # the dialog reads again once the fleet reloads: the revert is the current revision
    qtbot.waitUntil(lambda: dialog.revisions_model.rowCount() == 4, timeout=10_000)
    assert dialog.revisions_model.index(0, 0).data() == "4 (current)"
    dialog.close()


def test_revert_that_changes_nothing_says_why(qtbot, three_revisions, main_window, message_boxes):
    dialog = _open_by_double_click(qtbot, main_window, "hist-01")
    _select_revision(qtbot, dialog, 1)  # 1.0.0, as the current revision 3
    message_boxes.answer()
    qtbot.mouseClick(dialog.revert_button, LEFT)
    qtbot.waitUntil(lambda: bool(message_boxes.seen))
    assert "hist-01" in message_boxes.seen[0] and "revision 1" in message_boxes.seen[0]
    assert main_window.wizard is None
    qtbot.waitUntil(dialog.revert_button.isEnabled)
    dialog.close()


def test_deployments_under_way_are_followed_until_they_end(
    qtbot, monkeypatch, three_revisions, main_window
):
    run_id, _ = three_revisions
    monkeypatch.setattr(DeviceHistoryDialog, "POLL_MS", 50)
    dialog = _open_by_double_click(qtbot, main_window, "hist-01")
    _select_revision(qtbot, dialog, 2)
    assert dialog.details.deployments_model.index(0, 2).data() == "queued"
    assert dialog.poll.isActive()
    Deployment.update(
        state=DeploymentState.SUCCEEDED,
        finished_at=utcnow(),
        last_message="line-monitor 1.2.0 runs",
    ).where(Deployment.run == run_id).execute()
    qtbot.waitUntil(lambda: dialog.details.deployments_model.index(0, 2).data() == "succeeded")
    assert dialog.details.deployments_model.index(0, 4).data() == "line-monitor 1.2.0 runs"
    qtbot.waitUntil(lambda: not dialog.poll.isActive())  # nothing left to follow
    dialog.close()
    with qtbot.waitSignal(main_window.loaded, timeout=10_000):
        main_window.refresh()  # a closed dialog no longer follows the fleet's loads
