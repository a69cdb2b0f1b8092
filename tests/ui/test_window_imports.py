"""What the window's process loads for a live session (issue 17 goal 5: memory)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from biofeedback.core.acc_breathing import IMPORT_SWITCH_INTERVAL_S

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter, so that nothing another test imported counts: the real window,
# offscreen, runs a one-minute simulated session at max speed to its end.
_WINDOW_SESSION = """
import asyncio, sys, tempfile, threading
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
gui_imports = []
class RecordGuiImports:
    # Asked for each module not yet imported: those the GUI thread imports from here on.
    def find_spec(self, name, path=None, target=None):
        if threading.current_thread() is threading.main_thread() and name.startswith("bio"):
            gui_imports.append(name)
        return None
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.event_loop import run_until_complete
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.preferences import WindowPreferences
window = MainWindow(Path(tempfile.mkdtemp()), WindowPreferences(), neurokit=False)
window.show()
sys.meta_path.insert(0, RecordGuiImports())
async def run():
    window.start_session(SessionRequest(source="sim", speed=None, record=False, seed=5,
                                        duration_s=60.0))
    await asyncio.sleep(0.5)
    while window.running:
        await asyncio.sleep(0.1)
run_until_complete(app, run)
print(window.live_view.traces.n_beats)
print(sorted(m for m in sys.modules if m.split(".")[0] in
             ("scipy", "neurokit2", "pandas", "matplotlib", "sklearn")))
print(sorted(set(gui_imports)))
print(sorted(m for m in _SESSION_VIEWS if m in sys.modules))
window.close()
"""
_SESSION_VIEWS = (
    "biofeedback.viewmodels.session_view",
    "biofeedback.viewmodels.signal_traces",
    "biofeedback.core.acc_breathing",
    "biofeedback.ui.signal_strip",
)
"""What the GUI thread needs when a session is attached and when its first ECG or ACC
arrives: imported by the session's set-up thread, not by the GUI thread (compiling them
there dropped the pacer's frames at the session's start)."""


@pytest.fixture(scope="module")
def window_session() -> list[str]:
    """The last lines the window's session script printed (a fresh interpreter, run once)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    script = _WINDOW_SESSION.replace("_SESSION_VIEWS", repr(_SESSION_VIEWS))
    out = subprocess.run([sys.executable, "-c", script], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=env, timeout=120)
    return out.stdout.strip().splitlines()[-4:]


def test_a_live_session_in_the_window_loads_no_scipy_pandas_or_neurokit2(
    window_session: list[str],
) -> None:
    # scipy.signal alone is ~77 MB of the window's process; only ACC filtering needs it.
    n_beats, loaded = window_session[:2]
    assert int(n_beats) > 50  # the session ran and its beats reached the view
    assert loaded == "[]"


def test_the_gui_thread_does_not_import_the_session_views(window_session: list[str]) -> None:
    gui_imports, loaded = (ast.literal_eval(line) for line in window_session[2:])
    assert set(gui_imports).isdisjoint(_SESSION_VIEWS), gui_imports
    assert loaded == sorted(_SESSION_VIEWS)  # all there, the strip's module before any ECG


_BACKGROUND_IMPORT = """
import sys
from biofeedback.core import acc_breathing
assert "scipy.signal" not in sys.modules
sys.setswitchinterval(0.005)
acc_breathing.import_filters_in_background()
during = sys.getswitchinterval()
acc_breathing._filters_import.join()
print(during, sys.getswitchinterval(), acc_breathing.filters_ready())
"""


def test_the_gil_is_handed_back_quickly_while_scipy_signal_is_imported_in_the_background(
) -> None:
    # The import is seconds of Python; at CPython's 5 ms the GUI thread waited up to that
    # for the GIL after each Qt call (a paint makes hundreds): a 2-s stall of the pacer.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _BACKGROUND_IMPORT], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=env, timeout=120)
    during, after, ready = out.stdout.split()
    # CPython keeps the interval in whole microseconds.
    assert float(during) == pytest.approx(IMPORT_SWITCH_INTERVAL_S, abs=1e-7)
    assert float(after) == 0.005  # set back once the import is done
    assert ready == "True"
