"""Memory of the GUI process with a 24-h session on screen (issue 17 goal 5); prints JSON.

The real window (offscreen platform, qasync loop, neurokit2 off) runs a simulated 24-h
session at max speed, not recorded, with the whole session on screen (span "all"): the live
view draws its frames (coalesced to ~30 per second) all the way, and the values panel, the
spectrum and the status follow as in a live session. The resident set size of this process
is sampled each simulated hour (when the first beat past the hour reaches the view-model),
and the growth per hour is fitted from hour 1 on.

Goals: under 300 MB throughout, growth under 10 MB per hour after the first hour; the verdict
is printed for a run of 24 h or more (a shorter run prints its figures, to iterate).

``--trace`` finds what grows: tracemalloc traces the allocations made from the first hour on
(12 frames), and the end's snapshot is compared with the first hour's, grouped by traceback:
the top sites (their frames in this project, innermost first) and the gc-tracked objects whose
count grew, by type. Tracing slows the run several times and its own records inflate the RSS,
so no verdict is printed then; ``--hours 3`` is enough to see the growth.

    python benchmarks/ui_memory_24h.py [--hours 24] [--seed 5] [--trace]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import ROOT, machine, peak_rss_mb

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    """Resident set size of this process now, MB (``/proc/self/statm``, Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_MB


HEAVY_PACKAGES = ("scipy", "neurokit2", "pandas", "matplotlib", "sklearn")
"""Packages a live session in the window does not need (analysis runs in worker processes)."""
GOAL_PEAK_MB = 300.0
GOAL_GROWTH_MB_PER_H = 10.0


def object_counts() -> collections.Counter[str]:
    """gc-tracked objects by type name."""
    return collections.Counter(type(o).__name__ for o in gc.get_objects())


def growth_sites(first: tracemalloc.Snapshot, last: tracemalloc.Snapshot,
                 top: int = 12) -> list[dict[str, Any]]:
    """The allocation sites that grew most from ``first`` to ``last``, by traceback.

    Each site is named by its frames inside this project (innermost first, at most 4), or by
    its innermost frame when none is.
    """
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    stats = last.filter_traces(ignore).compare_to(first.filter_traces(ignore), "traceback")
    sites = []
    for stat in stats[:top]:
        ours = [f for f in reversed(stat.traceback) if f.filename.startswith(str(ROOT))]
        frames = ours[:4] or [stat.traceback[-1]]
        sites.append({
            "growth_mb": round(stat.size_diff / 2**20, 3),
            "blocks": stat.count_diff,
            "at": [f"{Path(f.filename).resolve().relative_to(ROOT)}:{f.lineno}"
                   if f.filename.startswith(str(ROOT)) else f"{f.filename}:{f.lineno}"
                   for f in frames],
        })
    return sites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--trace", action="store_true",
                        help="tracemalloc from hour 1: print the top growing allocation sites")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from biofeedback.session.launch import SessionRequest
    from biofeedback.session.live_session import BeatsProcessed
    from biofeedback.ui.event_loop import run_until_complete
    from biofeedback.ui.main_window import MainWindow
    from biofeedback.viewmodels.preferences import WindowPreferences

    samples: list[dict[str, float]] = []
    frames = 0
    snapshots: list[tracemalloc.Snapshot] = []
    counts: list[collections.Counter[str]] = []

    with tempfile.TemporaryDirectory() as folder:
        window = MainWindow(Path(folder), WindowPreferences(), neurokit=False)
        window.resize(1400, 860)
        window.show()
        window.live_view.set_span_s(0.0)

        def on_frame(_: float) -> None:
            nonlocal frames
            frames += 1

        window.frame_drawn.connect(on_frame)
        started = time.perf_counter()

        def on_started(prepared: object) -> None:
            next_hour = [0.0]

            def on_event(event: object) -> None:
                if not (isinstance(event, BeatsProcessed) and event.batch.beats):
                    return
                t = event.batch.received_s
                if t >= next_hour[0]:
                    samples.append({"hour": round(next_hour[0] / 3600.0), "rss_mb":
                                    round(rss_mb(), 1), "wall_s":
                                    round(time.perf_counter() - started, 1)})
                    next_hour[0] += 3600.0
                    if args.trace and len(samples) == 2:  # hour 1: growth from here on
                        counts.append(object_counts())
                        tracemalloc.start(12)
                        snapshots.append(tracemalloc.take_snapshot())

            prepared.session.subscribe(on_event)  # type: ignore[attr-defined]

        window.session_started.connect(on_started)

        async def run() -> None:
            window.start_session(SessionRequest(
                source="sim", speed=None, record=False, seed=args.seed,
                duration_s=args.hours * 3600.0,
            ))
            await asyncio.sleep(0.5)
            while window.running:
                await asyncio.sleep(0.2)
            await asyncio.sleep(0.5)  # the last frame

        run_until_complete(app, run)  # type: ignore[arg-type]
        samples.append({"hour": round(args.hours), "rss_mb": round(rss_mb(), 1),
                        "wall_s": round(time.perf_counter() - started, 1)})
        beats = window.live_view.traces.n_beats
        heavy = sorted(m for m in sys.modules if m in HEAVY_PACKAGES)
        trace: dict[str, Any] | None = None
        if snapshots:
            last = tracemalloc.take_snapshot()
            tracemalloc.stop()
            grown = object_counts() - counts[0]
            trace = {
                "from_hour": 1,
                "traced_growth_mb": round(sum(
                    s.size_diff for s in last.compare_to(snapshots[0], "filename")) / 2**20, 2),
                "top_sites": growth_sites(snapshots[0], last),
                "objects_grown_by_type": dict(grown.most_common(12)),
            }
        window.close()

    after_first = [s for s in samples if s["hour"] >= 1]
    hours = np.array([s["hour"] for s in after_first], dtype=float)
    rss = np.array([s["rss_mb"] for s in after_first])
    slope = float(np.polyfit(hours, rss, 1)[0]) if hours.size >= 2 else float("nan")
    steps = np.diff(rss)
    peak = max([peak_rss_mb(), *(s["rss_mb"] for s in samples)])
    verdict: dict[str, Any]
    if args.trace:
        verdict = {"met": None, "why": "not judged: tracing inflates the RSS"}
    elif args.hours < 24.0:
        verdict = {"met": None, "why": f"not judged: the goal is for 24 h, this run {args.hours} h"}
    else:
        under = peak < GOAL_PEAK_MB
        flat = bool(slope < GOAL_GROWTH_MB_PER_H)
        verdict = {"met": under and flat, "peak_under_300_mb": under,
                   "growth_under_10_mb_per_hour": flat}
    print(json.dumps({
        "benchmark": "ui_memory_24h",
        "hours": args.hours,
        "beats_on_screen": beats,
        "frames_drawn": frames,
        "rss_mb_per_hour": samples,
        "start_rss_mb": samples[0]["rss_mb"] if samples else None,
        "peak_rss_mb": round(peak, 1),
        "growth_mb_per_hour_after_hour_1": {
            "fit": round(slope, 2),
            "max_step": round(float(steps.max()), 1) if steps.size else None,
        },
        "goal": {"peak_rss_mb": GOAL_PEAK_MB, "growth_mb_per_hour": GOAL_GROWTH_MB_PER_H,
                 **verdict},
        "heavy_packages_loaded": heavy,
        **({"trace": trace} if trace is not None else {}),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
