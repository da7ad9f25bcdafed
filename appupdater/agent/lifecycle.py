"""Activation with a health gate: stop the old versions, switch, start the new ones, check them.

For every module whose version changes, the agent runs the old version's ``hooks/stop``, switches
all links together, runs each new version's ``hooks/start``, then its ``hooks/health`` until it
passes or the health timeout (the version's ``hooks/health-timeout``, else the agent's
``--health-timeout``) runs out. The deployment succeeds only when every changed module is healthy
(or has no health hook: "unknown"). Otherwise the new versions are stopped, every link is put
back, the previous versions are started and checked, and the deployment fails with what the
health check said ("web-ui 2.0.0 unhealthy after 60 s: connection refused; rolled back to 1.0.0,
healthy"). Each step is journalled in state.json first (`activation.Journal`, its `step`), so an
agent stopped in the middle puts the links back when it starts and, before anything else, stops
the new versions and starts the previous ones again (`recover`). Modules without hooks are only
switched, as before hooks existed.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from appupdater.agent.activation import STARTING, STOPPING, Journal
from appupdater.agent.deployment import Deployment
from appupdater.agent.hooks import (
    HEALTH,
    HOOKS,
    START,
    STOP,
    HookContext,
    HookRefused,
    HookResult,
    health_timeout,
    run_hook,
    verified_hook,
)
from appupdater.agent.protocol import LogLevel, Phase
from appupdater.agent.pruning import remembered
from appupdater.agent.steps import Cancelled, StateNotSaved, StepFailed

if TYPE_CHECKING:
    from appupdater.agent.state import Agent

log = logging.getLogger("appupdater.agent")

HEALTHY, UNKNOWN, UNHEALTHY = "healthy", "unknown", "unhealthy"
HEALTH_RETRY = 1.0  # seconds between health attempts


class HealthGateFailed(StepFailed):
    """A changed module did not become healthy; the text says which, why, and how the device
    was rolled back (it is the deployment's whole message)."""


class Lifecycle:
    """Runs one activation's hooks and writes what they did into the deployment's log (the
    agent's own log when a restart recovers without a deployment)."""

    def __init__(self, agent: Agent, deployment: Deployment | None, cancel: threading.Event):
        self.agent = agent
        self.deployment = deployment
        self.cancel = cancel

    def say(self, level: LogLevel, text: str) -> None:
        if self.deployment is None:
            log.log(logging.WARNING if level is not LogLevel.INFO else logging.INFO, "%s", text)
            return
        with self.agent.lock:
            self.agent._log(self.deployment, level, text)

    def _run(
        self, module: str, version: str, previous: str | None, name: str, timeout: float
    ) -> HookResult | None:
        """Run one hook if the version has it (None if not); a hook that is refused fails."""
        modules = self.agent.modules.folder
        try:
            path = verified_hook(modules, module, version, name)
        except HookRefused as exc:
            return HookResult(False, str(exc))
        if path is None:
            return None
        state_dir = self.agent.root / "data" / module
        return run_hook(path, HookContext(module, version, previous, state_dir), timeout)

    def hook(self, module: str, version: str, previous: str | None, name: str) -> HookResult | None:
        """Run `hooks/<name>` of a version and log how it went, with its last output lines."""
        result = self._run(module, version, previous, name, self.agent.hook_timeout)
        if result is not None:
            done = "done" if result.ok else f"failed: {result.problem}"
            level = LogLevel.INFO if result.ok else LogLevel.WARNING
            self.say(level, f"{module} {version}: {HOOKS}/{name} {done}")
            for line in result.output:
                self.say(level, f"{module} {version} {HOOKS}/{name}: {line}")
        return result

    def health(self, module: str, version: str, previous: str | None) -> str:
        """Check health until it passes or the timeout runs out: "healthy", "unknown" (no
        health hook), or "unhealthy after N s: <last output line>"."""
        limit = health_timeout(
            self.agent.modules.folder, module, version, self.agent.health_timeout
        )
        started = time.monotonic()
        attempts = 0
        while True:
            attempts += 1
            left = limit - (time.monotonic() - started)
            timeout = min(self.agent.hook_timeout, max(left, 1.0))
            result = self._run(module, version, previous, HEALTH, timeout)
            if result is None:
                return UNKNOWN
            if result.ok:
                tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
                self.say(LogLevel.INFO, f"{module} {version} healthy ({tries})")
                return HEALTHY
            left = limit - (time.monotonic() - started)
            if left <= 0 or self.cancel.wait(min(self.agent.health_retry, left)):
                if self.cancel.is_set():
                    raise Cancelled()
                for line in result.output:
                    self.say(LogLevel.WARNING, f"{module} {version} {HOOKS}/{HEALTH}: {line}")
                text = f"{UNHEALTHY} after {limit:g} s: {result.reason}"
                self.say(LogLevel.ERROR, f"{module} {version} {text}")
                return text

    def roll_back(self, journal: Journal) -> dict[str, str]:
        """Stop the new versions (when they may have started), put every link back, start
        the previous versions and check them; module -> health of what runs again."""
        changed = journal.changed()
        if journal.step != STOPPING:
            for module, (_old, new) in changed.items():
                if new is not None:
                    self.hook(module, new, _old, STOP)
        with self.agent.lock:
            self.agent.modules.restore(journal)
        back: dict[str, str] = {}
        for module, (old, _new) in changed.items():
            if old is not None:
                self.hook(module, old, None, START)
                back[module] = self.health(module, old, None)
        with self.agent.lock:
            self.agent.journal = None
            health = {m: h for m, h in self.agent.health.items() if m not in changed}
            self.agent.health = health | back
            self.agent._save()
        return back


def _rolled_back_text(journal: Journal, back: dict[str, str]) -> str:
    """How the device was put back: "rolled back to 1.0.0, healthy" for one module, each
    module named for more; a module that had no version before is deactivated."""
    changed = journal.changed()
    parts = []
    for module, (old, _new) in changed.items():
        if old is None:
            parts.append(f"{module} deactivated (it had no version before)")
        else:
            label = old if len(changed) == 1 else f"{module} {old}"
            parts.append(f"{label}, {back.get(module, UNKNOWN)}")
    every_one_back = all(old is not None for old, _new in changed.values())
    return ("rolled back to " if every_one_back else "rolled back: ") + "; ".join(parts)


def activate(agent: Agent, deployment: Deployment, cancel: threading.Event) -> None:
    """Stop, switch, start and check every changed module, journalled so it can be undone;
    HealthGateFailed (or what else stopped it) after the device is rolled back."""
    wanted = {m.name: m.version for m in deployment.configuration.modules}
    with agent.lock:
        journal = replace(agent.modules.journal_for(deployment.id, wanted), step=STOPPING)
        agent.journal = journal
        agent._save()
    agent._report(
        deployment,
        Phase.INSTALLING,
        70,
        "activating " + (", ".join(f"{m} {v}" for m, v in sorted(wanted.items())) or "no modules"),
    )
    life = Lifecycle(agent, deployment, cancel)
    changed = journal.changed()
    try:
        for module, (old, _new) in changed.items():
            if old is not None:
                life.hook(module, old, None, STOP)
        with agent.lock:
            agent.journal = journal = replace(journal, step=STARTING)
            agent._save()
        agent.modules.switch(journal, wanted)
        for module, version in journal.deactivated(wanted).items():
            agent._report(
                deployment, Phase.INSTALLING, 80, f"deactivated {module} {version} (kept on disk)"
            )
        failures: dict[str, str] = {}
        for module, (old, new) in changed.items():
            if new is not None:
                started = life.hook(module, new, old, START)
                if started is not None and not started.ok:
                    said = f" ({started.output[-1]})" if started.output else ""
                    failures[module] = f"{UNHEALTHY}: {started.problem}{said}"
        agent._report(deployment, Phase.VERIFYING, 90, "verifying the active modules")
        agent.modules.check(wanted)
        health = {m: h for m, h in agent.health.items() if m in wanted}
        for module, (old, new) in changed.items():
            if new is not None and module not in failures:
                health[module] = life.health(module, new, old)
                if health[module].startswith(UNHEALTHY):
                    failures[module] = health[module]
        if failures:
            raise HealthGateFailed(
                "; ".join(f"{m} {wanted[m]} {text}" for m, text in failures.items())
            )
        with agent.lock:
            previous = agent.installed, agent.recent, agent.health
            agent.installed, agent.journal = deployment.configuration.installed(), None
            agent.recent = remembered(agent.recent, wanted, journal.previous)
            agent.health = {m: health.get(m, UNKNOWN) for m in wanted}
            deployment.health = dict(agent.health)
            try:
                agent._save()
            except StateNotSaved:  # not recorded: the links go back to what is
                (agent.installed, agent.recent, agent.health), agent.journal = previous, journal
                raise
    except BaseException as exc:
        back = life.roll_back(journal)
        with agent.lock:
            deployment.health = dict(agent.health)
        if isinstance(exc, HealthGateFailed):
            raise HealthGateFailed(f"{exc}; {_rolled_back_text(journal, back)}") from None
        raise


def recover(agent: Agent, deployment: Deployment | None) -> None:
    """Finish undoing an activation a stopped agent left journalled (its links are back
    already, `Agent._load`): stop the new versions, start the previous ones, check them."""
    journal = agent.journal
    if journal is None:
        return
    life = Lifecycle(agent, deployment, threading.Event())
    life.say(
        LogLevel.WARNING,
        "the agent stopped while activating; stopping the new versions and starting the "
        "previous ones again",
    )
    back = life.roll_back(journal)
    life.say(LogLevel.INFO, _rolled_back_text(journal, back))
