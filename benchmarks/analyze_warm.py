"""Analyze in the Sessions tab: the first time, the next times (warm worker), and a one-off
process each time as before; prints JSON.

Issue 17 goal 4: the window keeps one warm analysis worker so that Analyze answers within
0.5 s after the first time. A real :class:`~biofeedback.ui.session_browser.SessionBrowser`
(offscreen) analyses simulated 1-h sessions (the ``compare_study.py`` layout, built once;
reused with ``--data-dir``): the time from asking to the table showing the result, for the
first Analyze (which starts the worker), for ``--repeats`` more (the cache of results cleared
each time, so every one is computed), and, paired in the same process, for a one-off
``python -m biofeedback analyze`` per Analyze (what the tab did before).

    python benchmarks/analyze_warm.py [--repeats 10] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine
from compare_study import build

GOAL_S = 0.5


async def timed(browser, session_id: int) -> float:  # type: ignore[no-untyped-def]
    """Seconds from asking for the analysis of ``session_id`` to its table being shown."""
    browser._cache.clear()
    started = time.perf_counter()
    result = await browser.analyze(session_id)
    elapsed = time.perf_counter() - started
    if result is None or browser.analysis_table.row_count != len(result["phases"]):
        raise RuntimeError(f"the analysis of session {session_id} failed")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--one-off", type=int, default=3,
                        help="Analyze runs with a one-off process each (the old way)")
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-analyze-warm-"))
    if not (data_dir / "biofeedback.sqlite3").exists():
        build(data_dir, 1, 2)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from biofeedback.ui.cli_job import CliJob
    from biofeedback.ui.event_loop import run_until_complete
    from biofeedback.ui.session_browser import SessionBrowser

    app = QApplication.instance() or QApplication([])

    async def scenario() -> dict:
        browser = SessionBrowser(data_dir.resolve())
        browser.show()
        sessions = [s.id for s in await browser.refresh()]
        n_beats = {s.id: s.n_beats for s in browser.sessions}
        first = await timed(browser, sessions[0])
        warm = [await timed(browser, sessions[(i + 1) % len(sessions)])
                for i in range(args.repeats)]
        reused = browser.worker.started == 1
        browser.stop_worker()
        # The old way, same browser and sessions: a new process for every Analyze.
        browser._job = CliJob("analysis", "phases")
        one_off = [await timed(browser, sessions[i % len(sessions)])
                   for i in range(args.one_off)]
        browser.close()
        return {
            "sessions": len(sessions),
            "beats_per_session": sorted(n_beats.values()),
            "first_analyze_s": round(first, 3),
            "warm_analyze_s": [round(x, 3) for x in warm],
            "warm_median_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3),
            "one_off_process_s": [round(x, 3) for x in one_off],
            "one_off_median_s": round(statistics.median(one_off), 3),
            "worker_reused": reused,
            "goal_s": GOAL_S,
            "goal_met": max(warm) <= GOAL_S,
        }

    out = run_until_complete(app, scenario)
    print(json.dumps({"benchmark": "analyze_warm", **out, "machine": machine()}, indent=2))


if __name__ == "__main__":
    main()
