"""What the window's process loads for a live session (issue 17 goal 5: memory)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A fresh interpreter, so that nothing another test imported counts: the real window,
# offscreen, runs a one-minute simulated session at max speed to its end.
_WINDOW_SESSION = """
import asyncio, sys, tempfile
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication([])
from biofeedback.session.launch import SessionRequest
from biofeedback.ui.event_loop import run_until_complete
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.preferences import WindowPreferences
window = MainWindow(Path(tempfile.mkdtemp()), WindowPreferences(), neurokit=False)
window.show()
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
window.close()
"""


def test_a_live_session_in_the_window_loads_no_scipy_pandas_or_neurokit2() -> None:
    # scipy.signal alone is ~77 MB of the window's process; only ACC filtering needs it.
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", _WINDOW_SESSION], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=env, timeout=120)
    n_beats, loaded = out.stdout.strip().splitlines()[-2:]
    assert int(n_beats) > 50  # the session ran and its beats reached the view
    assert loaded == "[]"
