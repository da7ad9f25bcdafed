"""The layering contract of DESIGN.md, checked on every module's imports so it cannot rot.

ui -> engine -> core -> store, with the device agent standing alone; core and store never
import Qt; engine never imports widgets; nothing imports ui but the entry point. Within the
layers: the overview and the wizard do not import each other, the overview's feed is Qt-free,
gateways sit below the engine and only the builder assembles them, and core holds domain logic
only (no processes, sockets or archives).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "appupdater"
# what each part may import from the package, besides itself and the shared modules
ALLOWED = {
    "store": set(),
    "core": {"store"},
    "desktop": {"store"},
    "engine": {"store", "core"},
    "demo": {"store", "core", "engine", "agent"},
    "agent": set(),
    "ui": {"store", "core", "engine", "desktop", "demo"},
    "cli": {"store", "core", "engine", "desktop", "demo", "agent", "ui"},
    "__main__": {"cli"},
}
# shared by every part: the errors, the collector around big loads, the naming rule, the version
SHARED = ("appupdater.errors", "appupdater.heap", "appupdater.names", "appupdater.__version__")
QT = ("PySide6", "shiboken6", "PyQt5", "PyQt6")
QT_FREE = ("store", "core", "desktop", "demo", "agent")
NOT_DOMAIN = ("subprocess", "socket", "ssl", "http", "urllib.request", "tarfile", "shutil")
# (importer prefix, imported prefix): never
FORBIDDEN = [
    ("appupdater.ui.overview", "appupdater.ui.wizard"),
    ("appupdater.ui.wizard", "appupdater.ui.overview"),
    ("appupdater.engine.gateways", "appupdater.engine.engine"),
    ("appupdater.engine.gateways", "appupdater.engine.build"),
    ("appupdater.engine.gateways", "appupdater.engine.execution"),
]
# (importer part, module): allowed across parts that may not import each other otherwise
BRIDGES = [("engine", "appupdater.agent.protocol")]  # what engine and agent agree on
# the concrete gateways are assembled in one place (and the fleet gateway that picks per device)
GATEWAYS = ("appupdater.engine.gateways.http", "appupdater.engine.gateways.simulated")
GATEWAY_BUILDERS = {
    "appupdater.engine.build",
    "appupdater.engine.gateways.fleet",
    *GATEWAYS,
}


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


def under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def shared(module: str) -> bool:
    return module == "appupdater" or any(under(module, s) for s in SHARED)


def part_of(module: str) -> str | None:
    """The part a dotted name of the package belongs to; None for the shared modules."""
    parts = module.split(".")
    if parts[0] != "appupdater" or shared(module):
        return None
    return parts[1]


def problems_of(module: str, imported_names) -> list[str]:
    part = part_of(module)
    problems = []
    for imported in imported_names:
        top = imported.split(".")[0]
        if top in QT:
            if part in QT_FREE or under(module, "appupdater.ui.overview.feed"):
                problems.append(f"{module} must not import Qt: {imported}")
            if part == "engine" and any(w in imported for w in ("QtWidgets", "QtGui")):
                problems.append(f"{module} (engine) imports widgets: {imported}")
        if part == "core" and any(under(imported, n) for n in NOT_DOMAIN):
            problems.append(f"{module} (core: domain logic only) imports {imported}")
        if part == "agent" and top != "appupdater" and top not in sys.stdlib_module_names:
            problems.append(
                f"the agent needs only the standard library: {module} imports {imported}"
            )
        if top != "appupdater" or shared(imported):
            continue
        target = part_of(imported)
        bridged = any(part == p and under(imported, m) for p, m in BRIDGES)
        if target is None or target == part or bridged:
            pass
        elif part is not None and target not in ALLOWED.get(part, set()):
            problems.append(f"{module} ({part}) imports {imported} ({target})")
        for importer, forbidden in FORBIDDEN:
            if under(module, importer) and under(imported, forbidden):
                problems.append(f"{module} imports {imported}")
        if any(under(imported, g) for g in GATEWAYS) and module not in GATEWAY_BUILDERS:
            problems.append(f"{module} constructs gateways itself: only engine.build does")
    return problems


@pytest.mark.parametrize(("module", "path"), list(modules()), ids=[m for m, _ in modules()])
def test_module_respects_layers(module, path):
    assert part_of(module) in (*ALLOWED, None), f"{module}: a part the contract does not know"
    problems = problems_of(module, imports_of(path))
    assert not problems, "\n".join(problems)


def test_qt_free_parts_load_without_qt():
    code = (
        "import sys, pkgutil, importlib\n"
        "import appupdater.core, appupdater.store, appupdater.demo, appupdater.agent\n"
        "for pkg in (appupdater.core, appupdater.store, appupdater.demo, appupdater.agent):\n"
        "    for info in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if not info.name.endswith('__main__'):\n"
        "            importlib.import_module(info.name)\n"
        "import appupdater.desktop, appupdater.heap, appupdater.ui.overview.feed\n"
        "import appupdater.cli\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.parametrize(
    ("module", "imported", "found"),
    [
        ("appupdater.core.planning", "PySide6.QtCore", "must not import Qt"),
        ("appupdater.core.planning", "subprocess", "domain logic only"),
        ("appupdater.core.planning", "appupdater.engine.engine", "(core) imports"),
        ("appupdater.store.db", "appupdater.core.catalog", "(store) imports"),
        ("appupdater.engine.engine", "PySide6.QtWidgets", "imports widgets"),
        ("appupdater.engine.engine", "appupdater.ui.app", "(engine) imports"),
        ("appupdater.ui.overview.window", "appupdater.ui.wizard.state", "imports"),
        ("appupdater.ui.overview.feed", "PySide6.QtCore", "must not import Qt"),
        ("appupdater.engine.gateways.http", "appupdater.engine.engine", "imports"),
        ("appupdater.engine.headless", "appupdater.engine.gateways.simulated", "constructs"),
        ("appupdater.agent.state", "peewee", "standard library"),
        ("appupdater.agent.state", "appupdater.core.jobs", "(agent) imports"),
        ("appupdater.demo.agents", "appupdater.ui.app", "(demo) imports"),
        ("appupdater.engine.gateways.http", "appupdater.agent.state", "(engine) imports"),
    ],
)
def test_the_contract_catches(module, imported, found):
    """The checker itself: each kind of violation is found."""
    problems = problems_of(module, [imported])
    assert any(found in p for p in problems), problems


def test_allowed_imports_pass():
    assert not problems_of("appupdater.ui.overview.window", ["appupdater.ui.overview.feed"])
    assert not problems_of("appupdater.engine.build", ["appupdater.engine.gateways.http"])
    assert not problems_of("appupdater.core.runs", ["appupdater.heap", "appupdater.errors"])
    assert not problems_of("appupdater.agent.server", ["http.server", "appupdater.agent.state"])
    assert not problems_of("appupdater.engine.gateways.http", ["appupdater.agent.protocol"])
