"""Time from process start to a visible window (goal: under 1.5 s), in fresh processes.

Runs ``python -m biofeedback app --quit-after 0.5`` on the offscreen platform with a private
data folder; the app prints ``window visible at T`` (``time.monotonic()``, a clock the
machine's processes share) at its first frame, and the time to a visible window is T minus the
moment this script started the process, so interpreter start-up and every import are
included.

    python benchmarks/ui_startup.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from _common import ROOT, machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    times: list[float] = []
    neurokit_loaded: list[bool] = []
    with tempfile.TemporaryDirectory() as data:
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", BIOFEEDBACK_DATA_DIR=data,
                   BIOFEEDBACK_REPORT_STARTUP="1")
        for _ in range(args.runs):
            spawned = time.monotonic()
            out = subprocess.run(
                [sys.executable, "-m", "biofeedback", "app", "--quit-after", "0.5"],
                capture_output=True, text=True, env=env, cwd=ROOT, check=True,
            )
            found = re.search(r"window visible at ([0-9.]+) .*neurokit2 imported: (\w+)",
                              out.stdout)
            if found is None:
                raise SystemExit(f"no start-up report in: {out.stdout!r} {out.stderr!r}")
            times.append(float(found.group(1)) - spawned)
            neurokit_loaded.append(found.group(2) == "yes")
    print(json.dumps({
        "benchmark": "ui_startup",
        "runs": args.runs,
        "time_to_visible_window_s": {
            "min": round(min(times), 3),
            "median": round(statistics.median(times), 3),
            "max": round(max(times), 3),
        },
        "goal_s": 1.5,
        "neurokit2_imported_before_window": any(neurokit_loaded),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
