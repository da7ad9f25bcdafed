"""The built artefacts: `python -m build` makes an sdist and a wheel that carry the resources;
the wheel installs into a fresh virtual environment outside the checkout, where `appupdater
--version`, `appupdater --self-test`, the agent and the desktop install all work."""

from __future__ import annotations

import email
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

from appupdater import __version__
from appupdater.desktop import DESKTOP_ID, ICON_SIZES

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_every_package_of_the_source_is_listed_for_the_build():
    found = {
        ".".join(path.parent.relative_to(ROOT).parts)
        for path in (ROOT / "appupdater").rglob("__init__.py")
    }
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    assert listed == found | {"appupdater.resources"}


def test_the_hicolor_pngs_are_what_the_svg_renders(qapp):
    """packaging/render_icons.py made them from resources/icons/appupdater.svg and nobody
    changed one without the other (compared by pixel, not by PNG bytes)."""
    from PySide6.QtGui import QImage

    sys.path.insert(0, str(ROOT / "packaging"))
    try:
        import render_icons
    finally:
        sys.path.remove(str(ROOT / "packaging"))
    svg = ROOT / "resources" / "icons" / "appupdater.svg"
    for size, path in render_icons.targets(ROOT / "resources").items():
        stored = QImage(str(path))
        fresh = QImage.fromData(render_icons.render(svg, size))
        assert stored.size() == fresh.size() and stored.width() == size, path
        stored = bytes(stored.convertToFormat(QImage.Format.Format_ARGB32).constBits())
        fresh = bytes(fresh.convertToFormat(QImage.Format.Format_ARGB32).constBits())
        # one byte per channel: allow a little rounding between Qt versions
        differing = sum(1 for a, b in zip(stored, fresh, strict=True) if abs(a - b) > 8)
        assert differing <= len(stored) // 100, f"{path} is stale: run packaging/render_icons.py"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sdist and the wheel, built as a release would be (the wheel from the sdist)."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return sdist, wheel


RESOURCES = [
    f"appupdater/resources/desktop/{DESKTOP_ID}.desktop",
    "appupdater/resources/icons/appupdater.svg",
    "appupdater/resources/icons/tray-working.svg",
    *(f"appupdater/resources/hicolor/{s}x{s}/apps/{DESKTOP_ID}.png" for s in ICON_SIZES),
]


@pytest.mark.slow
@pytest.mark.integration
def test_the_wheel_carries_the_resources_and_complete_metadata(built):
    sdist, wheel = built
    assert wheel.name == f"appupdater-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = f"appupdater-{__version__}.dist-info"
        metadata = email.message_from_string(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert set(RESOURCES) <= names
    assert not any(n.startswith(("tests/", "bench/", "resources/")) for n in names)
    assert metadata["Name"] == "appupdater" and metadata["Version"] == __version__
    assert metadata["License-Expression"] == "MIT"
    assert f"{info}/licenses/packaging/LICENSE" in names
    assert metadata["Summary"] and metadata["Requires-Python"] == ">=3.11"
    assert "Intended Audience :: System Administrators" in metadata.get_all("Classifier")
    assert metadata.get_content_type() == "text/markdown" or (
        metadata["Description-Content-Type"] == "text/markdown"
    )
    assert metadata.get_payload().startswith("# App Updater")  # the README
    assert "appupdater = appupdater.cli:main" in entry_points
    assert "appupdater-agent = appupdater.agent.server:main" in entry_points

    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "packaging/LICENSE"} <= members
    assert f"resources/desktop/{DESKTOP_ID}.desktop" in members


@pytest.mark.slow
@pytest.mark.integration
def test_the_wheel_runs_from_a_fresh_venv_outside_the_checkout(built, tmp_path):
    _, wheel = built
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    # pip's cache and the machine's index settings, so the dependencies come as they did for
    # the test environment itself
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CACHE_DIR"):
        if name in os.environ:
            env[name] = os.environ[name]
    env["PIP_CACHE_DIR"] = env.get("PIP_CACHE_DIR", str(Path.home() / ".cache" / "pip"))

    def run(*command, timeout=300):
        result = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
        )
        assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        return result.stdout

    run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), timeout=900)

    where = run(str(venv / "bin" / "python"), "-c", "import appupdater; print(appupdater.__file__)")
    assert Path(where.strip()).is_relative_to(venv), "imported from outside the venv"
    assert run("appupdater", "--version").strip() == f"appupdater {__version__}"
    report = run("appupdater", "--self-test", timeout=180)
    assert report.splitlines()[-1].startswith("self-test passed"), report
    assert f"resources: {venv}" in report
    assert "--token-file" in run("appupdater-agent", "--help")

    run("appupdater", "install-desktop")
    entry = tmp_path / "home" / ".local" / "share" / "applications" / f"{DESKTOP_ID}.desktop"
    assert f"Exec={venv / 'bin' / 'appupdater'}" in entry.read_text()
    if shutil.which("desktop-file-validate"):
        run("desktop-file-validate", str(entry))
