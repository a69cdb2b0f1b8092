"""Import contract: the declared layers, and where Qt and qasync may be imported.

``LAYERS`` below is the one table of which package may import which (the README's
architecture table and docs/architecture.md show the same). It is checked statically over
every import statement in the source, function-level and ``TYPE_CHECKING`` imports included,
so a lazy import cannot hide a wrong-way edge or a cycle. Qt is confined to
``biofeedback/ui/`` (checked statically and by importing every other module in a fresh
interpreter), and qasync to the one module where asyncio meets Qt.
"""

from __future__ import annotations

import ast
import graphlib
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("biofeedback", "sensors", "protocols")
QT_ROOTS = {"PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6", "qtpy"}
UI_PACKAGE = ROOT / "biofeedback" / "ui"
QASYNC_MODULE = UI_PACKAGE / "event_loop.py"

# The one table of which layer may import which: a layer is a top-level package (sensors,
# protocols) or a sub-package of biofeedback, listed after everything it may import. The
# virtual BlueZ (sensors.virtual, used by tests) is a layer of its own so that no real source
# can lean on it; its command line alone reads RR files (io). "biofeedback" is the package's
# own __init__/__main__.
LAYERS: dict[str, tuple[str, ...]] = {
    "core": (),
    "stats": ("core",),
    "protocols": ("core",),
    "audio": ("core", "protocols"),
    "live": ("core",),
    "io": ("core",),
    "store": ("core",),
    "sensors": ("core", "protocols"),
    "sensors.virtual": ("core", "sensors", "io"),
    "analysis": ("core", "live"),
    "lsl": ("core", "live"),
    "figures": ("core", "analysis"),
    "comparison": ("core", "protocols", "analysis", "stats", "store", "figures"),
    "export": ("core", "io", "store"),
    "importing": ("core", "io", "live", "analysis", "store"),
    "session": (
        "core", "protocols", "audio", "live", "io", "store", "sensors", "lsl", "importing",
        "analysis",
    ),
    "simulation": ("core", "protocols", "live", "store", "sensors", "session"),
    "viewmodels": ("core", "protocols", "live", "store", "analysis", "comparison", "session"),
    "ui": ("core", "protocols", "audio", "live", "session", "viewmodels"),
    "cli": (
        "core", "stats", "protocols", "audio", "live", "io", "store", "sensors", "analysis", "lsl",
        "figures", "comparison", "export", "importing", "session", "simulation", "viewmodels",
        "ui",
    ),
    "biofeedback": ("cli",),
}


@dataclass(frozen=True, slots=True)
class Edge:
    """One import of one layer by another, where it is written."""

    importer: str
    imported: str
    path: str
    line: int


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (None for a module outside the project)."""
    parts = module.split(".")
    if parts[0] == "biofeedback":
        return "biofeedback" if len(parts) == 1 or parts[1] == "__main__" else parts[1]
    if parts[0] == "sensors":
        return "sensors.virtual" if parts[1:2] == ["virtual"] else "sensors"
    if parts[0] == "protocols":
        return "protocols"
    return None


def module_name(path: Path, root: Path) -> str:
    """Dotted name of a source file under ``root``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> list[tuple[str, int]]:
    """Every project module a file imports, with its line: top-level, function-level and
    ``TYPE_CHECKING`` imports alike, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            # "from biofeedback import cli" imports the sub-package biofeedback.cli.
            names = [f"{module}.{alias.name}" for alias in node.names]
            found.extend((n if layer_of(n) != layer_of(module) else module, node.lineno)
                         for n in names)
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            found.append((str(node.args[0].value), node.lineno))
    return found


def layer_edges(root: Path) -> list[Edge]:
    """Every import from one layer into another in the source tree under ``root``."""
    edges = []
    for pkg in PACKAGES:
        for path in sorted((root / pkg).rglob("*.py")):
            importer = layer_of(module_name(path, root))
            for module, line in imported_modules(path, root):
                imported = layer_of(module)
                if importer and imported and imported != importer:
                    edges.append(Edge(importer, imported, str(path.relative_to(root)), line))
    return edges


def wrong_way(edges: list[Edge]) -> list[str]:
    """The edges the layer table does not allow, as 'path:line: a imports b' lines."""
    return [
        f"{e.path}:{e.line}: {e.importer} imports {e.imported}"
        for e in edges
        if e.imported not in LAYERS.get(e.importer, ())
    ]


def test_the_layer_table_has_no_cycle_and_names_only_layers():
    order = list(graphlib.TopologicalSorter(LAYERS).static_order())  # raises on a cycle
    assert set(order) == set(LAYERS)
    for layer, allowed in LAYERS.items():
        assert layer not in allowed
        # Listed after everything it may import, so the table reads bottom-up.
        assert all(list(LAYERS).index(dep) < list(LAYERS).index(layer) for dep in allowed)


def test_every_import_goes_down_the_layer_table():
    edges = layer_edges(ROOT)
    assert len(edges) > 100  # the scan sees the project's imports
    assert wrong_way(edges) == []


def test_every_layer_is_a_package_of_the_tree():
    on_disk = {layer_of(module_name(p, ROOT)) for pkg in PACKAGES
               for p in (ROOT / pkg).rglob("__init__.py")}
    assert on_disk - {None} <= set(LAYERS)
    assert set(LAYERS) <= on_disk | {"biofeedback"}


def test_a_wrong_way_import_fails_even_when_it_is_lazy(tmp_path):
    # A synthetic tree: core importing the window inside a function, the store importing
    # protocols under TYPE_CHECKING, and a relative import from io into store.
    for pkg in ("biofeedback/core", "biofeedback/store", "biofeedback/io", "biofeedback/ui",
                "sensors", "protocols"):
        (tmp_path / pkg).mkdir(parents=True, exist_ok=True)
        (tmp_path / pkg / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "biofeedback/__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "biofeedback/core/bad.py").write_text(
        "def later():\n    from biofeedback.ui.main_window import MainWindow\n"
        "    return MainWindow\n",
        encoding="utf-8",
    )
    (tmp_path / "biofeedback/store/typed.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from protocols.model import PracticeProtocol\n",
        encoding="utf-8",
    )
    (tmp_path / "biofeedback/io/rel.py").write_text(
        "from ..store import database\n", encoding="utf-8"
    )
    (tmp_path / "biofeedback/ui/fine.py").write_text(
        "from biofeedback.core import bad\n", encoding="utf-8"
    )
    assert sorted(wrong_way(layer_edges(tmp_path))) == [
        "biofeedback/core/bad.py:2: core imports ui",
        "biofeedback/io/rel.py:1: io imports store",
        "biofeedback/store/typed.py:3: store imports protocols",
    ]


def test_the_readme_shows_the_layer_table():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {}
    for line in readme.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in LAYERS:
            rows[cells[0]] = tuple(
                c.strip().strip("`") for c in cells[1].split(",") if c.strip() not in ("", "—")
            )
    assert rows == {k: v for k, v in LAYERS.items()}, "README's layer table differs"


def source_files() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            roots.add(str(node.args[0].value).split(".")[0])
    return roots


def test_no_qt_outside_the_ui_package():
    offenders = {
        str(p.relative_to(ROOT)): sorted(imported_roots(p) & QT_ROOTS)
        for p in source_files()
        if UI_PACKAGE not in p.parents and imported_roots(p) & QT_ROOTS
    }
    assert offenders == {}


def test_qasync_only_in_the_event_loop_module():
    users = [
        str(p.relative_to(ROOT)) for p in source_files()
        if "qasync" in imported_roots(p) and p != QASYNC_MODULE
    ]
    assert users == []


def test_the_scan_sees_imports(tmp_path):
    # Guard against a contract test that cannot fail: the scanner must see each import form.
    sample = tmp_path / "m.py"
    sample.write_text(
        "import PySide6.QtCore\nfrom pyqtgraph import PlotWidget\n"
        "import importlib\nimportlib.import_module('qasync')\n",
        encoding="utf-8",
    )
    assert imported_roots(sample) >= {"PySide6", "pyqtgraph", "qasync"}


def test_importing_every_non_ui_module_loads_no_qt():
    modules = []
    for p in source_files():
        if UI_PACKAGE in p.parents or p == UI_PACKAGE / "__init__.py":
            continue
        rel = p.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules.append(".".join(parts))
    qt = sorted(QT_ROOTS)
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in {qt!r})))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == []
    assert len(modules) > 10
