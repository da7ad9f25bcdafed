"""Engine settings out of range are refused in words that name the option: a `--stale-after`
shorter than three heartbeats would let engines take over each other's running deployments."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from appupdater.engine.settings import EngineSettings, SettingsError
from appupdater.errors import AppUpdaterError


@pytest.mark.parametrize("seconds", [0.1, 0, -1, 1.49])
def test_a_stale_after_shorter_than_three_heartbeats_is_refused(seconds):
    with pytest.raises(SettingsError, match=r"^--stale-after must be at least 1\.5 seconds"):
        EngineSettings(stale_after=timedelta(seconds=seconds))


def test_the_least_stale_after_follows_the_tick():
    EngineSettings(stale_after=timedelta(seconds=1.5))
    EngineSettings(tick_ms=40, stale_after=timedelta(seconds=0.12))
    with pytest.raises(SettingsError, match=r"at least 3 seconds \(3 heartbeats of 1 s\)"):
        EngineSettings(tick_ms=1000, stale_after=timedelta(seconds=2))


@pytest.mark.parametrize("seconds", [0, -1, 0.05])
def test_a_backoff_below_a_tenth_of_a_second_is_refused(seconds):
    with pytest.raises(SettingsError, match=r"^--backoff must be at least 0\.1 seconds"):
        EngineSettings(backoff=timedelta(seconds=seconds))


def test_a_settings_error_is_an_error_the_command_line_prints_in_one_line():
    assert issubclass(SettingsError, AppUpdaterError) and issubclass(SettingsError, ValueError)


@pytest.mark.parametrize(
    ("option", "value"),
    [("--stale-after", "0.1"), ("--stale-after", "-1"), ("--backoff", "0"), ("--backoff", "-1")],
)
def test_the_engine_command_refuses_them_in_one_line(tmp_path, option, value):
    result = subprocess.run(
        [
            *(sys.executable, "-m", "appupdater"),
            *("--database", str(tmp_path / "fleet.sqlite3"), "engine", option, value),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(f"appupdater: {option} must be at least")
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "fleet.sqlite3").exists(), "refused before the database is opened"


def test_concurrency_takes_thousands_and_refuses_what_no_machine_runs():
    assert EngineSettings(concurrency=2000).concurrency == 2000
    assert EngineSettings().concurrency == 64  # the documented default
    with pytest.raises(SettingsError, match=r"^--concurrency must be between 1 and 5,000, not 0$"):
        EngineSettings(concurrency=0)
