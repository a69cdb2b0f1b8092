"""Time to simulate a 24-h recording (the simulated strap's physiology); prints JSON.

The simulator builds whole days for replays, studies and the benchmarks; a day of beats
with 1 % artifacts should take under a second (the goal the test suite used to time).

    python benchmarks/simulate_24h.py [--hours 24] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import machine

from sensors.simulated.artifacts import ArtifactRates
from sensors.simulated.recording import simulate_recording

GOAL_S = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    simulate_recording(60, seed=0)  # first-use imports and caches out of the timing
    seconds: list[float] = []
    beats = 0
    for seed in range(1, args.repeats + 1):
        start = time.perf_counter()
        recording = simulate_recording(
            args.hours * 3600, seed=seed, artifacts=ArtifactRates.from_total(0.01)
        )
        seconds.append(time.perf_counter() - start)
        beats = int(recording.rr_ms.size)
    median = statistics.median(seconds)
    print(json.dumps({
        "benchmark": "simulate_24h",
        "hours": args.hours,
        "beats": beats,
        "seconds": [round(s, 3) for s in seconds],
        "median_s": round(median, 3),
        "goal_s": GOAL_S,
        "goal_met": median <= GOAL_S,
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
