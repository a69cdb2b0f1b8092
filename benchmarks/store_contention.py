"""How long an import holds the database's write lock while a live recording writes; JSON.

A recording commits every notification and waits for the write lock at most
``BUSY_TIMEOUT_S`` (then it stops with the StoreBusyError sentence), while an import writes a
whole recording in one transaction. Each scenario imports a recording of ``--hours``
(default 24) into a data folder where two other processes write at the same time:

* a probe that takes and releases the write lock (``BEGIN IMMEDIATE``; ``COMMIT``, fsynced)
  every 2 ms: its longest wait is how long the import kept every writer out;
* ``biofeedback record --speed 1`` (commits and fsyncs every notification, as with a strap):
  its exit status and whether it ever said "locked".

Scenarios:

* ``rr_cli``: ``biofeedback import`` of an RR text file (about 108,000 beats a day);
* ``ecg_130hz``, ``ecg_1khz``, ``ecg_1khz_3_leads``:
  :meth:`SessionStore.import_recording` of the beats with their ECG kept beside them:
  one lead at 130 Hz (Polar H10), one lead and three leads at 1 kHz (Holters). Finding the
  R-peaks of a file that size takes far longer than storing it; the transaction is the same.

Figures on this project's 2-core machine (``--hours 24``, other work running): the RR file
held the lock 0.53 s, 130 Hz ECG (45 MB) 0.43 s, 1 kHz ECG (346 MB) 4.3 s, three leads of
1 kHz ECG (1.04 GB) 9.4 s; with ``--hours 36`` three leads (1.56 GB) held it 12.5 s and the
live recording stopped with the StoreBusyError sentence.

Usage: ``python benchmarks/store_contention.py [--hours H] [--only SCENARIO]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

PROBE = r"""
import json, sqlite3, sys, time
from pathlib import Path
db, stop = sys.argv[1], Path(sys.argv[2])
conn = sqlite3.connect(db, isolation_level=None, timeout=600.0)
conn.execute("PRAGMA synchronous=FULL")
waits, commits = [], []
while not stop.exists():
    t0 = time.monotonic()
    conn.execute("BEGIN IMMEDIATE")
    t1 = time.monotonic()
    conn.execute("COMMIT")
    waits.append(t1 - t0)
    commits.append(time.monotonic() - t1)
    time.sleep(0.002)
waits.sort()
print(json.dumps({"lock_taken": len(waits), "longest_wait_s": round(waits[-1], 4),
                  "p99_wait_s": round(waits[int(0.99 * (len(waits) - 1))], 4),
                  "longest_commit_s": round(max(commits), 4)}))
"""
"""A writer that only takes the lock: its longest wait is the longest write transaction."""

STORE_IMPORT = r"""
import json, sys, time
import numpy as np
from biofeedback.core.channels import RawChannel
from biofeedback.core.recording import Recording
from biofeedback.store import SessionStore
db, hours, rate, leads = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(1)
rr = rng.normal(800.0, 40.0, int(hours * 3600 / 0.8))
ecg = rng.normal(0.0, 300.0, (int(hours * 3600 * rate), leads)).astype(np.float32)
recording = Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)
columns = tuple(f"lead {i + 1}" for i in range(leads))
channel = RawChannel("ECG", "ecg", "uV", rate, 0.0, columns, ecg, "holter.edf")
with SessionStore(db) as store:
    t0 = time.monotonic()
    store.import_recording(recording, source="import", channels=[channel])
    wall = time.monotonic() - t0
print(json.dumps({"beats": len(rr), "ecg_samples": ecg.shape[0],
                  "ecg_leads": leads, "ecg_stored_mb": round(ecg.size * 4 / 1e6, 1),
                  "import_recording_s": round(wall, 3)}))
"""
"""An import of beats with their ECG, through the store (R-peak finding skipped)."""


ECG_SCENARIOS = {"ecg_130hz": ("130", "1"), "ecg_1khz": ("1000", "1"),
                 "ecg_1khz_3_leads": ("1000", "3")}
"""ECG sampling rate (Hz) and number of leads of each ECG scenario."""


def env(data_dir: Path) -> dict[str, str]:
    out = dict(os.environ)
    out["BIOFEEDBACK_DATA_DIR"] = str(data_dir)
    out["PYTHONPATH"] = str(ROOT) + os.pathsep + out.get("PYTHONPATH", "")
    return out


def rr_file(path: Path, hours: float) -> Path:
    """A plain RR text file (ms, one a line) of ``hours`` of beats."""
    import numpy as np

    rng = np.random.default_rng(2)
    n = int(hours * 3600 / 0.8)
    rr = 800 + 50 * np.sin(np.arange(n) / 10.0) + rng.normal(0.0, 20.0, n)
    path.write_text("\n".join(f"{x:.0f}" for x in rr) + "\n", encoding="ascii")
    return path


def scenario(name: str, hours: float, work: Path) -> dict:
    data_dir = work / name
    db = data_dir / "biofeedback.sqlite3"
    e = env(data_dir)
    py = sys.executable
    cli = [py, "-m", "biofeedback"]
    subprocess.run([*cli, "record", "--source", "sim", "--speed", "max", "--duration", "60",
                    "--quiet", "--no-neurokit"], env=e, check=True, capture_output=True)
    stop = work / f"{name}.stop"
    probe = subprocess.Popen([py, "-c", PROBE, str(db), str(stop)], stdout=subprocess.PIPE,
                             text=True, env=e)
    live = subprocess.Popen([*cli, "record", "--source", "sim", "--speed", "1", "--seed", "7",
                             "--quiet", "--no-neurokit"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=e)
    live_id = int(live.stdout.readline())  # streaming: the session exists
    time.sleep(1.0)
    t0 = time.monotonic()
    if name == "rr_cli":
        rr_path = rr_file(work / "rr.txt", hours)
        out = subprocess.run([*cli, "import", str(rr_path), "--json"], env=e,
                             capture_output=True, text=True)
        imported = {"import_exit": out.returncode,
                    "beats": json.loads(out.stdout)["imported"][0]["beats"]}
    else:
        rate, leads = ECG_SCENARIOS[name]
        out = subprocess.run([py, "-c", STORE_IMPORT, str(db), str(hours), rate, leads], env=e,
                             capture_output=True, text=True)
        imported = {"import_exit": out.returncode, **json.loads(out.stdout)}
    import_wall = time.monotonic() - t0
    time.sleep(2.0)  # the checkpoint after the import's commit, while the recorder goes on
    stop.touch()
    probed = json.loads(probe.communicate(timeout=120)[0])
    live.terminate()
    _, live_err = live.communicate(timeout=60)
    import sqlite3

    with sqlite3.connect(db) as conn:
        live_beats = conn.execute("SELECT COUNT(*) FROM beats WHERE session_id = ?",
                                  (live_id,)).fetchone()[0]
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return {
        **imported,
        "import_wall_s": round(import_wall, 3),
        "write_lock_held_longest_s": probed["longest_wait_s"],
        "probe": probed,
        "live_recorder": {"exit": live.returncode, "beats": live_beats,
                          "said_locked": "locked" in live_err.lower(),
                          "stderr": live_err.strip()[-300:]},
        "database_mb": round(db.stat().st_size / 1e6, 1),
        "integrity_check": integrity,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0, help="length of each import, h")
    parser.add_argument("--only", help="run one scenario")
    args = parser.parse_args()
    from biofeedback.store.connection import BUSY_TIMEOUT_S

    names = ["rr_cli", *ECG_SCENARIOS]
    results = {"machine": machine(), "hours": args.hours, "busy_timeout_s": BUSY_TIMEOUT_S}
    with tempfile.TemporaryDirectory() as tmp:
        for name in [args.only] if args.only else names:
            results[name] = scenario(name, args.hours, Path(tmp))
            held = results[name]["write_lock_held_longest_s"]
            results[name]["busy_timeout_margin"] = round(BUSY_TIMEOUT_S / held, 1)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
