"""``compare --rr-source strap`` against ``--rr-source ecg`` on a study of stored strap
sessions with their raw ECG; prints JSON.

Each participant has one session of DURATION_S (default 1 h: baseline, a self-soothing and
an attention practice, a third each) recorded as the virtual strap sends it (RR once a second,
130.27-Hz ECG in 73-sample PMD frames, tests/ecg_sessions.py). The comparison runs twice
in-process with the same worker count, after a warm-up that imports neurokit2 and
statsmodels: the difference is what finding the R-peaks and matching the beats costs.
Usage: ``python benchmarks/compare_rr_source.py [PARTICIPANTS] [DURATION_S] [WORKERS]``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import machine, peak_rss_mb


def main() -> None:
    from ecg_sessions import record_strap_session

    from biofeedback.analysis.windows import WindowSettings
    from biofeedback.comparison.compare import compare
    from biofeedback.core.types import PhaseSpan
    from biofeedback.store import SessionStore

    participants = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    duration_s = float(sys.argv[2]) if len(sys.argv) > 2 else 3600.0
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    third = duration_s / 3.0
    phases = [
        PhaseSpan("baseline", "Baseline", "baseline", 0.0, third),
        PhaseSpan("touch", "Soothing touch", "practice", third, 2 * third, "soothing_touch",
                  "self_soothing"),
        PhaseSpan("breath", "Mindful breathing", "practice", 2 * third, duration_s,
                  "mindfulness_of_breathing", "attention"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        with SessionStore.open(folder) as store:
            for k in range(participants):
                record_strap_session(store, duration_s, seed=k + 1, participant=f"P{k + 1}",
                                     phases=phases)
        built_s = time.perf_counter() - started
        people = [f"P{k + 1}" for k in range(participants)]
        window = WindowSettings(length_s=min(240.0, third))
        compare(folder, participants=people[:1], window=window, workers=1)  # imports
        timings = {}
        for source in ("strap", "ecg"):
            started = time.perf_counter()
            result, _ = compare(folder, participants=people, window=window, workers=workers,
                                rr_source=source)
            timings[source] = time.perf_counter() - started
    agreement = result["ecg_rr"]["range"]
    print(json.dumps({
        "benchmark": "compare_rr_source",
        "participants": participants,
        "session_s": duration_s,
        "workers": workers,
        "build_s": round(built_s, 2),
        "compare_strap_s": round(timings["strap"], 3),
        "compare_ecg_s": round(timings["ecg"], 3),
        "ecg_extra_per_session_hour_s": round(
            (timings["ecg"] - timings["strap"]) * workers / participants
            / (duration_s / 3600.0), 3),
        "agreement_median_abs_dt_ms": agreement["ecg_median_abs_dt_ms"],
        "agreement_pairs": agreement["ecg_pairs"],
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
