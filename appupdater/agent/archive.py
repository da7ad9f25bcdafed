"""Unpacking an artifact so that nothing is ever written outside its folder or through a
link: every member is checked before anything is written, folders are walked without following
links, symlinks are made last and checked against the finished tree."""

from __future__ import annotations

import contextlib
import gzip
import os
import stat
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from appupdater.agent.reading import opened as _opened
from appupdater.agent.removal import remove_tree
from appupdater.agent.steps import StepFailed, too_large

CHUNK = 64 * 1024


def unpack(archive: Path, destination: Path, *, what: str, max_bytes: int | None = None) -> None:
    """Unpack a .tar.gz into `destination` (created; must not exist) so that nothing is ever
    written outside it and nothing is written through a link: absolute paths, `..`, device
    files, members inside a link of the archive, hard links to anything but a file unpacked
    before them, symlinks that resolve outside (checked on the finished tree, so chains of
    links count), and paths deeper or longer than a file system holds are refused. Folders
    and files are written first, walking every folder without following links; symlinks last.
    More than `max_bytes` unpacked (what the members take on disk by their headers, read only
    until they pass it, and counted while writing) or more than MAX_MEMBERS members is
    refused, and tarfile never reads a header larger than MAX_READ. On any problem nothing
    is left."""
    destination.mkdir(parents=True)
    try:
        block = max(BLOCK, os.stat(destination).st_blksize)
        with (
            _opened(archive, what, max_bytes) as stream,
            tarfile.open(fileobj=stream, mode="r:") as tar,
        ):
            entries = _plan(_members(tar, what, max_bytes, block), what)
            _write(tar, entries, destination, what, max_bytes)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        _clean(destination)
        raise StepFailed(f"{what} is not a readable .tar.gz: {exc}") from exc
    except BaseException:
        _clean(destination)
        raise


def _clean(destination: Path) -> None:
    """Remove what was unpacked, however deep; the problem that led here is the one told."""
    with contextlib.suppress(OSError):
        remove_tree(destination)


BLOCK = 4096  # the least a file, folder or link takes on disk (an inode, a block)
MAX_MEMBERS = 100_000  # tarfile keeps every header in memory
MAX_LEVELS = 64  # folders in one path
MAX_NAME = 255  # bytes in one name (NAME_MAX)
MAX_PATH = 4096  # bytes in one path (PATH_MAX)


def _cost(member: tarfile.TarInfo, block: int) -> int:
    """What a member takes on disk: its size in whole blocks, and at least one block."""
    size = member.size if member.isfile() else 0
    return max(block, -(-size // block) * block)


def _members(
    tar: tarfile.TarFile, what: str, max_bytes: int | None, block: int
) -> list[tarfile.TarInfo]:
    """The members' headers, read only as long as what they take stays within `max_bytes`
    and they are at most MAX_MEMBERS."""
    members: list[tarfile.TarInfo] = []
    counted = 0
    for member in tar:
        if len(members) >= MAX_MEMBERS:
            raise StepFailed(
                f"{what} is refused: it holds more than {MAX_MEMBERS:,} files, folders and links; "
                "nothing was unpacked"
            )
        members.append(member)
        counted += _cost(member, block)
        if max_bytes is not None and counted > max_bytes:
            raise StepFailed(too_large(what, counted, max_bytes))
    return members


@dataclass(frozen=True)
class _Entry:
    """A checked member: its path as parts (no '', '.' or '..'), and a hard link's target."""

    parts: tuple[str, ...]
    member: tarfile.TarInfo
    target: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return "/".join(self.parts)


def _parts(name: str, refuse: Callable[[str], StepFailed]) -> tuple[str, ...]:
    if name.startswith(("/", "\\")) or PurePosixPath(name).is_absolute():
        raise refuse(f"it has an absolute path ({name})")
    parts = tuple(p for p in name.split("/") if p not in ("", "."))
    if ".." in parts:
        raise refuse(f"a path in it climbs out with '..' ({name})")
    return parts


def _shown(name: str) -> str:
    """A member's name for a message: a long one is cut."""
    return name if len(name) <= 60 else name[:40] + "…"


def _check_lengths(
    member: tarfile.TarInfo, parts: tuple[str, ...], refuse: Callable[[str], StepFailed]
) -> None:
    """Refuse paths that no file system unpacks (or that only a walk by descriptors reaches and
    nothing removes without recursing): too many levels, a name or a path too long."""
    shown = _shown(member.name)
    if len(parts) > MAX_LEVELS:
        raise refuse(
            f"{shown} has a path of {len(parts):,} levels; at most {MAX_LEVELS} are unpacked"
        )
    for part in parts:
        if len(os.fsencode(part)) > MAX_NAME:
            raise refuse(
                f"{shown} has a name of {len(os.fsencode(part)):,} bytes; at most {MAX_NAME} "
                "bytes fit in one file or folder name"
            )
    path = len(os.fsencode("/".join(parts)))
    if path > MAX_PATH:
        raise refuse(
            f"{shown} has a path of {path:,} bytes; at most {MAX_PATH:,} bytes are unpacked"
        )
    if member.issym() and len(os.fsencode(member.linkname)) > MAX_PATH:
        raise refuse(
            f"the link {shown} points at a path of {len(os.fsencode(member.linkname)):,} bytes; "
            f"at most {MAX_PATH:,} bytes are unpacked"
        )


def _plan(members: list[tarfile.TarInfo], what: str) -> list[_Entry]:
    """Check every member before anything is written; the entries to write, in order."""

    def refuse(text: str) -> StepFailed:
        return StepFailed(f"{what} is refused: {text}")

    entries: list[_Entry] = []
    kinds: dict[tuple[str, ...], str] = {}
    for member in members:
        if member.isdir():
            kind = "folder"
        elif member.isfile():
            kind = "file"
        elif member.issym():
            kind = "link"
        elif member.islnk():
            kind = "hard link"
        else:
            raise refuse(f"{member.name} is a device file or a pipe")
        parts = _parts(member.name, refuse)
        _check_lengths(member, parts, refuse)
        if not parts:
            if kind == "folder":
                continue  # the top folder itself ("./")
            raise refuse(f"a {kind} in it has no name ({member.name!r})")
        name = "/".join(parts)
        earlier = kinds.get(parts)
        if earlier is not None and not (earlier == kind and kind in ("folder", "file")):
            raise refuse(f"{name} appears twice in it, as a {earlier} and as a {kind}")
        target: tuple[str, ...] = ()
        if member.issym():
            linked = PurePosixPath(member.linkname)
            if not member.linkname or linked.is_absolute() or not _inside(parts[:-1], linked):
                raise refuse(f"the link {name} points outside its folder ({member.linkname})")
        elif member.islnk():
            linked = PurePosixPath(member.linkname)
            if linked.is_absolute() or ".." in linked.parts or not member.linkname:
                raise refuse(f"the hard link {name} points outside its folder ({member.linkname})")
            target = _parts(member.linkname, refuse)
            if kinds.get(target) not in ("file", "hard link"):
                raise refuse(
                    f"the hard link {name} points at {member.linkname}, which is not a file "
                    "unpacked before it"
                )
        kinds[parts] = kind
        entries.append(_Entry(parts, member, target))
    for entry in entries:
        for end in range(1, len(entry.parts)):
            above = kinds.get(entry.parts[:end])
            if above == "link":
                raise refuse(
                    f"{entry.name} would be written through the link "
                    f"{'/'.join(entry.parts[:end])} (nothing is unpacked through a link)"
                )
            if above is not None and above != "folder":
                raise refuse(
                    f"{entry.name} lies inside {'/'.join(entry.parts[:end])}, which is not a folder"
                )
    return entries


def _inside(folder: tuple[str, ...], target: PurePosixPath) -> bool:
    """Whether `target`, relative to `folder`, stays inside the root once `..` parts are
    applied — textually; `_check_links` checks the real tree."""
    depth = len(folder)
    for part in target.parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _folder(root: int, parts: tuple[str, ...], create: bool = True) -> int:
    """A descriptor of the folder `parts` under `root`, made where missing; no part of the way
    is followed if it is a link (the open fails instead)."""
    fd = os.dup(root)
    try:
        for part in parts:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o755, dir_fd=fd)
            inner = os.open(part, _NOFOLLOW_DIR, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write(
    tar: tarfile.TarFile,
    entries: list[_Entry],
    destination: Path,
    what: str,
    max_bytes: int | None,
) -> None:
    """Folders, files and hard links in order, then the symlinks, then check the links."""
    root = os.open(destination, _NOFOLLOW_DIR)
    written = 0
    try:
        for entry in entries:
            member = entry.member
            if member.isdir():
                os.close(_folder(root, entry.parts))
            elif member.isfile() or member.islnk():
                parent = _folder(root, entry.parts[:-1])
                try:
                    with contextlib.suppress(FileNotFoundError):  # listed twice: later wins
                        os.unlink(entry.parts[-1], dir_fd=parent)
                    if member.islnk():
                        _hard_link(root, entry, parent, what)
                    else:
                        written = _copy(tar, member, parent, entry.parts[-1], written)
                        if max_bytes is not None and written > max_bytes:
                            raise StepFailed(too_large(what, written, max_bytes))
                finally:
                    os.close(parent)
        for entry in entries:
            if entry.member.issym():
                parent = _folder(root, entry.parts[:-1])
                try:
                    os.symlink(entry.member.linkname, entry.parts[-1], dir_fd=parent)
                finally:
                    os.close(parent)
    finally:
        os.close(root)
    _check_links(destination, [e for e in entries if e.member.issym()], what)


def _copy(
    tar: tarfile.TarFile, member: tarfile.TarInfo, parent: int, name: str, written: int
) -> int:
    """Write a regular file (never through a link) and return the bytes written so far."""
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(name, flags, 0o600, dir_fd=parent)
    with source, open(fd, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            written += len(chunk)
        # modes keep their rwx bits (owners are not kept) and the owner may read and write
        os.fchmod(out.fileno(), (member.mode & 0o755) | 0o600)
    return written


def _hard_link(root: int, entry: _Entry, parent: int, what: str) -> None:
    """Link to a regular file already unpacked here, reached without following links."""
    source = _folder(root, entry.target[:-1], create=False)
    try:
        info = os.stat(entry.target[-1], dir_fd=source, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise StepFailed(f"{what} is refused: the hard link {entry.name} is not to a file")
        os.link(
            entry.target[-1],
            entry.parts[-1],
            src_dir_fd=source,
            dst_dir_fd=parent,
            follow_symlinks=False,
        )
    finally:
        os.close(source)


def _check_links(destination: Path, links: list[_Entry], what: str) -> None:
    """Every symlink, resolved in the finished tree (through any other link), stays inside."""
    real = os.path.realpath(destination)
    for entry in links:
        resolved = os.path.realpath(os.path.join(destination, *entry.parts))
        if resolved != real and not resolved.startswith(real + os.sep):
            raise StepFailed(
                f"{what} is refused: the link {entry.name} points outside its folder "
                f"({entry.member.linkname}, through the links beside it)"
            )
