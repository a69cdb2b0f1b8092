"""Replay a 24-hour synthetic recording through the live pipeline, one beat per batch.

Measures each :meth:`LiveProcessor.process_batch` (detector + indices + batch overhead) and,
separately, :meth:`LiveProcessor.refresh_spectral_if_due` called after every batch (the
max-speed worst case: one spectral refresh per second of session time), plus the lazy
:meth:`LiveProcessor.snapshot` after a beat. Prints JSON.

Usage: ``python benchmarks/live_per_beat.py [--hours 24] [--seed 0]``
"""

from __future__ import annotations

import argparse
import gc
import json
import time

import numpy as np

from biofeedback.core.types import Beat, BeatBatch
from biofeedback.live.processor import LiveProcessor
from biofeedback.live.synthetic import inject_artifacts, synth_rr


def _pct(values: list[int], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) / 1000.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--artifacts", type=float, default=0.005, help="artifact event fraction")
    args = ap.parse_args()

    rr = synth_rr(args.hours * 3600.0, mean_ms=850.0, rsa_ms=40.0, seed=args.seed)
    if args.artifacts > 0:
        rr, _, _ = inject_artifacts(rr, args.artifacts, seed=args.seed + 1)
    t = np.cumsum(rr) / 1000.0
    batches = [
        BeatBatch(tt, (Beat(r, tt, tt, None, seq),))
        for seq, (r, tt) in enumerate(zip(rr.tolist(), t.tolist(), strict=True))
    ]

    # the pre-built batches are not part of a live session: keep them out of the cyclic GC's
    # generations (a session holds one notification at a time)
    gc.collect()
    gc.freeze()
    proc = LiveProcessor()
    per_beat: list[int] = []
    refresh: list[int] = []
    snap: list[int] = []
    clock = time.perf_counter_ns
    t_start = time.perf_counter()
    for i, batch in enumerate(batches):
        a = clock()
        proc.process_batch(batch)
        b = clock()
        ran = proc.refresh_spectral_if_due()
        c = clock()
        per_beat.append(b - a)
        if ran:
            refresh.append(c - b)
        if i % 100 == 0:  # a UI reading at its own pace: the first read after beats is a miss
            a = clock()
            proc.snapshot()
            snap.append(clock() - a)
    proc.finish()
    total = time.perf_counter() - t_start
    print(
        json.dumps(
            {
                "n_beats": len(batches),
                "per_beat_us": {
                    "p50": round(_pct(per_beat, 50), 2),
                    "p90": round(_pct(per_beat, 90), 2),
                    "p99": round(_pct(per_beat, 99), 2),
                    "max": round(max(per_beat) / 1000.0, 2),
                    "mean": round(float(np.mean(per_beat)) / 1000.0, 2),
                },
                "per_beat_total_s": round(sum(per_beat) / 1e9, 3),
                "spectral_refresh_us": {
                    "count": len(refresh),
                    "p50": round(_pct(refresh, 50), 1),
                    "p99": round(_pct(refresh, 99), 1),
                },
                "spectral_refresh_total_s": round(sum(refresh) / 1e9, 3),
                "snapshot_p50_us": round(_pct(snap, 50), 2),
                "total_s": round(total, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
