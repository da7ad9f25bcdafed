"""Files on the device: downloading an artifact with its SHA-256 checked, unpacking a tarball
without letting it write outside its folder, and switching a link atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path, PurePosixPath

CHUNK = 64 * 1024


class StepFailed(Exception):
    """A step of a deployment failed; the text says what, for the workstation's log.
    `transient` failures (a download that may work later) are worth another attempt."""

    def __init__(self, text: str, transient: bool = False):
        super().__init__(text)
        self.transient = transient


class Cancelled(Exception):
    """The deployment was cancelled while a step ran."""


def download(
    url: str,
    sha256: str,
    target: Path,
    *,
    what: str,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int | None], None],
    timeout: float = 30.0,
) -> None:
    """Fetch `url` into `target`, checking its SHA-256 while it streams. A partial or wrong
    file never stays at `target`."""
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            total = answer.headers.get("Content-Length") if hasattr(answer, "headers") else None
            total = int(total) if total and total.isdigit() else None
            done = 0
            with open(partial, "wb") as out:
                while True:
                    if cancelled():
                        raise Cancelled()
                    chunk = answer.read(CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    progress(done, total)
                out.flush()
                os.fsync(out.fileno())
    except (urllib.error.URLError, OSError, ValueError) as exc:
        partial.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise StepFailed(f"cannot download {what} from {url}: {reason}", transient=True) from exc
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256:
        partial.unlink(missing_ok=True)
        raise StepFailed(
            f"hash mismatch for {what}: expected SHA-256 {sha256[:12]}…, got "
            f"{digest.hexdigest()[:12]}… (downloaded from {url})"
        )
    os.replace(partial, target)


def unpack(archive: Path, destination: Path, *, what: str) -> None:
    """Unpack a .tar.gz into `destination` (created; must not exist), refusing absolute paths,
    `..`, links that point outside it, and device files. On any problem nothing is left."""
    destination.mkdir(parents=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, what)
            for member in members:
                _extract(tar, member, destination)
    except tarfile.TarError as exc:
        shutil.rmtree(destination, ignore_errors=True)
        raise StepFailed(f"{what} is not a readable .tar.gz: {exc}") from exc
    except BaseException:
        shutil.rmtree(destination, ignore_errors=True)
        raise


def _inside(path: PurePosixPath) -> bool:
    """Whether a relative path stays inside its root once `..` parts are applied."""
    depth = 0
    for part in path.parts:
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


def _check_member(member: tarfile.TarInfo, what: str) -> None:
    name = PurePosixPath(member.name)
    if name.is_absolute() or member.name.startswith(("/", "\\")):
        raise StepFailed(f"{what} is refused: it has an absolute path ({member.name})")
    if ".." in name.parts:
        raise StepFailed(f"{what} is refused: a path in it climbs out with '..' ({member.name})")
    if member.issym():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or not _inside(name.parent / target):
            raise StepFailed(
                f"{what} is refused: the link {member.name} points outside its folder "
                f"({member.linkname})"
            )
    elif member.islnk():
        target = PurePosixPath(member.linkname)
        if target.is_absolute() or not _inside(target):
            raise StepFailed(
                f"{what} is refused: the hard link {member.name} points outside its folder "
                f"({member.linkname})"
            )
    elif not (member.isfile() or member.isdir()):
        raise StepFailed(f"{what} is refused: {member.name} is a device file or a pipe")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, destination: Path) -> None:
    """Write one checked member ourselves: modes are kept to rwx bits, owners are not."""
    path = destination / member.name
    if member.isdir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink() or path.exists():
        path.unlink()
    if member.issym():
        os.symlink(member.linkname, path)
        return
    if member.islnk():
        os.link(destination / member.linkname, path)
        return
    source = tar.extractfile(member)
    assert source is not None  # a regular file
    with source, open(path, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)
    os.chmod(path, member.mode & 0o755)


def switch_link(link: Path, target: str | None) -> None:
    """Point `link` at `target` (relative), or remove it for None; atomic where it exists."""
    if target is None:
        if link.is_symlink():
            link.unlink()
        return
    temporary = link.with_name(f".{link.name}.new")
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    os.symlink(target, temporary)
    os.replace(temporary, link)


def write_json_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
