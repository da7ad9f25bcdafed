"""What the steps of a deployment on the device raise, shared by downloading and unpacking."""

from __future__ import annotations


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
