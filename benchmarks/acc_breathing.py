"""Accuracy and cost of the breathing rate from the chest accelerometer; prints JSON.

The virtual strap's ACC through rest (12/min), paced breathing (6/min) and a stressor with
fast shallow breathing (18-22/min at ``--depth`` of the usual amplitude), with movement
bursts (``--movement`` per minute), for ``--seeds`` seeds at each ACC rate (25, 50, 200 Hz).
Per rate and per phase: the error of the counted rate in 60-s windows stepped 10 s against
the true mean rate of the window (median, p95, share within 1 breath/min; the goal is
>= 95 %), the same for windows flagged reliable, the share flagged reliable, the share of
samples excluded as movement, and the CPU ms per hour of ACC.

Beside it (``rr_vs_acc``), the RR-based estimate the app has had so far (the RSA peak of the
last 60 s of RR, biofeedback.live.spectral.breathing_rate) against the ACC one on the same
virtual strap, whose simulator breathes rest 12/min (vagal level 0.5), paced 6/min (0.6)
and a stressor at 20/min with RSA nearly abolished (0.1): the RR-based estimate is allowed
to fail there, the ACC one is not. The truth is the simulator's own breathing, which its RSA
and the strap's chest motion both follow (the scheduled rate with a +-5 % wander).

    python benchmarks/acc_breathing.py [--seeds 5] [--depth 0.4] [--movement 1.0]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import machine  # type: ignore[import-not-found]
from acc_breathing_scenario import PHASES, acc_scenario  # type: ignore[import-not-found]

from biofeedback.core.acc_breathing import breathing_windows, respiration_signal
from biofeedback.live.spectral import breathing_rate, resample_nn
from sensors.simulated import PhysiologySegment, SimulationEngine
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

_STUDY = ((0.0, 12.0, 0.5), (300.0, 6.0, 0.6), (600.0, 20.0, 0.1))
"""Start s, breaths/min and vagal level of the simulator's phases in ``rr_vs_acc``."""


def rr_vs_acc(seeds: int) -> dict[str, object]:
    """Errors of the RR-based and the ACC-based rate in the same 60-s windows, per phase."""
    errors: dict[str, dict[str, list[float]]] = {
        name: {"rr": [], "acc": []} for name, _, _ in PHASES}
    for seed in range(seeds):
        source = SimulatedRRSource(seed)
        source.engine = SimulationEngine(seed, schedule=[
            PhysiologySegment(start_s=t, breaths_per_min=b, vagal_level=v) for t, b, v in _STUDY])
        track = BeatTrack(source)
        breathing = breathing_for(track)
        signals = ChestSignals(track, breathing, seed=seed)
        for _ in range(905):
            track.next_second()
        beats = np.asarray(track.r_times_s)
        t = np.arange(0.0, 900.0, 0.02)
        windows = breathing_windows(respiration_signal(t, signals.acc_mg(t)))
        for w in windows:
            phase = breathing.phase(np.array([w.start_s, w.end_s]))
            truth = float((phase[1] - phase[0]) / (2 * math.pi) / (w.end_s - w.start_s) * 60)
            inside = beats[(beats >= w.start_s) & (beats < w.end_s)]
            rr = breathing_rate(resample_nn(inside[1:], 1000.0 * np.diff(inside)))
            for name, start, end in PHASES:
                if w.start_s >= start and w.end_s <= end:
                    for key, value in (("rr", rr), ("acc", w.breaths_per_min)):
                        errors[name][key].append(
                            math.inf if value is None else abs(value - truth))
    return {name: {key: summary(v) for key, v in kinds.items()}
            for name, kinds in errors.items()}


def summary(errors: list[float]) -> dict[str, float | int | None]:
    """Median, p95 and share within 1/min of absolute errors (inf: no estimate)."""
    e = np.asarray(errors, dtype=float)
    if e.size == 0:
        return {"windows": 0, "median": None, "p95": None, "within_1_per_min": None}
    return {
        "windows": int(e.size),
        "median": round(float(np.median(e)), 3),
        "p95": round(float(np.percentile(e, 95)), 3),
        "within_1_per_min": round(float(np.mean(e <= 1.0)), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--depth", type=float, default=0.4, help="stressor breathing depth")
    parser.add_argument("--movement", type=float, default=1.0, help="bursts per minute")
    args = parser.parse_args()
    out: dict[str, object] = {
        "machine": machine(), "seeds": args.seeds, "stressor_depth": args.depth,
        "movement_per_min": args.movement, "window_s": 60.0, "step_s": 10.0, "rates": {},
    }
    for rate_hz in (25.0, 50.0, 200.0):
        errors: dict[str, list[float]] = {"all": [], "reliable": []}
        for name, _, _ in PHASES:
            errors[name] = []
        n_ok = n_all = 0
        cpu = 0.0
        moving = []
        duration = 0.0
        for seed in range(args.seeds):
            scenario = acc_scenario(seed, rate_hz, movement_per_min=args.movement,
                                    stressor_depth=args.depth)
            c0 = time.process_time()
            resp = respiration_signal(scenario.times_s, scenario.acc_mg)
            windows = breathing_windows(resp)
            cpu += time.process_time() - c0
            duration += float(scenario.times_s[-1] - scenario.times_s[0])
            moving.append(resp.movement_fraction)
            for w in windows:
                truth = scenario.true_rate(w.start_s, w.end_s)
                e = math.inf if w.breaths_per_min is None else abs(w.breaths_per_min - truth)
                errors["all"].append(e)
                n_all += 1
                if w.quality_ok:
                    errors["reliable"].append(e)
                    n_ok += 1
                for name, start, end in PHASES:
                    if w.start_s >= start and w.end_s <= end:
                        errors[name].append(e)
        out["rates"][f"{rate_hz:g}_hz"] = {  # type: ignore[index]
            **{key: summary(value) for key, value in errors.items()},
            "share_reliable": round(n_ok / n_all, 4),
            "movement_fraction": round(float(np.mean(moving)), 4),
            "cpu_ms_per_hour": round(1000.0 * cpu / duration * 3600.0, 1),
        }
    out["rr_vs_acc"] = rr_vs_acc(args.seeds)
    json.dump(out, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
