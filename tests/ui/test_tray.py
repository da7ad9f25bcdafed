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

from tests.ui.conftest import SCREENSHOTS

pytestmark = pytest.mark.slow


def _free_display() -> int:
    for number in range(90, 140):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            return number
    raise RuntimeError("no free X display number")


@pytest.fixture
def x_display():
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
    env = {**os.environ, "DISPLAY": display}
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    trayer = subprocess.Popen(
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
    try:
        yield env
    finally:
        for process in (trayer, xvfb):
            process.terminate()
            process.wait(timeout=10)


def test_rollout_completes_from_the_tray_with_every_window_closed(x_display, tmp_path):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    env = {
        **x_display,
        "QT_QPA_PLATFORM": "xcb",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.ui.tray_session",
            str(tmp_path / "tray.sqlite3"),
            str(SCREENSHOTS),
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
    assert any(text.endswith("deployment(s) running") for text in seen["menu"])
    assert seen["tooltip"].startswith("App Updater — ")
    [(run, succeeded, failed)] = seen["completed"]
    assert run == seen["run"] and succeeded + failed == seen["devices"] and failed == 0
    assert seen["windows_visible"] == []
