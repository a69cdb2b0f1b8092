"""``analyze`` of a 1-h recording (per-phase neurokit2 analysis); prints JSON.

Times the neurokit2 import separately, then the analysis of a simulated 1-h recording with
2 % artifacts, as one whole-recording phase and as twelve 5-min phases, with kubios correction
and without. Usage: ``python benchmarks/analyze_1h.py``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, peak_rss_mb


def main() -> None:
    from biofeedback.analysis import AnalysisSettings, analyze_recording
    from biofeedback.core.recording import Recording
    from biofeedback.core.types import PhaseSpan
    from sensors.simulated import ArtifactRates, simulate_recording

    sim = simulate_recording(3600.0, seed=3, artifacts=ArtifactRates.from_total(0.02))
    truth = sim.truth
    rr = np.asarray(truth.delivered_rr_ms, dtype=np.float64)
    t = np.asarray(truth.delivered_time_s, dtype=np.float64)
    t0 = time.perf_counter()
    import neurokit2  # noqa: F401

    import_s = time.perf_counter() - t0
    phases = [PhaseSpan(f"p{i}", f"Phase {i}", "rest", i * 300.0, (i + 1) * 300.0)
              for i in range(12)]
    results = {}
    for label, rec_phases in (("whole", []), ("12_phases", phases)):
        for correction in ("kubios", "none"):
            rec = Recording(rr_ms=rr, time_s=t, phases=rec_phases, name="1 h")
            start = time.perf_counter()
            analyze_recording(rec, AnalysisSettings(correction=correction))
            results[f"{label}_{correction}_s"] = round(time.perf_counter() - start, 3)
    print(json.dumps({
        "benchmark": "analyze_1h",
        "machine": machine(),
        "n_beats": int(rr.size),
        "neurokit2_import_s": round(import_s, 3),
        **results,
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
