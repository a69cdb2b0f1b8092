"""RR from 1 h of a chest strap's ECG and its agreement with the strap's RR; prints JSON.

The virtual strap's ECG (130.27 Hz, in 73-sample PMD frames, beats from the simulator with
its ectopic beats, noise and baseline wander) is analysed with
:func:`biofeedback.analysis.ecg_stream.rr_from_ecg_chunks`: the time it takes (neurokit2
import apart), how far its R-peaks lie from the true R times, and the time of
:func:`biofeedback.analysis.beat_agreement.beat_agreement` against the strap's cumulative RR
(0.4 s late). Usage: ``python benchmarks/ecg_rr_1h.py [DURATION_S]``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine, peak_rss_mb

RATE_HZ = 130.27


def main() -> None:
    from biofeedback.analysis.beat_agreement import beat_agreement, strap_beat_times
    from biofeedback.analysis.ecg_stream import rr_from_ecg_chunks
    from biofeedback.core.signals import SignalChunk
    from biofeedback.core.types import PhaseSpan
    from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
    from sensors.virtual.rr_source import SimulatedRRSource

    duration_s = float(sys.argv[1]) if len(sys.argv) > 1 else 3600.0
    track = BeatTrack(SimulatedRRSource(5))
    signals = ChestSignals(track, breathing_for(track), seed=5)
    n = int(duration_s * RATE_HZ) // 73 * 73
    t = np.arange(n) / RATE_HZ
    # Synthesised a minute at a time, as the strap sends it.
    minute = int(60 * RATE_HZ) // 73 * 73
    samples = np.concatenate([signals.ecg_uv(t[i:i + minute]) for i in range(0, n, minute)])
    chunks = [SignalChunk("ecg", float(t[i]), RATE_HZ, samples[i:i + 73].reshape(-1, 1), "uV",
                          first_index=i) for i in range(0, n, 73)]
    start = time.perf_counter()
    import neurokit2  # noqa: F401

    import_s = time.perf_counter() - start
    start = time.perf_counter()
    beats = rr_from_ecg_chunks(chunks)
    ecg_s = time.perf_counter() - start
    truth = np.asarray(track.r_times_s)
    nearest = np.clip(np.searchsorted(truth, beats.r_times_s), 1, truth.size - 1)
    left = np.abs(beats.r_times_s - truth[nearest - 1]) < np.abs(truth[nearest] - beats.r_times_s)
    errors_ms = np.abs(beats.r_times_s - truth[np.where(left, nearest - 1, nearest)]) * 1000.0
    inside = truth[(truth > 0.3) & (truth < t[-1] - 0.3)]
    strap = strap_beat_times(np.diff(inside) * 1000.0, inside[1:] + 0.4)
    phases = [PhaseSpan(f"p{i}", f"Phase {i}", "rest", i * 300.0, (i + 1) * 300.0)
              for i in range(int(duration_s // 300))]
    start = time.perf_counter()
    report = beat_agreement(beats.r_times_s, strap, phases)
    agreement_s = time.perf_counter() - start
    print(json.dumps({
        "benchmark": "ecg_rr_1h",
        "machine": machine(),
        "duration_s": duration_s,
        "n_samples": int(n),
        "n_true_beats": int(inside.size),
        "n_ecg_beats": int(beats.r_times_s.size),
        "n_ectopic": int(np.sum(np.asarray(track.ectopic)[(truth > 0.3) & (truth < t[-1] - 0.3)])),
        "neurokit2_import_s": round(import_s, 3),
        "rr_from_ecg_s": round(ecg_s, 3),
        "r_error_median_ms": round(float(np.median(errors_ms)), 3),
        "r_error_p95_ms": round(float(np.percentile(errors_ms, 95)), 3),
        "r_error_max_ms": round(float(errors_ms.max()), 3),
        "agreement_s": round(agreement_s, 3),
        "agreement": {k: v for k, v in report.overall.to_dict().items()
                      if k not in ("label", "start_s", "end_s")},
        "peak_rss_mb": round(peak_rss_mb(), 1),
    }, indent=2))


if __name__ == "__main__":
    main()
