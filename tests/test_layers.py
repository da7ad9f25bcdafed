"""The layering contract of DESIGN.md, checked on every module's imports so it cannot rot.

ui -> engine -> core -> store; core and store never import Qt; engine never imports widgets;
nothing imports ui but the entry point.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "appupdater"
ENTRY_POINTS = {"appupdater.cli", "appupdater.__main__"}
# what each layer may import from the package (errors and the version are shared by all)
ALLOWED = {
    "store": {"store"},
    "core": {"store", "core"},
    "engine": {"store", "core", "engine"},
    "ui": {"store", "core", "engine", "ui"},
    "agent": {"agent"},
}
SHARED = ("appupdater.errors", "appupdater.__version__")
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
# the agent's API (standard library only) is also spoken by the engine's HTTP gateway
AGENT_PROTOCOL = "appupdater.agent.protocol"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        yield name, path


def imports_of(path: Path):
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def layer_of(module: str) -> str | None:
    """The layer a dotted name belongs to, or None for the shared top-level modules."""
    parts = module.split(".")
    return parts[1] if len(parts) >= 2 and parts[1] in ALLOWED else None


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=[m for m, _ in modules()])
def test_module_respects_layers(module, path):
    layer = layer_of(module)
    problems = []
    for imported in imports_of(path):
        top = imported.split(".")[0]
        if top in QT:
            if layer in ("core", "store", "agent"):
                problems.append(f"{module} ({layer}) imports Qt: {imported}")
            if layer == "engine" and any(w in imported for w in ("QtWidgets", "QtGui")):
                problems.append(f"{module} (engine) imports widgets: {imported}")
        if top != "appupdater" or imported == "appupdater" or imported.startswith(SHARED):
            continue
        if layer == "engine" and f"{imported}.".startswith(f"{AGENT_PROTOCOL}."):
            continue
        target = layer_of(imported)
        if target == "ui" and layer != "ui" and module not in ENTRY_POINTS:
            problems.append(f"{module} imports the ui: {imported}")
        if layer is not None and target is not None and target not in ALLOWED[layer]:
            problems.append(f"{module} ({layer}) imports {imported} ({target})")
        if layer == "agent" and target != "agent":
            problems.append(f"the agent must stand alone: {module} imports {imported}")
    assert not problems, "\n".join(problems)


def test_core_and_store_load_without_qt():
    code = (
        "import sys, pkgutil, importlib, appupdater.core, appupdater.store\n"
        "for pkg in (appupdater.core, appupdater.store):\n"
        "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "import appupdater.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_contract_test_sees_a_violation(tmp_path):
    """The checker itself: a core module importing Qt must be caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("from PySide6.QtCore import QObject\nimport appupdater.ui.app\n")
    found = list(imports_of(bad))
    assert "PySide6.QtCore" in found and "appupdater.ui.app" in found
    assert layer_of("appupdater.ui.app") == "ui"
    assert layer_of("appupdater.core.planning") == "core"
