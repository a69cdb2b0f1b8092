"""Memory of the GUI process with a 24-h session on screen (issue 17 goal 5); prints JSON.

The real window (offscreen platform, qasync loop, neurokit2 off) runs a simulated 24-h
session at max speed, not recorded, with the whole session on screen (span "all"): the live
view draws its frames (coalesced to ~30 per second) all the way, and the values panel, the
spectrum and the status follow as in a live session. The resident set size of this process
is sampled each simulated hour (when the first beat past the hour reaches the view-model),
and the growth per hour is fitted from hour 1 on.

Goals: under 300 MB throughout, growth under 10 MB per hour after the first hour.

    python benchmarks/ui_memory_24h.py [--hours 24] [--seed 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import machine, peak_rss_mb

_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_mb() -> float:
    """Resident set size of this process now, MB (``/proc/self/statm``, Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_MB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=5)
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
        window.close()

    after_first = [s for s in samples if s["hour"] >= 1]
    hours = np.array([s["hour"] for s in after_first], dtype=float)
    rss = np.array([s["rss_mb"] for s in after_first])
    slope = float(np.polyfit(hours, rss, 1)[0]) if hours.size >= 2 else float("nan")
    steps = np.diff(rss)
    print(json.dumps({
        "benchmark": "ui_memory_24h",
        "hours": args.hours,
        "beats_on_screen": beats,
        "frames_drawn": frames,
        "rss_mb_per_hour": samples,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "growth_mb_per_hour_after_hour_1": {
            "fit": round(slope, 2),
            "max_step": round(float(steps.max()), 1) if steps.size else None,
        },
        "goal": {"peak_rss_mb": 300.0, "growth_mb_per_hour": 10.0},
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
