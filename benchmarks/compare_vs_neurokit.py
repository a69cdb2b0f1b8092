"""``compare`` against a plain loop of neurokit2 calls on the same windows; prints JSON.

Issue 17 goal 4: per-phase analysis of a study at least 2x faster than neurokit2 alone, with
the same values. On the simulated study of ``compare_study.py`` (100 participants x 2
sessions x 1 h; built once, reused with ``--data-dir``) this times, in one process after one
neurokit2 import, alternately:

- **plain**: per session, ``store.load_recording`` and
  :func:`biofeedback.analysis.plain_neurokit.plain_window_indices`: ``signal_fixpeaks`` for
  every classification, ``hrv_time``, ``hrv_frequency`` and ``intervals_process`` +
  ``signal_psd`` per window, with the comparison's settings (``DEFAULT_ANALYSIS``, the
  study's window settings);
- **compare**: :func:`biofeedback.comparison.compare.compare` with ``workers=1`` (one
  process, like the loop; it also builds the trajectories and fits the statistics);

and checks that every window's values agree to 1e-9 (relative). The ratio of each pair and
the median over ``--repeats`` pairs are printed.

    python benchmarks/compare_vs_neurokit.py [--participants 100] [--sessions 2]
                                             [--data-dir DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from compare_study import SESSION_MIN, build

STUDY = "bench"
RTOL = 1e-9


def plain_loop(data_dir: Path) -> tuple[float, dict[tuple[int, str], dict[str, Any]]]:
    """The neurokit2 loop over every window of the study: wall time and the values."""
    from biofeedback.analysis.plain_neurokit import plain_window_indices
    from biofeedback.analysis.windows import WindowSettings
    from biofeedback.comparison.compare import DEFAULT_ANALYSIS
    from biofeedback.comparison.dataset import select_sessions
    from biofeedback.store.database import SessionStore
    from biofeedback.store.studies import get_study

    started = time.perf_counter()
    values = {}
    with SessionStore.open_for_reading(data_dir) as store:
        sessions, _ = select_sessions(store, study=STUDY)
        windows = WindowSettings(
            exclusion_threshold_pct=get_study(store, STUDY).exclusion_threshold_pct)
        for ref in sessions:
            recording = store.load_recording(ref.session_id)
            for row in plain_window_indices(recording, windows, DEFAULT_ANALYSIS):
                values[(ref.session_id, row["phase_id"])] = row
    return time.perf_counter() - started, values


def ours(data_dir: Path) -> tuple[float, dict[tuple[int, str], dict[str, Any]]]:
    """``compare`` on the study in this process: wall time and each window's values."""
    from biofeedback.comparison.compare import compare

    started = time.perf_counter()
    _, rows = compare(data_dir, study=STUDY, workers=1)
    return time.perf_counter() - started, {(r.session_id, r.window["phase_id"]): r.window
                                           for r in rows}


def _close(a: float | None, b: float | None) -> float:
    """Relative difference (0 when both are None; inf when only one is)."""
    if a is None or b is None:
        return 0.0 if a is None and b is None else float("inf")
    return abs(a - b) / max(abs(a), abs(b)) if a != b else 0.0


def largest_difference(plain: dict[tuple[int, str], dict[str, Any]],
                       fast: dict[tuple[int, str], dict[str, Any]]) -> tuple[float, int]:
    """The largest relative difference over every window and index, and the values compared."""
    if plain.keys() != fast.keys():
        raise AssertionError("the two runs analysed different windows")
    worst, compared = 0.0, 0
    for key, p in plain.items():
        w = fast[key]
        pairs = [
            (p["n_beats"], w["n_beats"]), (p["artifact_pct"], w["artifact_pct"]),
            (p["rmssd_ms"], w["rmssd_ms"]), (p["lf_ms2"], w["lf_ms2"]),
            (None if p["mean_rr_ms"] is None else 60000.0 / p["mean_rr_ms"], w["hr_bpm"]),
        ]
        if w["hf_valid"]:
            pairs.append((p["hf_ms2"], w["hf_ms2"]))
        if w["breathing_source"] == "rr":
            pairs.append((p["breaths_per_min_rr"], w["breaths_per_min"]))
        for a, b in pairs:
            worst = max(worst, _close(a, b))
            compared += 1
    return worst, compared


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="reuse (or create) the study here")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-compare-nk-"))
    built = None
    if not (data_dir / "biofeedback.sqlite3").exists():
        built = build(data_dir, args.participants, args.sessions)
    started = time.perf_counter()
    import neurokit2  # noqa: F401 - paid once, by neither side

    import_s = time.perf_counter() - started
    pairs = []
    worst, compared = 0.0, 0
    for repeat in range(args.repeats):
        # Alternate which side runs first, so a machine getting busier favours neither.
        order = (plain_loop, ours) if repeat % 2 == 0 else (ours, plain_loop)
        timed = {f.__name__: f(data_dir) for f in order}
        plain_s, plain_values = timed["plain_loop"]
        ours_s, ours_values = timed["ours"]
        difference, compared = largest_difference(plain_values, ours_values)
        worst = max(worst, difference)
        pairs.append({"plain_neurokit2_s": round(plain_s, 2), "compare_s": round(ours_s, 2),
                      "ratio": round(plain_s / ours_s, 2)})
        print(f"pair {repeat + 1}/{args.repeats}: {pairs[-1]}", file=sys.stderr, flush=True)
    print(json.dumps({
        "benchmark": "compare_vs_neurokit",
        "participants": args.participants,
        "sessions_per_participant": args.sessions,
        "session_min": SESSION_MIN,
        "windows": len(ours_values),
        "built": built,
        "neurokit2_import_s": round(import_s, 2),
        "pairs": pairs,
        "median_plain_neurokit2_s": round(statistics.median(p["plain_neurokit2_s"]
                                                            for p in pairs), 2),
        "median_compare_s": round(statistics.median(p["compare_s"] for p in pairs), 2),
        "median_ratio": round(statistics.median(p["ratio"] for p in pairs), 2),
        "goal_ratio": 2.0,
        "values_compared": compared,
        "largest_relative_difference": worst,
        "values_equal_to_1e-9": worst <= RTOL,
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
