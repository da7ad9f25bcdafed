"""Desktop integration: the menu entry, icons and login entry written for the current user,
their Exec lines, and what a failure leaves behind."""

from __future__ import annotations

import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from appupdater import __version__, desktop
from appupdater.cli import main
from appupdater.errors import DesktopError

ROOT = Path(__file__).resolve().parents[1]


def validate(path: Path) -> None:
    """desktop-file-validate (Debian's desktop-file-utils; .ci/run installs it) finds no error
    and no warning."""
    if shutil.which("desktop-file-validate") is None:
        pytest.skip("needs desktop-file-validate (Debian package desktop-file-utils)")
    result = subprocess.run(
        ["desktop-file-validate", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def entry_values(path: Path) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def test_the_template_is_a_valid_desktop_entry_named_by_the_application_id():
    template = desktop.template_path()
    assert template.name == f"{desktop.DESKTOP_ID}.desktop"
    assert template.is_relative_to(ROOT / "resources")
    validate(template)
    values = entry_values(template)
    assert values["Icon"] == desktop.DESKTOP_ID
    assert values["Name"] == "App Updater" and values["Terminal"] == "false"


def test_hicolor_icons_exist_in_every_size_with_the_size_their_folder_says():
    for installed, source in desktop.icon_paths().items():
        assert source.is_file(), source
        if source.suffix == ".png":
            size = int(source.parts[-3].split("x")[0])
            assert png_size(source) == (size, size), source
            assert installed.parts[-3] == source.parts[-3]
    sizes = {p.parts[-3] for p in desktop.icon_paths()}
    assert {"16x16", "48x48", "256x256", "scalable"} <= sizes


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["/opt/AppUpdater/appupdater"], "/opt/AppUpdater/appupdater"),
        (["/home/a b/venv/bin/appupdater", "--tray"], '"/home/a b/venv/bin/appupdater" --tray'),
        (["/srv/100%/appupdater"], "/srv/100%%/appupdater"),
        (["/x/$HOME/app"], '"/x/\\\\$HOME/app"'),
        (["/x/back\\slash"], '"/x/back\\\\\\\\slash"'),
        (["/usr/bin/python3", "-m", "appupdater"], "/usr/bin/python3 -m appupdater"),
    ],
)
def test_exec_values_quote_what_the_specification_reserves(argv, value):
    assert desktop.exec_value(argv) == value


def test_install_writes_the_menu_entry_and_icons_for_this_user(tmp_path):
    argv = [str(tmp_path / "my apps" / "appupdater")]
    installed = desktop.install(argv)

    entry = tmp_path / "xdg-data" / "applications" / f"{desktop.DESKTOP_ID}.desktop"
    assert installed.entry == entry and installed.autostart is None
    values = entry_values(entry)
    assert values["Exec"] == f'"{argv[0]}"' and values["TryExec"] == argv[0]
    validate(entry)
    for target, source in desktop.icon_paths().items():
        assert target.is_relative_to(tmp_path / "xdg-data" / "icons" / "hicolor")
        assert target.read_bytes() == source.read_bytes()
    assert len(installed.icons) == len(desktop.ICON_SIZES) + 1
    assert not desktop.autostart_path().exists()

    removed = desktop.uninstall()
    assert set(removed) == {entry, *installed.icons}
    assert not entry.exists() and desktop.uninstall() == []


def test_the_login_entry_starts_in_the_tray_and_the_setting_reads_it_back(tmp_path):
    assert desktop.autostart_enabled() is False
    path = desktop.set_autostart(True, ["/opt/AppUpdater/appupdater"])

    assert path == tmp_path / "xdg-config" / "autostart" / f"{desktop.DESKTOP_ID}.desktop"
    values = entry_values(path)
    assert values["Exec"] == "/opt/AppUpdater/appupdater --tray"
    assert values["X-GNOME-Autostart-enabled"] == "true"
    validate(path)
    assert desktop.autostart_enabled() is True

    # a session's settings tool may disable the entry instead of removing it
    path.write_text(path.read_text() + "Hidden=true\n")
    assert desktop.autostart_enabled() is False
    desktop.set_autostart(False)
    assert not path.exists() and desktop.autostart_enabled() is False


def test_a_failed_install_names_the_problem_and_writes_no_entry(tmp_path, monkeypatch):
    resources = tmp_path / "broken-resources"
    shutil.copytree(ROOT / "resources" / "desktop", resources / "desktop")
    shutil.copytree(ROOT / "resources" / "icons", resources / "icons")  # no hicolor PNGs
    monkeypatch.setenv("APPUPDATER_RESOURCES", str(resources))

    with pytest.raises(DesktopError, match=r"icon files are missing.*16x16"):
        desktop.install(["/opt/appupdater"])
    assert not desktop.entry_path().exists()
    assert not (tmp_path / "xdg-data" / "icons").exists()


def test_an_unwritable_login_folder_is_a_clear_error(tmp_path):
    (tmp_path / "xdg-config").mkdir()
    (tmp_path / "xdg-config" / "autostart").write_text("a file where a folder belongs")
    with pytest.raises(DesktopError, match="cannot write the login entry"):
        desktop.set_autostart(True, ["/opt/appupdater"])


def test_the_launcher_runs_this_app_updater():
    result = subprocess.run(
        [*desktop.launcher(), "--version"], capture_output=True, text=True, check=True, cwd="/"
    )
    assert result.stdout.strip() == f"appupdater {__version__}"
    assert desktop.launcher()[0].startswith(str(Path(sys.executable).parent))


def test_the_install_desktop_verb_installs_and_removes(tmp_path, capsys):
    assert main(["install-desktop", "--autostart"]) == 0
    out = capsys.readouterr().out
    assert f"Menu entry: {desktop.entry_path()}" in out
    assert f"Starts in the tray at login: {desktop.autostart_path()}" in out
    assert desktop.entry_path().is_file() and desktop.autostart_enabled()

    assert main(["uninstall-desktop"]) == 0
    assert f"Removed {len(desktop.ICON_SIZES) + 3} file(s)." in capsys.readouterr().out
    assert not desktop.entry_path().exists() and not desktop.autostart_path().exists()


def test_install_user_script_finds_appupdater_and_installs(tmp_path):
    script = ROOT / "packaging" / "install-user.sh"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
    }
    missing = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "no appupdater found" in missing.stderr

    launcher = desktop.launcher()
    if len(launcher) > 1:
        pytest.skip("no appupdater script beside this Python (run from a checkout)")
    env["APPUPDATER"] = launcher[0]
    result = subprocess.run(["sh", str(script)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "xdg-data" / "applications" / f"{desktop.DESKTOP_ID}.desktop").is_file()
    result = subprocess.run(
        ["sh", str(script), "--uninstall"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0 and "Removed" in result.stdout


def test_the_login_entry_runs_on_the_database_named_at_install(tmp_path, capsys):
    url = "postgresql://alice@db.example:5432/fleet?service=team&sslmode=require"
    assert main(["--database", url, "install-desktop", "--autostart"]) == 0
    command = [*desktop.launcher(), "--database", url]
    assert f"It runs: {' '.join(command)}" in capsys.readouterr().out
    login = entry_values(desktop.autostart_path())
    assert login["Exec"] == desktop.exec_value([*command, "--tray"])
    assert f'--database "{url}" --tray' in login["Exec"]  # & and ? are quoted
    assert entry_values(desktop.entry_path())["Exec"] == desktop.exec_value(command)
    validate(desktop.autostart_path())


def test_the_login_entry_follows_the_environment_with_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("APPUPDATER_DATABASE", "team $fleet.sqlite3")
    desktop.set_autostart(True, ["/opt/appupdater"])
    shown = str(tmp_path / "team $fleet.sqlite3").replace("$", "\\\\$")  # \$, escaped again
    assert entry_values(desktop.autostart_path())["Exec"] == (
        f'/opt/appupdater --database "{shown}" --tray'
    )
    validate(desktop.autostart_path())


@pytest.mark.parametrize("source", ["option", "environment"])
def test_a_database_url_with_a_password_is_refused_for_the_entries(
    source, tmp_path, monkeypatch, capsys
):
    url = "postgresql://alice:s3cret@db.example/fleet"
    if source == "environment":
        monkeypatch.setenv("APPUPDATER_DATABASE", url)
        argv = ["install-desktop", "--autostart"]
    else:
        argv = ["--database", url, "install-desktop", "--autostart"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "s3cret" not in err and len(err.strip().splitlines()) == 1
    assert "password" in err and ".pgpass" in err and "service" in err
    assert not desktop.autostart_path().exists() and not desktop.entry_path().exists()
