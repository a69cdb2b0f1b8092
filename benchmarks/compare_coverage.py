"""Coverage and false-positive rate of ``compare`` on seeded simulated studies; prints JSON.

Each repetition simulates a study (participants with a known self-soothing vs attention
effect on lnRMSSD, sessions shortened for speed) through the live pipeline and runs the
comparison. Reports how often the 95 % CI of the mean difference covers the participants'
mean true effect, the sign, and, for a null effect, how often p < 0.05.

    python benchmarks/compare_coverage.py [--reps 40] [--participants 10] [--effect 0.3]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine


def one(folder: Path, effect: float, seed: int, participants: int, scale: float) -> dict:
    from biofeedback.comparison.compare import compare
    from biofeedback.simulation import simulate_study
    from biofeedback.store import SessionStore

    with SessionStore.open(folder) as store:
        sim = simulate_study(store, "cov", participants=participants, effect_ln_rmssd=effect,
                             seed=seed, duration_scale=scale)
    result, _ = compare(folder, study="cov", workers=2)
    ln = next(c for c in result["comparisons"] if c["metric"] == "delta_ln_rmssd")
    truth = sim.mean_true_effect
    return {"truth": truth, "covered": ln["ci_low"] <= truth <= ln["ci_high"],
            "positive": ln["mean_diff"] > 0, "p_t": ln["p_t"], "p_w": ln["p_wilcoxon"],
            "n": ln["n"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reps", type=int, default=40)
    parser.add_argument("--participants", type=int, default=10)
    parser.add_argument("--effect", type=float, default=0.3)
    parser.add_argument("--scale", type=float, default=0.15)
    args = parser.parse_args()
    started = time.perf_counter()
    arms = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, effect, base in (("effect", args.effect, 1000), ("null", 0.0, 5000)):
            runs = []
            for k in range(args.reps):
                runs.append(one(Path(tmp) / f"{name}-{k}", effect, base + k,
                                args.participants, args.scale))
                print(f"\r{name}: {k + 1}/{args.reps}", end="", file=sys.stderr, flush=True)
            print(file=sys.stderr)
            arms[name] = {
                "effect_ln_rmssd": effect,
                "ci_covers_truth": sum(r["covered"] for r in runs) / len(runs),
                "right_sign": sum(r["positive"] == (effect > 0) for r in runs) / len(runs)
                if effect else None,
                "p_t_below_0.05": sum(r["p_t"] is not None and r["p_t"] < 0.05
                                      for r in runs) / len(runs),
                "p_wilcoxon_below_0.05": sum(r["p_w"] is not None and r["p_w"] < 0.05
                                             for r in runs) / len(runs),
                "mean_n": sum(r["n"] for r in runs) / len(runs),
            }
    print(json.dumps({"benchmark": "compare_coverage", "reps": args.reps,
                      "participants": args.participants, "duration_scale": args.scale,
                      "arms": arms, "wall_s": round(time.perf_counter() - started, 1),
                      "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
