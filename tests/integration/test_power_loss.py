"""Power loss: 200 seeded SIGKILLs of recordings, imports, exports, migrations and study
simulations, and 10 of real ``biofeedback`` processes; nothing committed lost, nothing
half-written visible, the next run works (the harness and its checks: tests/power_loss.py).

The harness runs in a fresh interpreter of its own: it forks a child per trial, which is only
safe from a process without threads (pytest's may have some).
"""

from __future__ import annotations

import json
import subprocess

from conftest import PYTHON, TESTS

SEED = 14
KILLS = 200
CLI_KILLS = 10


def test_two_hundred_kills_lose_nothing_committed(tmp_path):
    out = subprocess.run(
        [PYTHON, str(TESTS / "power_loss.py"), "--kills", str(KILLS), "--cli-kills",
         str(CLI_KILLS), "--seed", str(SEED), "--folder", str(tmp_path / "power-loss")],
        capture_output=True, text=True, timeout=280, cwd=TESTS.parent,
    )
    assert out.returncode in (0, 1), out.stderr[-3000:]
    report = json.loads(out.stdout)["power_loss"]
    assert report["failures"] == []
    assert out.returncode == 0
    assert report["kills"] == {"record": 60, "import": 40, "export": 40, "migrate": 40,
                               "study": 20}
    assert report["cli_kills"] == {"record": 4, "import": 3, "export": 3}
    assert report["kills_survived"] == report["total_kills"] == KILLS + CLI_KILLS
    # Every acknowledged notification, imported file, export and stored participant was
    # checked after its kill: thousands of them.
    assert report["acks_checked"] > 1000
