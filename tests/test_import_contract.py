"""Import contract: sensors/, protocols/ and the core of biofeedback/ never import Qt.

Only ``biofeedback/ui/`` may import Qt, and only one module there may import qasync (where
asyncio meets Qt). Checked twice: statically over every source file, and dynamically by
importing every non-UI module in a fresh interpreter.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("biofeedback", "sensors", "protocols")
QT_ROOTS = {"PySide6", "PySide2", "PyQt5", "PyQt6", "pyqtgraph", "qasync", "shiboken6", "qtpy"}
UI_PACKAGE = ROOT / "biofeedback" / "ui"
QASYNC_MODULE = UI_PACKAGE / "event_loop.py"


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
