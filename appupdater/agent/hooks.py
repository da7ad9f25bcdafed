"""Lifecycle hooks: executables a module's artifact carries, run by the agent around an activation.

A module version may hold, at the top of its artifact, ``hooks/stop``, ``hooks/start`` and
``hooks/health`` (and ``hooks/health-timeout``, a number of seconds). The agent runs a hook only
from the unpacked folder of a sha256-verified artifact, and only while the file is exactly what
the version's completion mark recorded (mode and SHA-256, `keeping.py`): a plain file, never a
link, never anything named by the API or a fleet file (they cannot name a command at all).
A hook runs as the agent's user, in its own process group, with the version's folder as its
working folder, a clean environment (a minimal PATH, the module, its version, the version before
and a state folder of the module's own that outlives its versions) and a timeout at which the
whole group is killed. Its output (stdout and stderr) is captured; the last lines go into the
deployment's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from appupdater.agent.keeping import file_sha256, mark_path

HOOKS = "hooks"
STOP, START, HEALTH = "stop", "start", "health"
HEALTH_TIMEOUT_FILE = "health-timeout"
HOOK_PATH = "/usr/local/bin:/usr/bin:/bin"
OUTPUT_LINES = 5  # of a hook's output, into the deployment's log
OUTPUT_TAIL = 16 * 1024  # bytes of output read back
LINE_WIDTH = 200


@dataclass(frozen=True)
class HookResult:
    """How a hook ended: `ok` (exit 0), else `problem` in words; its last output lines."""

    ok: bool
    problem: str = ""
    output: tuple[str, ...] = field(default_factory=tuple)

    @property
    def reason(self) -> str:
        """Why it failed, as short as it can be said: its last output line, else the problem."""
        return self.output[-1] if self.output else self.problem


@dataclass(frozen=True)
class HookContext:
    """What a hook is told: its module, version, the version active before (None: none) and
    the module's own state folder."""

    module: str
    version: str
    previous: str | None
    state_dir: Path

    def environment(self) -> dict[str, str]:
        return {
            "PATH": HOOK_PATH,
            "APPUPDATER_MODULE": self.module,
            "APPUPDATER_VERSION": self.version,
            "APPUPDATER_PREVIOUS_VERSION": self.previous or "",
            "APPUPDATER_STATE_DIR": str(self.state_dir),
        }


class HookRefused(Exception):
    """A hook is there but may not run: it is not as the verified artifact brought it."""


def verified_hook(modules: Path, module: str, version: str, name: str) -> Path | None:
    """The hook `name` of a module version, None when the version has none; HookRefused when
    the file is not a plain file exactly as recorded in the version's completion mark."""
    folder = modules / module / version
    path = folder / HOOKS / name
    if not path.exists() and not path.is_symlink():
        return None
    where = f"{module} {version}: {HOOKS}/{name}"
    if path.is_symlink() or not path.is_file() or (folder / HOOKS).is_symlink():
        raise HookRefused(f"{where} is not a plain file; it is not run")
    try:
        recorded = json.loads(mark_path(modules, module, version).read_text("utf-8"))
        entry = recorded["files"][f"{HOOKS}/{name}"]
        mode = f"{os.stat(path).st_mode & 0o7777:o}"
        same = entry == f"f {mode} {file_sha256(path)}"
    except (OSError, ValueError, KeyError, TypeError):
        same = False
    if not same:
        raise HookRefused(
            f"{where} is not as the verified artifact brought it (changed, or the version has "
            "no completion mark); it is not run"
        )
    return path


def health_timeout(modules: Path, module: str, version: str, default: float) -> float:
    """The version's own health timeout (``hooks/health-timeout``, seconds), else `default`."""
    path = modules / module / version / HOOKS / HEALTH_TIMEOUT_FILE
    with contextlib.suppress(OSError, ValueError):
        if path.is_file() and not path.is_symlink():
            value = float(path.read_text("utf-8").strip())
            if 0 < value < 24 * 3600:
                return value
    return default


def run_hook(path: Path, context: HookContext, timeout: float) -> HookResult:
    """Run the hook at `path` (from `verified_hook`) and wait at most `timeout` seconds; then its
    whole process group is killed. Output goes to a file, not a pipe, so a start hook may leave
    a service running in the background without the agent waiting on it."""
    context.state_dir.mkdir(parents=True, exist_ok=True)
    name = f"{HOOKS}/{path.name}"
    with tempfile.TemporaryFile() as out:
        try:
            process = subprocess.Popen(
                [str(path)],
                cwd=path.parent.parent,
                env=context.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            return HookResult(False, f"{name} could not be run: {exc.strerror or exc}")
        try:
            code = process.wait(timeout=timeout)
            problem = "" if code == 0 else _exit_text(name, code)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code, problem = -1, f"{name} did not finish within {timeout:g} s and was stopped"
        out.seek(max(0, out.seek(0, os.SEEK_END) - OUTPUT_TAIL))
        text = out.read().decode("utf-8", "replace")
    lines = [line.strip()[:LINE_WIDTH] for line in text.splitlines() if line.strip()]
    return HookResult(code == 0, problem, tuple(lines[-OUTPUT_LINES:]))


def _exit_text(name: str, code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"{name} was killed by {signal.Signals(-code).name}"
    return f"{name} exited with {code}"
