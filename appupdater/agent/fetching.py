"""Fetching a deployment's module versions: one active at the wanted version (from the same
artifact) is left alone, unverified, as a running module may write into its folder; every other
one still whole on the device is reused ("collector 1.0.0 already on the device", `keeping.py`);
the others are downloaded with their SHA-256 checked (or taken from a checked artifact left in
downloads/), unpacked safely in staging/ and swapped in with their completion mark. An artifact
is removed once unpacked."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from appupdater.agent.deployment import Deployment
from appupdater.agent.files import Cancelled, download, unpack
from appupdater.agent.keeping import file_sha256
from appupdater.agent.protocol import LogLevel, ModuleRef, Phase
from appupdater.agent.removal import remove_tree

if TYPE_CHECKING:
    from appupdater.agent.state import Agent


def fetch_all(agent: Agent, deployment: Deployment, cancelled: Callable[[], bool]) -> None:
    """Download, verify and unpack every module version not whole on the device yet."""
    missing: list[ModuleRef] = []
    active = agent.modules.active()
    for module in deployment.configuration.modules:
        what = f"{module.name} {module.version}"
        agent.modules.version_dir(module.name, module.version)  # a name it can be put under
        if active.get(module.name) == module.version and (
            agent.kept.recorded_sha256(module.name, module.version) == module.sha256
        ):  # running: its own files (logs, caches) may differ from the manifest
            with agent.lock:
                agent._log(deployment, LogLevel.INFO, f"{what} is active already; left as it is")
            continue
        problem = agent.kept.problem(module)
        with agent.lock:
            if problem is None:
                agent._log(deployment, LogLevel.INFO, f"{what} already on the device")
                continue
            if problem:
                again = "unpacking" if kept_archive(agent, module) else "downloading"
                text = f"{what} on the device cannot be used: {problem}; {again} it again"
                agent._log(deployment, LogLevel.WARNING, text)
        missing.append(module)
    if not missing:
        agent._report(deployment, Phase.INSTALLING, 60)
        return
    share = 60 / len(missing)
    for index, module in enumerate(missing):
        what = f"{module.name} {module.version}"
        base = index * share
        archive = agent.root / "downloads" / f"{module.sha256}.tar.gz"
        if not kept_archive(agent, module):
            archive.unlink(missing_ok=True)
            agent._report(deployment, Phase.DOWNLOADING, base, f"downloading {what}")

            def progress(done: int, total: int | None, base: float = base) -> None:
                if total:
                    done_share = share * 0.8 * done / total
                    agent._report(deployment, Phase.DOWNLOADING, base + done_share)

            download(
                module.url,
                module.sha256,
                archive,
                what=what,
                cancelled=cancelled,
                progress=progress,
                timeout=agent.download_timeout,
                **agent.limits.download_options(),
            )
        if cancelled():
            raise Cancelled()
        agent._report(deployment, Phase.INSTALLING, base + share * 0.8, f"unpacking {what}")
        staging = agent.root / "staging" / f"{module.name}-{module.version}-{os.getpid()}"
        remove_tree(staging)  # unpack() refuses one that is still there
        unpack(archive, staging, what=what, **agent.limits.unpack_options())
        agent.kept.install(module, staging)
    for module in missing:  # unpacked and marked whole: the artifact is not needed
        (agent.root / "downloads" / f"{module.sha256}.tar.gz").unlink(missing_ok=True)


def kept_archive(agent: Agent, module: ModuleRef) -> bool:
    """Whether downloads/ holds `module`'s artifact, checked again (a disk can change)."""
    archive = agent.root / "downloads" / f"{module.sha256}.tar.gz"
    return archive.is_file() and file_sha256(archive) == module.sha256
