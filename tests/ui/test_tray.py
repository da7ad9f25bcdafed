"""The real system tray under Xvfb with trayer: close every window while a rollout runs; the
app stays in the tray, its menu tells what runs, and the rollout completes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def _free_display() -> int:
    for number in range(90, 140):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def xvfb():
    """A virtual X display, without a tray host yet: the environment to run on it."""
    missing = [tool for tool in ("Xvfb", "trayer") if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"needs {' and '.join(missing)} (Debian packages xvfb, trayer); .ci/run installs them"
        )
    number = _free_display()
    display = f":{number}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    try:
        yield {**os.environ, "DISPLAY": display}
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)


def start_trayer(env) -> subprocess.Popen:
    """A tray host (a panel with a notification area) on the display of `env`."""
    return subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "request",
            "--height",
            "32",
            "--SetDockType",
            "true",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def x_display(xvfb):
    """A virtual X display with a tray host."""
    trayer = start_trayer(xvfb)
    try:
        yield xvfb
    finally:
        trayer.terminate()
        trayer.wait(timeout=10)


def session_env(display: dict, tmp_path) -> dict:
    """A session process on the real X display, with settings and data of its own."""
    return {
        **display,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }


def test_rollout_completes_from_the_tray_with_every_window_closed(
    x_display, tmp_path, screenshots_dir
):
    env = session_env(x_display, tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.ui.tray_session",
            str(tmp_path / "tray.sqlite3"),
            str(screenshots_dir),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["tray_available"] and seen["tray_visible"], seen
    assert seen["window_visible_after_close"] is False
    assert seen["running_while_closed"] > 0, (
        "deployments were running while every window was closed"
    )
    assert seen["menu"][0] == "Open App Updater" and seen["menu"][-1] == "Quit"
    # the menu's counts and the tooltip come from one read of the database: they agree
    [status] = [text for text in seen["menu"] if text.startswith("Deployments: ")]
    assert seen["tooltip"].startswith("App Updater — ")
    assert status.removeprefix("Deployments: ") == seen["tooltip_with_menu"].removeprefix(
        "App Updater — "
    )
    [(run, succeeded, failed)] = seen["completed"]
    assert run == seen["run"] and succeeded + failed == seen["devices"] and failed == 0
    assert seen["windows_visible"] == []


def test_started_at_login_it_waits_for_the_panel_and_stays_in_the_tray(xvfb, tmp_path):
    """`appupdater --tray` from the login entry may start before the session's panel: no
    window then, the tray icon once a tray host appears."""
    env = session_env(xvfb, tmp_path)
    ready = tmp_path / "started"
    session = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.ui.login_session",
            str(tmp_path / "login.sqlite3"),
            str(ready),
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not ready.exists() and session.poll() is None:
        assert time.monotonic() < deadline, "the app did not start"
        time.sleep(0.05)
    trayer = start_trayer(xvfb)  # the panel comes up after the app
    try:
        out, err = session.communicate(timeout=90)
    finally:
        trayer.terminate()
        trayer.wait(timeout=10)
    assert session.returncode == 0, err[-3000:]
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["at_start"] == {"tray": False, "window": False}
    assert seen["later"] == {"tray": True, "window": False}, seen
