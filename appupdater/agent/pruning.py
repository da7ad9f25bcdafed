"""Which kept module versions go after a successful switch (`keep_versions`).

Per module the agent remembers the versions most recently active first (state.json's
``recent``, written together with the switch). After a deployment's switch it keeps, besides
the active version, the first ``max(keep, 1)`` of the others in that order — the first being
the previous version, which is never removed, so 0 keeps only the active and the previous
version (as 1 does). Versions never active (unpacked by a deployment that failed later) rank
after those ever active, newest unpacked first. A version a running deployment uses is never
removed. What is removed is journalled first (state.json's ``pruning``) and finished by an
agent that stops in the middle (`keeping.KeptVersions.discard`).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from appupdater.agent.deployment import Deployment
from appupdater.agent.keeping import PRUNING
from appupdater.agent.protocol import DeploymentState, LogLevel, Phase
from appupdater.agent.steps import StateNotSaved
from appupdater.names import ACTIVE_LINK

if TYPE_CHECKING:
    from appupdater.agent.state import Agent

log = logging.getLogger("appupdater.agent")

DEFAULT_KEEP = 2

Version = tuple[str, str]  # (module, version)


def plan(
    modules: Path, recent: dict[str, list[str]], keep: int, protected: set[Version]
) -> list[Version]:
    """The (module, version) pairs to remove from the folder `modules`, oldest first."""
    removed: list[Version] = []
    if not modules.is_dir():
        return removed
    for folder in sorted(modules.iterdir()):
        if folder.is_symlink() or not folder.is_dir():
            continue
        link = folder / ACTIVE_LINK
        active = os.readlink(link) if link.is_symlink() else None
        versions = {
            entry.name
            for entry in folder.iterdir()
            if not entry.name.startswith(".")
            and entry.name != ACTIVE_LINK
            and entry.is_dir()
            and not entry.is_symlink()
        }
        versions.discard(active or "")
        order = recent.get(folder.name, [])
        ranked = [v for v in order if v in versions]
        unknown = versions - set(ranked)
        ranked += sorted(unknown, key=lambda v: ((folder / v).lstat().st_mtime, v), reverse=True)
        past = [v for v in ranked[max(keep, 1) :] if (folder.name, v) not in protected]
        removed += [(folder.name, v) for v in reversed(past)]
    return removed


def remembered(
    recent: dict[str, list[str]],
    activated: dict[str, str],
    previous: Mapping[str, str | None] | None = None,
) -> dict[str, list[str]]:
    """`recent` after the module versions `activated` (module -> version) became active in
    place of `previous` (module -> the version its link pointed at before): the previous one
    comes right after the new one, also when `recent` never heard of it (a state written by an
    agent that kept no order), so pruning never takes it for a stray folder."""
    updated = {module: list(versions) for module, versions in recent.items()}
    for module, version in activated.items():
        rest = [v for v in updated.get(module, []) if v != version]
        before = (previous or {}).get(module)
        if before and before != version:
            rest = [before, *(v for v in rest if v != before)]
        updated[module] = [version, *rest]
    return updated


def forgotten(recent: dict[str, list[str]], removed: list[Version]) -> dict[str, list[str]]:
    """`recent` without the versions `removed` from the device."""
    gone = set(removed)
    kept = {m: [v for v in versions if (m, v) not in gone] for m, versions in recent.items()}
    return {module: versions for module, versions in kept.items() if versions}


def keeping_text(keep: int) -> str:
    """What the agent keeps, as its log says it."""
    if keep <= 1:
        return "the agent keeps the active and the previous version of each module"
    return f"the agent keeps the active and {keep} previous versions of each module"


def prune(agent: Agent, deployment: Deployment) -> None:
    """After a successful switch: remove the versions past what `keep_versions` keeps
    (never the active or previous one, nor one a running deployment uses), journalled in
    state.json first, and the artifacts left in downloads/. A version that cannot be
    removed is told and left for the next time; the deployment succeeds all the same."""
    with agent.lock:
        protected = {
            (m.name, m.version)
            for d in agent.deployments.values()
            if d.state is DeploymentState.RUNNING
            for m in d.configuration.modules
        }
        planned = plan(agent.modules.folder, agent.recent, agent.keep_versions, protected)
        active = agent.modules.active()
        left = [  # by a pruning cut short by a failed state write
            (m, v)
            for m, v in agent.pruning
            if (m, v) not in planned and (m, v) not in protected and active.get(m) != v
        ]
        victims = [*left, *planned]
        if victims:
            before, agent.pruning = agent.pruning, victims
            try:
                agent._save()
            except StateNotSaved as exc:  # not journalled: nothing is removed
                agent.pruning = before
                log.error("%s: no old module version was removed: %s", deployment.id, exc)
                return
    for module, version in victims:
        try:
            agent.kept.discard(module, version, PRUNING)
        except OSError as exc:
            text = f"could not remove {module} {version} from the device: {exc}"
            with agent.lock, contextlib.suppress(StateNotSaved):
                agent._log(deployment, LogLevel.WARNING, text)
            continue
        text = f"removed {module} {version} from the device ({keeping_text(agent.keep_versions)})"
        with contextlib.suppress(StateNotSaved):  # the deployment's end tells it
            agent._report(deployment, Phase.VERIFYING, 95, text)
    if victims:
        with agent.lock, contextlib.suppress(StateNotSaved):  # the journal stays: redone
            agent.pruning, agent.recent = [], forgotten(agent.recent, victims)
            agent._save()
    for archive in (agent.root / "downloads").glob("*.tar.gz"):
        archive.unlink(missing_ok=True)
