"""Removing an unpacked tree however deep it is: `shutil.rmtree` recurses (on Python 3.11) and
a tree a few thousand folders deep made it raise RecursionError and stay, so the agent could
not clear its staging folder and did not start."""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_tree(path: Path) -> None:
    """Remove `path` and everything under it; nothing there is fine. Never recurses and never
    follows a link (a link is removed, not what it points at); one folder is open at a time
    and every step is relative to it, so no path grows past what the system accepts. Raises
    OSError when something cannot be removed (or the tree is moved while it is removed)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(path)
        return
    fd = os.open(path, _NOFOLLOW_DIR)
    try:
        # from the top down to the open folder: its name, its identity, subfolders still to do
        levels = [(path.name, _identity(fd), _clear_files(fd))]
        while True:
            pending = levels[-1][2]
            if pending:
                name = pending.pop()
                try:
                    inner = os.open(name, _NOFOLLOW_DIR, dir_fd=fd)
                except FileNotFoundError:
                    continue
                os.close(fd)
                fd = inner
                levels.append((name, _identity(fd), _clear_files(fd)))
                continue
            name, _, _ = levels.pop()
            if not levels:
                break
            above = os.open("..", _NOFOLLOW_DIR, dir_fd=fd)
            os.close(fd)
            fd = above
            if _identity(fd) != levels[-1][1]:
                raise OSError(f"{path} was moved while it was being removed")
            os.rmdir(name, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(path)


def _identity(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def _clear_files(fd: int) -> list[str]:
    """Unlink everything but folders in the folder open as `fd`; the names of its folders."""
    folders = []
    with os.scandir(fd) as entries:
        listed = list(entries)
    for entry in listed:
        if entry.is_dir(follow_symlinks=False):
            folders.append(entry.name)
        else:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.name, dir_fd=fd)
    return folders
