"""Activating module versions together, and undoing it.

Under ``modules/`` every module has a folder per unpacked version and a ``current`` link to the
active one. An activation switches the links of every module it touches; before it does, a
journal of what they pointed at is written to state.json, so that a failure — or an agent that
stops in the middle — puts every link back and the device runs what it ran before.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appupdater.agent.files import StepFailed, switch_link
from appupdater.names import ACTIVE_LINK, name_problem

log = logging.getLogger("appupdater.agent")

STOPPING, STARTING = "stopping", "starting"  # a journal's step (lifecycle.py)


@dataclass(frozen=True)
class Journal:
    """The links an activation is changing: module -> the version active before (None: no
    link). Kept in state.json until the activation is complete or undone."""

    deployment: str
    previous: dict[str, str | None]
    wanted: dict[str, str | None] = field(default_factory=dict)
    step: str = STARTING  # STOPPING: only old versions were being stopped, nothing switched

    def to_json(self) -> dict[str, Any]:
        return {
            "deployment": self.deployment,
            "previous": self.previous,
            "wanted": self.wanted,
            "step": self.step,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Journal:
        return cls(
            data.get("deployment", ""),
            dict(data.get("previous", {})),
            dict(data.get("wanted") or {}),
            str(data.get("step") or STARTING),
        )

    def changed(self) -> dict[str, tuple[str | None, str | None]]:
        """module -> (version before, version wanted) for the modules whose version changes."""
        return {
            module: (old, self.wanted.get(module))
            for module, old in self.previous.items()
            if old != self.wanted.get(module)
        }

    def deactivated(self, wanted: dict[str, str]) -> dict[str, str]:
        """module -> version, for the modules active before that `wanted` leaves out."""
        return {m: v for m, v in self.previous.items() if v is not None and m not in wanted}


class Modules:
    """The module versions on the device and which of them are active."""

    def __init__(self, folder: Path):
        self.folder = folder

    def version_dir(self, module: str, version: str) -> Path:
        """Where a module version is unpacked; StepFailed for a name or version that cannot be
        a folder here (one an earlier agent took, in a deployment it kept)."""
        for what, text in (("module name", module), ("version", version)):
            problem = name_problem(text)
            if problem is not None:
                raise StepFailed(
                    f"{module} {version} cannot be put on this device: the {what} {problem}"
                )
        return self.folder / module / version

    def repair(self) -> None:
        """Move aside what stands where a module's link belongs: a deployment of a version
        named `current`, taken by an earlier agent, unpacked it there, and from then on no
        link could be made. The new name starts with '.', which no version can."""
        if not self.folder.is_dir():
            return
        for module in sorted(self.folder.iterdir()):
            link = module / ACTIVE_LINK
            if module.is_symlink() or not module.is_dir() or link.is_symlink():
                continue
            if not link.exists():
                continue
            aside = module / f".{ACTIVE_LINK}-moved-aside"
            number = 1
            while aside.exists() or aside.is_symlink():
                number += 1
                aside = module / f".{ACTIVE_LINK}-moved-aside-{number}"
            kind = "folder" if link.is_dir() else "file"
            os.rename(link, aside)
            log.warning(
                "modules/%s/%s was a %s, not the link to the active version (left by a "
                "deployment of a version named '%s'); moved it to modules/%s/%s, so that %s "
                "can be deployed again",
                module.name,
                ACTIVE_LINK,
                kind,
                ACTIVE_LINK,
                module.name,
                aside.name,
                module.name,
            )

    def active(self) -> dict[str, str]:
        """module -> active version, read from the links."""
        active = {}
        for link in self.folder.glob(f"*/{ACTIVE_LINK}"):
            if link.is_symlink():
                active[link.parent.name] = os.readlink(link)
        return active

    def journal_for(self, deployment: str, wanted: dict[str, str]) -> Journal:
        """What activating `wanted` (module -> version) will change, before it changes it."""
        before = self.active()
        names = sorted(set(before) | set(wanted))
        return Journal(
            deployment, {m: before.get(m) for m in names}, {m: wanted.get(m) for m in names}
        )

    def switch(self, journal: Journal, wanted: dict[str, str]) -> None:
        """Point every link the journal names at its wanted version; modules not wanted lose
        their link (their versions stay on disk)."""
        for module in journal.previous:
            switch_link(self.folder / module / ACTIVE_LINK, wanted.get(module))

    def check(self, wanted: dict[str, str]) -> None:
        """Every wanted version is active and not empty, or StepFailed says which is not."""
        active = self.active()
        for module, version in wanted.items():
            if active.get(module) != version or not any(
                self.version_dir(module, version).iterdir()
            ):
                raise StepFailed(f"{module} {version} is not active after switching")

    def restore(self, journal: Journal) -> None:
        """Put every link the journal names back as it was."""
        for module, version in journal.previous.items():
            switch_link(self.folder / module / ACTIVE_LINK, version)
