"""Starting on a database that is slow, gone or older: the database opens off the GUI thread,
a small window says where it connects and what went wrong; a shared database with an older
schema is migrated only after asking."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import Qt

from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo
from appupdater.store.models import db as proxy
from appupdater.store.tables import ALL_MODELS
from appupdater.ui.startup import Startup
from tests.ui.test_app import QuitRecorder

integration = pytest.mark.integration


@pytest.fixture
def hung_url(monkeypatch):
    """A server that accepts the connection and never says a word; libpq gives up after 1 s."""
    pytest.importorskip("psycopg2")
    monkeypatch.setenv("PGCONNECT_TIMEOUT", "1")
    with socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(8)
        yield f"postgresql://alice:s3cret@127.0.0.1:{hung.getsockname()[1]}/fleet"


def fits(widget) -> None:
    """Small enough for the smaller of the screens we design for (1024×700)."""
    size = widget.size()
    assert size.width() <= 1024 and size.height() <= 700, size


def stop_startup(startup: Startup) -> None:
    if startup.opener.worker is not None:
        startup.opener.worker.join(30)
    if startup.controller is not None:
        startup.controller.quitting = True
        startup.controller.window.close()
        startup.controller.shutdown()
    startup.window.close()
    startup.window.deleteLater()
    startup.deleteLater()
    close_database()
    proxy.initialize(None)


def test_a_hung_server_shows_a_window_at_once_and_says_why_it_gave_up(
    qtbot, qapp, hung_url, screenshot
):
    quitter = QuitRecorder(qapp)
    startup = Startup(quitter, hung_url)
    qtbot.addWidget(startup.window)
    startup.begin()
    window = startup.window
    assert window.isVisible()  # at once, while the connection hangs on another thread
    assert "Connecting to the database" in window.headline.text()
    assert "alice:***@127.0.0.1" in window.detail.text()
    assert "s3cret" not in window.detail.text()
    assert "gives up after 1 second without an answer" in window.detail.text()
    screenshot(window, "startup-connecting")
    fits(window)
    qtbot.waitUntil(lambda: window.retry_button.isVisible(), timeout=20_000)
    assert window.headline.text() == "App Updater cannot open the database"
    said = window.detail.text()
    assert "127.0.0.1" in said and "timeout" in said and "s3cret" not in said
    assert not window.bar.isVisible()
    screenshot(window, "startup-failed")
    fits(window)
    qtbot.mouseClick(window.retry_button, Qt.MouseButton.LeftButton)
    assert window.bar.isVisible() and "Connecting" in window.headline.text()
    qtbot.waitUntil(lambda: window.retry_button.isVisible(), timeout=20_000)
    qtbot.mouseClick(window.quit_button, Qt.MouseButton.LeftButton)
    assert quitter.calls == 1 and startup.code == 1
    assert startup.controller is None
    stop_startup(startup)


def test_quit_while_connecting_quits_at_once(qtbot, qapp, hung_url):
    quitter = QuitRecorder(qapp)
    startup = Startup(quitter, hung_url)
    qtbot.addWidget(startup.window)
    startup.begin()
    qtbot.mouseClick(startup.window.quit_button, Qt.MouseButton.LeftButton)
    assert quitter.calls == 1 and not startup.window.isVisible()
    assert startup.finish(0) == 1
    stop_startup(startup)


def test_a_local_file_opens_without_a_connecting_window(qtbot, qapp, db_path):
    startup = Startup(QuitRecorder(qapp), str(db_path))
    startup.begin()
    assert not startup.window.isVisible()
    qtbot.waitUntil(lambda: startup.controller is not None)
    window = startup.controller.window
    assert window.isVisible()
    qtbot.waitUntil(lambda: window.inventory is not None)
    assert schema_version(proxy.obj) == latest_version()
    stop_startup(startup)


@pytest.fixture
def pg_schema_5(pg_url):
    database = open_database(pg_url)
    Device.create(name="press-01")
    database.execute_sql("ALTER TABLE deployment DROP COLUMN claim")
    database.execute_sql("ALTER TABLE engine_instance DROP COLUMN beat")
    SchemaInfo.update(version=5).execute()
    close_database()
    yield pg_url
    open_database(pg_url, migrate=False).drop_tables(list(reversed(ALL_MODELS)), cascade=True)
    close_database()
    proxy.initialize(None)


@integration
def test_an_older_shared_schema_is_migrated_after_asking(qtbot, qapp, pg_schema_5, screenshot):
    startup = Startup(QuitRecorder(qapp), pg_schema_5)
    startup.begin()
    qtbot.waitUntil(lambda: startup.dialog is not None and startup.dialog.isVisible())
    dialog = startup.dialog
    said = " ".join(label.text() for label in dialog.findChildren(type(startup.window.detail)))
    assert f"from schema version 5 to {latest_version()}" in said
    assert "claim tokens and heartbeat counters" in said
    assert "Every other workstation and engine" in said
    port = pg_schema_5.split(":")[-1].split("/")[0]
    assert dialog.command.text() == (
        "pg_dump --format=custom --file=fleet-schema5.dump --host=127.0.0.1 "
        f"--port={port} --username=appupdater fleet"
    )
    assert dialog.quit_button.isDefault()
    screenshot(dialog, "startup-migration")
    fits(dialog)
    assert schema_version(open_database(pg_schema_5, migrate=False)) == 5  # nothing yet
    close_database()
    qtbot.mouseClick(dialog.migrate_button, Qt.MouseButton.LeftButton)
    assert dialog.busy.isVisible() and not dialog.migrate_button.isEnabled()
    qtbot.waitUntil(lambda: startup.controller is not None, timeout=30_000)
    assert startup.controller.window.isVisible() and not startup.window.isVisible()
    qtbot.waitUntil(lambda: startup.controller.window.inventory is not None)
    assert schema_version(proxy.obj) == latest_version()
    assert [d.name for d in startup.controller.window.inventory.devices] == ["press-01"]
    assert startup.controller.window.device_count.text() == "1 device"
    for width, height in ((1280, 800), (1024, 700)):
        startup.controller.window.resize(width, height)
        screenshot(startup.controller.window, f"startup-migrated-main-{width}")
    stop_startup(startup)


@integration
def test_quit_on_an_older_shared_schema_changes_nothing(qtbot, qapp, pg_schema_5):
    quitter = QuitRecorder(qapp)
    startup = Startup(quitter, pg_schema_5)
    startup.begin()
    qtbot.waitUntil(lambda: startup.dialog is not None and startup.dialog.isVisible())
    qtbot.keyClick(startup.dialog, Qt.Key.Key_Escape)
    assert quitter.calls == 1 and startup.controller is None
    stop_startup(startup)
    assert schema_version(open_database(pg_schema_5, migrate=False)) == 5
