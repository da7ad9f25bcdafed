"""The decompressed bytes of an artifact as tarfile reads them, within bounds: tarfile reads a
PAX or GNU long-name header whole, so a few hundred KB of gzip claiming a header of 1 GB made
the agent take gigabytes of memory before any size was counted."""

from __future__ import annotations

import contextlib
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from appupdater.agent.steps import StepFailed, size_text, too_large

# The largest read tarfile may make at once. Unpacking reads file data in chunks of 64 KB, so
# only tarfile's own header reads ask for more: names, link targets and attributes a module
# needs fit many times over.
MAX_READ = 1024 * 1024
# How far past the unpacked-size limit the stream may go: half the limit again for headers and
# padding (at most 1,024 bytes beside a member charged at least 4,096; long names take more)
# and this for the end of the archive.
HEADER_ALLOWANCE = 1024 * 1024


class Capped:
    """A read-only file for tarfile over `source`, refusing (StepFailed) a read larger than
    MAX_READ and any read past `limit` plus its allowance for headers (None: no limit)."""

    def __init__(self, source: BinaryIO, what: str, limit: int | None):
        self.source, self.what, self.limit = source, what, limit
        self.stop = None if limit is None else limit + limit // 2 + HEADER_ALLOWANCE

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > MAX_READ:
            raise StepFailed(
                f"{self.what} is refused: a header in it is larger than {size_text(MAX_READ)} "
                "(no module has names or attributes that long); nothing was unpacked"
            )
        data = self.source.read(size)
        position = self.source.tell()
        if self.stop is not None and self.limit is not None and position > self.stop:
            raise StepFailed(too_large(self.what, position, self.limit, ", headers included"))
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.source.seek(offset, whence)

    def tell(self) -> int:
        return self.source.tell()

    def write(self, data: bytes) -> int:
        raise io.UnsupportedOperation("the archive is only read")

    def close(self) -> None:
        """`opened` closes the source."""


@contextlib.contextmanager
def opened(archive: Path, what: str, limit: int | None) -> Iterator[Capped]:
    """The archive's tar stream (gunzipped when it is a gzip file), capped."""
    with open(archive, "rb") as raw:
        zipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not zipped:
            yield Capped(raw, what, limit)
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as source:
            yield Capped(source, what, limit)  # type: ignore[arg-type]
