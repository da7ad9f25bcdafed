"""Module versions kept on the device, and how the agent knows one is whole.

An unpacked version ``modules/<module>/<version>/`` counts as on the device only with its
completion mark ``modules/<module>/.<version>.complete`` beside it: written last (atomically)
after the folder is in place, removed first when the folder is replaced or pruned. The mark
holds the SHA-256 of the artifact it came from and a manifest of every file, folder and link
as unpacked; a deployment reuses the folder only when the artifact it asks for is that one and
the folder still matches the manifest. So a folder cut short by a crash (while unpacking or
removing) or changed since is never taken for a whole one: it is fetched again. Names that
start with '.' are never versions (`names.py`), so marks and folders being removed
(``.<version>.pruning``) or replaced (``.<version>.discarded``) never clash with one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from appupdater.agent.files import write_json_atomically
from appupdater.agent.protocol import ModuleRef
from appupdater.agent.removal import remove_tree

COMPLETE = ".complete"
PRUNING = ".pruning"
DISCARDED = ".discarded"
CHUNK = 1024 * 1024


def mark_path(modules: Path, module: str, version: str) -> Path:
    return modules / module / f".{version}{COMPLETE}"


def aside_path(modules: Path, module: str, version: str, why: str) -> Path:
    """Where a version's folder is moved before it is removed (`why`: PRUNING or DISCARDED)."""
    return modules / module / f".{version}{why}"


def manifest(folder: Path) -> dict[str, str]:
    """relative path -> what it is: "d MODE", "f MODE SHA-256" or "l TARGET"; walked without
    following links, in a stable order."""
    found: dict[str, str] = {}
    pending = [folder]
    while pending:
        current = pending.pop()
        with os.scandir(current) as entries:
            listed = sorted(entries, key=lambda entry: entry.name)
        for entry in listed:
            path = Path(entry.path)
            name = path.relative_to(folder).as_posix()
            info = entry.stat(follow_symlinks=False)
            mode = f"{stat.S_IMODE(info.st_mode):o}"
            if stat.S_ISLNK(info.st_mode):
                found[name] = f"l {os.readlink(path)}"
            elif stat.S_ISDIR(info.st_mode):
                found[name] = f"d {mode}"
                pending.append(path)
            else:
                found[name] = f"f {mode} {file_sha256(path)}"
    return dict(sorted(found.items()))


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def difference(recorded: dict[str, str], found: dict[str, str]) -> str | None:
    """The first difference between two manifests in words, or None when they agree."""
    for name in sorted(set(recorded) | set(found)):
        if name not in found:
            return f"{name} is missing"
        if name not in recorded:
            return f"{name} was added"
        if recorded[name] != found[name]:
            return f"{name} differs"
    return None


class KeptVersions:
    """The unpacked module versions under ``modules/`` and their completion marks."""

    def __init__(self, modules: Path):
        self.modules = modules

    def recorded_sha256(self, module: str, version: str) -> str | None:
        """The artifact SHA-256 the version's completion mark names (None: no readable mark);
        read without hashing any file."""
        try:
            recorded = json.loads(mark_path(self.modules, module, version).read_text("utf-8"))
        except (OSError, ValueError):
            return None
        sha = recorded.get("sha256") if isinstance(recorded, dict) else None
        return sha if isinstance(sha, str) else None

    def problem(self, ref: ModuleRef) -> str | None:
        """Why the kept copy of `ref` cannot be used: "" when there is none at all, a reason
        in words when there is one that is not whole; None when it is whole and from `ref`'s
        artifact (then nothing needs fetching)."""
        folder = self.modules / ref.name / ref.version
        mark = mark_path(self.modules, ref.name, ref.version)
        if not folder.is_dir() or folder.is_symlink():
            return ""
        try:
            recorded = json.loads(mark.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return "it has no completion mark (it was never finished or was being removed)"
        except (OSError, ValueError) as exc:
            return f"its completion mark cannot be read ({exc})"
        if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
            return "its completion mark is damaged"
        if recorded.get("sha256") != ref.sha256:
            sha = str(recorded.get("sha256", ""))[:12]
            return f"it was unpacked from another artifact (SHA-256 {sha}…)"
        try:
            found = manifest(folder)
        except OSError as exc:
            return f"it cannot be read ({exc.strerror or exc})"
        changed = difference(recorded["files"], found)
        return None if changed is None else f"it changed since it was unpacked ({changed})"

    def install(self, ref: ModuleRef, unpacked: Path) -> None:
        """Put the folder `unpacked` (a staging folder on the same file system) in place as
        `ref`'s version, then write its mark. A copy that is not whole is moved aside and the
        new folder renamed in its place (a swap, never a change inside it), then removed."""
        files = manifest(unpacked)
        target = self.modules / ref.name / ref.version
        aside = aside_path(self.modules, ref.name, ref.version, DISCARDED)
        replaced = target.exists() or target.is_symlink()
        if replaced:  # swapped: never changed in place
            if aside.exists() or aside.is_symlink():
                remove_tree(aside)
            mark_path(self.modules, ref.name, ref.version).unlink(missing_ok=True)
            os.rename(target, aside)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(unpacked, target)
        if replaced:
            with contextlib.suppress(OSError):  # else the next start sweeps it
                remove_tree(aside)
        record: dict[str, Any] = {
            "module": ref.name,
            "version": ref.version,
            "sha256": ref.sha256,
            "files": files,
        }
        write_json_atomically(mark_path(self.modules, ref.name, ref.version), json.dumps(record))

    def discard(self, module: str, version: str, why: str) -> None:
        """Remove a version: its mark first (so what is left is never taken for whole), then
        its folder, moved aside before it is removed; the module's folder goes too when
        nothing is left in it."""
        mark_path(self.modules, module, version).unlink(missing_ok=True)
        folder = self.modules / module / version
        aside = aside_path(self.modules, module, version, why)
        remove_tree(aside)
        if folder.exists() or folder.is_symlink():
            os.rename(folder, aside)
        remove_tree(aside)
        with contextlib.suppress(OSError):  # not empty (other versions, its link), or gone
            (self.modules / module).rmdir()

    def sweep(self) -> list[str]:
        """Remove what a stopped agent left moved aside; the paths removed."""
        removed = []
        for why in (PRUNING, DISCARDED):
            for aside in sorted(self.modules.glob(f"*/.*{why}")):
                remove_tree(aside)
                removed.append(aside.relative_to(self.modules).as_posix())
        return removed
