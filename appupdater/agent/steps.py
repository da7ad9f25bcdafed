"""What the steps of a deployment on the device raise, shared by downloading, unpacking and
recording the agent's state."""

from __future__ import annotations

from pathlib import Path


class StepFailed(Exception):
    """A step of a deployment failed; the text says what, for the workstation's log.
    `transient` failures (a download that may work later) are worth another attempt."""

    def __init__(self, text: str, transient: bool = False):
        super().__init__(text)
        self.transient = transient


class Cancelled(Exception):
    """The deployment was cancelled while a step ran."""


def size_text(size: int) -> str:
    """A size in bytes as a person reads it: bytes below 1 MB, else MB with a decimal."""
    if size < 1024 * 1024:
        return f"{size:,} bytes"
    return f"{size / (1024 * 1024):,.1f} MB"


def too_large(what: str, counted: int, limit: int, extra: str = "") -> str:
    """The refusal of an archive past `limit`; how much it holds where that reads differently
    from the limit ("at least 3.0 MB" beside "1.0 MB", not "10.3 MB" beside "10.3 MB")."""
    at_least = size_text(counted)
    seen = f" (at least {at_least}{extra})" if at_least != size_text(limit) else ""
    return (
        f"{what} is refused: it unpacks to more than the limit of {size_text(limit)}{seen}; "
        "nothing was unpacked"
    )


class StateNotSaved(StepFailed):
    """state.json could not be written: the deployment that needed the write fails (worth
    another attempt once there is room), the agent goes on."""

    def __init__(self, path: Path, exc: OSError):
        super().__init__(
            f"the agent could not write its state file {path}: {exc.strerror or exc}",
            transient=True,
        )
