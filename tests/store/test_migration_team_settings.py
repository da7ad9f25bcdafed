"""Schema 9: a database of schema 8 gains the table of settings a team shares, rows intact."""

from __future__ import annotations

from appupdater.core.team_settings import default_strategy, set_default_strategy
from appupdater.core.waves import Strategy, parse_waves
from appupdater.store.db import close_database, open_database
from appupdater.store.migrations import latest_version, schema_version
from appupdater.store.models import Device, SchemaInfo


def test_schema_8_gains_team_settings(db, db_path):
    Device.create(name="press-01")
    db.execute_sql("DROP TABLE team_setting")
    SchemaInfo.update(version=8).execute()
    close_database()
    database = open_database(str(db_path))
    assert schema_version(database) == latest_version() >= 9
    assert "team_setting" in database.get_tables()
    assert [d.name for d in Device.select()] == ["press-01"]
    assert default_strategy() is None
    set_default_strategy(Strategy(parse_waves("1,rest")), by="alice")
    assert default_strategy() == Strategy(parse_waves("1,rest"))
