"""Files on the device: downloading an artifact with its SHA-256 checked, unpacking it
(`archive.py`: never outside its folder, never through a link), switching a link atomically."""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from appupdater.agent.archive import unpack
from appupdater.agent.steps import Cancelled, StepFailed, size_text

__all__ = ["Cancelled", "StepFailed", "download", "switch_link", "unpack", "write_json_atomically"]

CHUNK = 64 * 1024


def download(
    url: str,
    sha256: str,
    target: Path,
    *,
    what: str,
    cancelled: Callable[[], bool],
    progress: Callable[[int, int | None], None],
    timeout: float = 30.0,
    max_bytes: int | None = None,
    artifact_folder: Path | None = None,
) -> None:
    """Fetch `url` into `target`, checking its SHA-256 while it streams. http(s) always;
    file:// only for a file that resolves inside `artifact_folder` (none: never). More than
    `max_bytes` (announced, or counted while streaming) is refused. A partial or wrong file
    never stays at `target`."""
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        source, total = _open_source(url, what, timeout, artifact_folder)
        with source:
            if max_bytes is not None and total is not None and total > max_bytes:
                raise StepFailed(
                    f"cannot download {what}: it is {size_text(total)}, more than the limit of "
                    f"{size_text(max_bytes)}; nothing was kept"
                )
            done = 0
            with open(partial, "wb") as out:
                while True:
                    if cancelled():
                        raise Cancelled()
                    chunk = source.read(CHUNK)
                    if not chunk:
                        break
                    done += len(chunk)
                    if max_bytes is not None and done > max_bytes:
                        raise StepFailed(
                            f"cannot download {what}: it passed the limit of "
                            f"{size_text(max_bytes)} while downloading; nothing was kept"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                    progress(done, total)
                out.flush()
                os.fsync(out.fileno())
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
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


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """A redirect may lead to http(s) only (urllib would also follow one to ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise StepFailed(f"the artifact server redirected to {newurl}, which is not http(s)")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpRedirectsOnly)


def _open_source(
    url: str, what: str, timeout: float, artifact_folder: Path | None
) -> tuple[BinaryIO, int | None]:
    """The artifact's bytes and its announced size; refuses what the agent may not read."""
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        answer = _OPENER.open(url, timeout=timeout)
        length = answer.headers.get("Content-Length") or ""
        return answer, int(length) if length.isascii() and length.isdigit() else None
    if scheme != "file":
        raise StepFailed(f"cannot download {what}: {url} is not an http(s) URL")
    if artifact_folder is None:
        raise StepFailed(
            f"cannot download {what}: the agent reads artifacts only over http(s); {url} is a "
            "file:// URL, which it reads only from the folder it is started with "
            "(--artifact-folder)"
        )
    if parts.netloc not in ("", "localhost"):
        raise StepFailed(f"cannot download {what}: {url} names another machine")
    folder = os.path.realpath(artifact_folder)
    path = os.path.realpath(urllib.request.url2pathname(parts.path))
    if not path.startswith(folder + os.sep):
        raise StepFailed(f"cannot download {what}: {url} is outside the artifact folder {folder}")
    source = open(path, "rb")  # noqa: SIM115 (closed by the caller's `with`)
    return source, os.fstat(source.fileno()).st_size


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
