"""Desktop integration without Qt: where the resources are, and the freedesktop files that put
App Updater in the application menu (a desktop entry and hicolor icons under
``$XDG_DATA_HOME``) and, if wanted, start it in the tray at login (an entry under
``$XDG_CONFIG_HOME/autostart``); and the rotating log under ``$XDG_STATE_HOME/appupdater``,
in the line format the engine and the device agent share.

The entries are written from the template ``resources/desktop/<DESKTOP_ID>.desktop`` with
``Exec`` and ``TryExec`` pointing at the program that writes them: the frozen executable, the
``appupdater`` script of the virtual environment, or ``python -m appupdater``, and with the
database named at install (``--database`` or ``$APPUPDATER_DATABASE``), so that the tray at
login runs on the team's database rather than the local file.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import appupdater
from appupdater.errors import DesktopError
from appupdater.store.db import ENV_VAR, data_dir
from appupdater.store.postgres import is_url, redact

# Reverse-DNS id: the desktop entry's file name, the icon name, and what the GUI passes to
# QGuiApplication.setDesktopFileName (Wayland's app id; docks match windows to the entry by it).
DESKTOP_ID = "io.github.appupdater.AppUpdater"
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
TRAY_OPTION = "--tray"
# One line format for every App Updater log: the app's file, the command line's terminal
# (`appupdater engine`), and the device agent, which keeps a copy as it imports nothing of the
# app. tests/test_logs.py checks that all three agree.
LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
LOG_NAME = "appupdater.log"
LOG_BYTES = 2 * 1024 * 1024  # per file; with LOG_BACKUPS old ones, a few MB in all
LOG_BACKUPS = 3


def resources_dir() -> Path:
    """`APPUPDATER_RESOURCES`, else ``resources/`` inside the installed package (wheel, frozen
    app), else the checkout's top-level ``resources/``."""
    override = os.environ.get("APPUPDATER_RESOURCES")
    if override:
        return Path(override)
    package = Path(appupdater.__file__).resolve().parent
    for candidate in (package / "resources", package.parent / "resources"):
        if (candidate / "icons").is_dir():
            return candidate
    return package / "resources"


def template_path() -> Path:
    return resources_dir() / "desktop" / f"{DESKTOP_ID}.desktop"


def data_home() -> Path:
    """``$XDG_DATA_HOME``, by default ``~/.local/share`` (where the app's own data dir is)."""
    return data_dir().parent


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def state_home() -> Path:
    """``$XDG_STATE_HOME``, by default ``~/.local/state`` (logs, history: worth keeping, not
    worth backing up)."""
    return Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")


def log_dir() -> Path:
    return state_home() / "appupdater"


def log_file() -> Path:
    return log_dir() / LOG_NAME


def start_log_file(level: int = logging.INFO) -> logging.Handler:
    """Log `level` and up of every logger to the rotating log file, in `LOG_FORMAT`, and give
    handlers already there (a terminal's) the same format. Returns the file's handler (to
    remove with `stop_log_file`). Raises OSError when the folder cannot be written."""
    log_dir().mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        log_file(), maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setLevel(level)
    formatter = logging.Formatter(LOG_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for other in root.handlers:
        if type(other) is logging.StreamHandler:  # a terminal's (basicConfig's)
            other.setFormatter(formatter)
            if other.level == logging.NOTSET:  # it keeps showing what it showed
                other.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(min(root.level or level, level))
    return handler


def stop_log_file(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    handler.close()


def entry_path() -> Path:
    return data_home() / "applications" / f"{DESKTOP_ID}.desktop"


def autostart_path() -> Path:
    return config_home() / "autostart" / f"{DESKTOP_ID}.desktop"


def png_icon(size: int, resources: Path | None = None) -> Path:
    """The application icon rendered at `size` pixels (packaging/render_icons.py makes it)."""
    folder = f"{size}x{size}"
    return (resources or resources_dir()) / "hicolor" / folder / "apps" / f"{DESKTOP_ID}.png"


def icon_paths() -> dict[Path, Path]:
    """Installed icon path -> the resource it is copied from."""
    hicolor = data_home() / "icons" / "hicolor"
    source = resources_dir()
    paths = {
        hicolor / "scalable" / "apps" / f"{DESKTOP_ID}.svg": source / "icons" / "appupdater.svg"
    }
    for size in ICON_SIZES:
        paths[hicolor / f"{size}x{size}" / "apps" / f"{DESKTOP_ID}.png"] = png_icon(size, source)
    return paths


def launcher() -> list[str]:
    """The command that starts this App Updater: the frozen executable, the `appupdater` script
    beside this Python (a virtual environment's bin/), or this Python with ``-m appupdater``."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).parent / "appupdater"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "appupdater"]


def with_database(argv: list[str], database: str | None = None) -> list[str]:
    """`argv` running on `database` (by default ``$APPUPDATER_DATABASE``) if one is named: a
    URL as it is, a file path made absolute (a login entry starts in the home folder). A URL
    with a password is refused: every program of the session could read it there, and `ps`
    would show it."""
    location = database or os.environ.get(ENV_VAR)
    if not location:
        return list(argv)
    if is_url(location):
        if redact(location) != location:
            raise DesktopError(
                f"the database URL {redact(location)} holds a password, which the desktop "
                "entries would show to every program (and ps); nothing was written. Give the "
                "URL without it and put the password in ~/.pgpass or a PostgreSQL service "
                "file (docs/server.md); PGPASSWORD lasts only for one shell"
            )
    else:
        location = str(Path(location).expanduser().absolute())
    return [*argv, "--database", location]


# -- the Desktop Entry format ----------------------------------------------------------------

_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def _escape_string(value: str) -> str:
    """A value of type string: backslash, newline, tab and return escaped."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def exec_value(argv: list[str]) -> str:
    """`argv` as an Exec value: arguments with reserved characters in double quotes (with ",
    `, $ and \\ escaped inside), % doubled, then escaped as a string."""
    parts = []
    for arg in argv:
        arg = arg.replace("%", "%%")
        if any(ch in _RESERVED for ch in arg) or not arg:
            inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
            arg = f'"{inner}"'
        parts.append(arg)
    return _escape_string(" ".join(parts))


def render_entry(argv: list[str], *, autostart: bool = False) -> str:
    """The desktop entry of the template with Exec (and TryExec) set to `argv`. The autostart
    variant starts in the tray and says so."""
    try:
        template = template_path().read_text(encoding="utf-8")
    except OSError as exc:
        raise DesktopError(f"the desktop entry template is missing: {exc}") from exc
    command = [*argv, TRAY_OPTION] if autostart else list(argv)
    lines = []
    for line in template.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "Exec":
            line = f"Exec={exec_value(command)}"
        elif key == "TryExec":
            line = f"TryExec={_escape_string(argv[0])}"
        lines.append(line)
    if autostart:
        at = lines.index("[Desktop Entry]") + 1
        while at < len(lines) and lines[at].strip():
            at += 1
        lines[at:at] = [
            "X-GNOME-Autostart-enabled=true",
            "X-GNOME-Autostart-Delay=5",
            "X-KDE-autostart-after=panel",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


def _write(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


@dataclass(frozen=True)
class Installed:
    command: list[str]  # what the entries run
    entry: Path
    icons: list[Path]
    autostart: Path | None


def install(
    argv: list[str] | None = None, *, autostart: bool = False, database: str | None = None
) -> Installed:
    """Put App Updater in the current user's application menu (desktop entry and icons);
    with `autostart`, also start it in the tray at login. Both run on `database` (see
    `with_database`)."""
    argv = argv or launcher()
    command = with_database(argv, database)  # refused before anything is written
    entry = render_entry(command)  # the template is read before anything is written
    sources = icon_paths()
    missing = [str(s) for s in sources.values() if not s.is_file()]
    if missing:
        raise DesktopError(f"icon files are missing from the installation: {', '.join(missing)}")
    try:
        for target, source in sources.items():
            _write(target, source.read_bytes())
        _write(entry_path(), entry.encode())
    except OSError as exc:
        raise DesktopError(f"cannot write the desktop files: {exc}") from exc
    written_autostart = set_autostart(True, argv, database=database) if autostart else None
    _refresh_caches()
    return Installed(command, entry_path(), list(sources), written_autostart)


def uninstall() -> list[Path]:
    """Remove what `install` wrote (and the autostart entry); the removed paths."""
    removed = []
    for path in [entry_path(), autostart_path(), *icon_paths()]:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise DesktopError(f"cannot remove {path}: {exc}") from exc
        removed.append(path)
    _refresh_caches()
    return removed


def autostart_enabled() -> bool:
    """True when the login entry exists and is not disabled (Hidden=true, or the GNOME key
    set to false by a session's settings tool)."""
    try:
        text = autostart_path().read_text(encoding="utf-8")
    except OSError:
        return False
    values = dict(
        line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#")
    )
    return (
        values.get("Hidden", "false").strip() != "true"
        and values.get("X-GNOME-Autostart-enabled", "true").strip() != "false"
    )


def set_autostart(
    enabled: bool, argv: list[str] | None = None, *, database: str | None = None
) -> Path | None:
    """Write (or remove) the login entry that starts App Updater in the tray, on `database`
    (see `with_database`)."""
    path = autostart_path()
    command = with_database(argv or launcher(), database) if enabled else []
    try:
        if enabled:
            _write(path, render_entry(command, autostart=True).encode())
            return path
        path.unlink(missing_ok=True)
    except OSError as exc:
        action = "write" if enabled else "remove"
        raise DesktopError(f"cannot {action} the login entry {path}: {exc}") from exc
    return None


def _refresh_caches() -> None:
    """Tell menus and icon themes about the change, where the tools exist (they are optional:
    desktops also notice new files by themselves)."""
    tools = (
        ["update-desktop-database", "-q", str(entry_path().parent)],
        ["gtk-update-icon-cache", "-q", "-t", str(data_home() / "icons" / "hicolor")],
    )
    for command in tools:
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            subprocess.run(command, check=False, capture_output=True, timeout=30)
