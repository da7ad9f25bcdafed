"""Artifacts carrying real lifecycle hooks (sh scripts) for the agent's tests: each hook appends
a line to an order file, so a test sees which ran, in which order, and with what environment."""

from __future__ import annotations

from pathlib import Path

from appupdater.agent.parsing import parse_configuration
from appupdater.demo.agents import module_files, write_tarball
from tests.agents import ArtifactServer

RECORD = 'echo "{hook} $APPUPDATER_MODULE $APPUPDATER_VERSION" >> {order}\n'


def hook_files(name: str, version: str, order: Path, **hooks: str) -> dict[str, str]:
    """A module's files with `hooks/<hook>` scripts: each records itself in `order`, then runs
    the body given for it ("" for none; a missing hook is not in the artifact)."""
    files = module_files(name, version)
    for hook, body in hooks.items():
        if hook == "health_timeout":
            files["hooks/health-timeout"] = body
            continue
        files[f"hooks/{hook}"] = "#!/bin/sh\n" + RECORD.format(hook=hook, order=order) + body
    return files


class HookArtifacts:
    """Module tarballs served over HTTP; `add` makes one, `configuration` asks for some."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.order = folder.parent / "order.txt"
        self.sha: dict[tuple[str, str], str] = {}
        self.server = ArtifactServer(folder)

    def add(self, name: str, version: str, **hooks: str) -> None:
        files = hook_files(name, version, self.order, **hooks)
        self.sha[(name, version)] = write_tarball(self.folder / f"{name}-{version}.tar.gz", files)

    def configuration(self, *modules: tuple[str, str], version: str = "1.0.0"):
        return parse_configuration(self.body(*modules, version=version))

    def body(self, *modules: tuple[str, str], version: str = "1.0.0") -> dict:
        entries = [
            {
                "name": name,
                "version": module_version,
                "url": f"{self.server.url}/{name}-{module_version}.tar.gz",
                "sha256": self.sha[(name, module_version)],
            }
            for name, module_version in modules
        ]
        return {"applications": [{"name": "line-monitor", "version": version, "modules": entries}]}

    def ran(self) -> list[str]:
        """The hooks that ran, in order ("start web-ui 2.0.0")."""
        return self.order.read_text().splitlines() if self.order.exists() else []

    def close(self) -> None:
        self.server.close()
