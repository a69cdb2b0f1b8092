"""``compare`` on a simulated study: time and peak memory, using every core; prints JSON.

Builds (once; reused with ``--data-dir``) a study of N simulated participants x K sessions of
about 1 h each (practice_comparison stretched to 60 min: baseline, two 15-min practices in the
participant's counterbalanced order, washout, recovery), then times
``biofeedback compare --study ... --json`` in a fresh process (its peak RSS and that of its
worker processes are reported separately).

    python benchmarks/compare_study.py [--participants 100] [--sessions 2] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine

SESSION_MIN = 60.0
PRACTICE_COMPARISON_MIN = 39.0  # the built-in template's length


def build(data_dir: Path, participants: int, sessions: int) -> dict:
    from biofeedback.simulation import simulate_study
    from biofeedback.store import SessionStore

    started = time.perf_counter()
    with SessionStore.open(data_dir) as store:
        study = simulate_study(
            store, "bench", participants=participants, effect_ln_rmssd=0.2, seed=1,
            sessions_per_participant=sessions,
            duration_scale=SESSION_MIN / PRACTICE_COMPARISON_MIN,
            progress=lambda i, n: print(f"\rbuilding: participant {i}/{n}", end="",
                                        file=sys.stderr, flush=True),
        )
    print(file=sys.stderr)
    return {"sessions": len(study.session_ids), "build_s": round(time.perf_counter() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="reuse (or create) the study here")
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-compare-"))
    built = None
    if not (data_dir / "biofeedback.sqlite3").exists():
        built = build(data_dir, args.participants, args.sessions)
    env = dict(os.environ, BIOFEEDBACK_DATA_DIR=str(data_dir))
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "biofeedback", "compare", "--study", "bench", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )
    wall = time.perf_counter() - started
    result = json.loads(out.stdout)
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    ln = next(c for c in result["comparisons"] if c["metric"] == "delta_ln_rmssd")
    print(json.dumps({
        "benchmark": "compare_study",
        "participants": args.participants,
        "sessions_per_participant": args.sessions,
        "session_min": SESSION_MIN,
        "built": built,
        "compare_wall_s": round(wall, 2),
        "sessions_per_s": round(len(result["settings"]["sessions"]) / wall, 2),
        "peak_rss_mb_largest_process": round(children, 1),
        "delta_ln_rmssd": {k: ln[k] for k in ("n", "mean_diff", "ci_low", "ci_high")},
        "true_effect": 0.2,
        "cpus": os.cpu_count(),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
