"""What a deployment may take on the device (the command line sets it: `startup.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Limits:
    """What a deployment may take on the device: the largest download and the largest unpacked
    module version (bytes), and the folder file:// artifact URLs may be read from (without one
    only http(s) is fetched). None: files.py's own default (no size limit, no folder). The
    command line sets sizes by default (`server.py`)."""

    download_bytes: int | None = None
    unpacked_bytes: int | None = None
    artifact_folder: Path | None = None

    def download_options(self) -> dict[str, Any]:
        given = {"max_bytes": self.download_bytes, "artifact_folder": self.artifact_folder}
        return {name: value for name, value in given.items() if value is not None}

    def unpack_options(self) -> dict[str, Any]:
        return {"max_bytes": self.unpacked_bytes} if self.unpacked_bytes is not None else {}
