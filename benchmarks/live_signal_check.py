"""Cost of the live ECG and breathing check: one job, and what it leaves on the GUI thread.

1. **The job**: :meth:`SignalCheckJob.run` on 70 s of the virtual strap's ECG (130.2 Hz,
   73-sample chunks) and ACC (50 Hz), with the strap's beats (what a session keeps for a
   60-s window), timed in this process after a warm-up (the neurokit2 import), and as a
   round trip through the session's worker process (:class:`NeuroKitWorker`: pickling, the
   pipe, the reader thread).
2. **The GUI frame**: an offscreen window-like loop at 30 frames/s of wall time feeds the
   chunks and beats due (as a live session does, with :meth:`LiveSignalCheck.poll` on each
   event), redraws a :class:`SignalCheckPanel` when its view changed, and repaints it; the
   frame times are compared with the same loop without the check. The check runs every
   ``--period`` s (default 1 s: five times the session's cadence, to load the worker); the
   frames that took a new check in (new texts, relayout) are reported apart.

Prints JSON. Usage: ``python benchmarks/live_signal_check.py [--jobs 20] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from _common import machine

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Beat
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

ECG_HZ = 130.2
ACC_HZ = 50.0


def streams(duration_s: float) -> tuple[list[SignalChunk], list[SignalChunk], list[Beat]]:
    """The virtual strap's ECG and ACC chunks and its beats (0.4 s after the R-peaks)."""
    track = BeatTrack(SimulatedRRSource(3))
    signals = ChestSignals(track, breathing_for(track.source, 6.0), seed=3)
    n = int(duration_s * ECG_HZ) // 73 * 73
    t = np.arange(n) / ECG_HZ
    ecg = signals.ecg_uv(t).reshape(-1, 1)
    ecg_chunks = [SignalChunk("ecg", float(t[i]), ECG_HZ, ecg[i:i + 73], "uV", first_index=i)
                  for i in range(0, n, 73)]
    ta = np.arange(0.0, duration_s, 1.0 / ACC_HZ)
    acc = signals.acc_mg(ta)
    acc_chunks = [SignalChunk("acc", float(ta[i]), ACC_HZ, acc[i:i + 25], "mG", first_index=i)
                  for i in range(0, ta.size, 25)]
    r = np.asarray(track.r_times_s)
    r = r[(r > 0) & (r < duration_s)]
    beats = [Beat(float(v), float(b) + 0.4, float(b) + 0.4, True)
             for v, b in zip(np.diff(r) * 1000.0, r[1:], strict=True)]
    return ecg_chunks, acc_chunks, beats


def _stats(values_ms: list[float]) -> dict[str, float]:
    a = np.asarray(values_ms)
    return {"median": round(float(np.median(a)), 3), "p95": round(float(np.percentile(a, 95)), 3),
            "p99": round(float(np.percentile(a, 99)), 3), "max": round(float(a.max()), 3)}


def job_cost(n_jobs: int) -> dict[str, object]:
    from biofeedback.live.nk_worker import NeuroKitWorker
    from biofeedback.session.signal_check import KIND, LiveSignalCheck

    ecg, acc, beats = streams(70.0)
    worker = NeuroKitWorker(period_s=3600.0)
    check = LiveSignalCheck(worker, period_s=0.0)
    for chunk in ecg + acc:
        check.add_chunk(chunk)
    check.add_beats(beats)
    job = check.job()
    started = time.perf_counter()
    first = job.run()
    warm_up_s = time.perf_counter() - started
    in_process = []
    for _ in range(n_jobs):
        started = time.perf_counter()
        job.run()
        in_process.append(1000 * (time.perf_counter() - started))
    round_trip, in_worker = [], []
    try:
        worker.submit(job)
        worker.wait(120.0)
        worker.take(KIND)  # the worker's own warm-up
        for _ in range(n_jobs):
            started = time.perf_counter()
            worker.submit(job)
            worker.wait(120.0)
            result = worker.take(KIND)
            round_trip.append(1000 * (time.perf_counter() - started))
            in_worker.append(1000 * result.compute_s)  # type: ignore[union-attr]
    finally:
        worker.close()
    window = first.ecg
    return {
        "ecg_samples": sum(c.n_samples for c in job.ecg),
        "acc_samples": sum(c.n_samples for c in job.acc),
        "strap_beats": int(job.strap_rr_ms.size),
        "window_beats_paired": None if window is None else f"{window.n_matched}/{window.n_beats}",
        "window_median_abs_diff_ms": None if window is None else round(
            window.median_abs_diff_ms or 0.0, 3),
        "breaths_per_min": None if first.breathing is None else round(
            first.breathing.breaths_per_min or 0.0, 3),
        "first_run_with_imports_s": round(warm_up_s, 2),
        "job_ms_in_process": _stats(in_process),
        "job_ms_in_worker": _stats(in_worker),
        "round_trip_ms_through_worker": _stats(round_trip),
    }


def frame_times(seconds: float, period_s: float, with_check: bool) -> dict[str, object]:
    from PySide6.QtWidgets import QApplication

    from biofeedback.live.nk_worker import NeuroKitWorker
    from biofeedback.live.signal_check import SignalCheckUpdate
    from biofeedback.session.signal_check import LiveSignalCheck
    from biofeedback.ui.signal_check_panel import SignalCheckPanel
    from biofeedback.viewmodels.signal_check import SignalCheckView

    app = QApplication.instance() or QApplication([])
    ecg, acc, beats = streams(seconds + 62.0)
    # 60 s are in before the loop starts, so each job checks a full window.
    events: list[tuple[float, object]] = [(c.t0_s + c.n_samples / c.rate_hz, c)
                                          for c in ecg + acc]
    events += [(b.time_s, b) for b in beats]
    events.sort(key=lambda pair: pair[0])
    worker = NeuroKitWorker(period_s=3600.0) if with_check else None
    check = LiveSignalCheck(worker, period_s=period_s) if worker is not None else None
    view = SignalCheckView()
    panel = SignalCheckPanel()
    panel.resize(900, 60)
    panel.show()
    k = 0

    def feed_until(t_s: float) -> list[float]:
        nonlocal k
        costs = []
        while k < len(events) and events[k][0] <= t_s:
            event = events[k][1]
            started = time.perf_counter()
            if check is not None:
                if isinstance(event, SignalChunk):
                    check.add_chunk(event)
                else:
                    check.add_beats([event])  # type: ignore[list-item]
                update = check.poll()
                if update is not None:
                    view.on_event(update)
            costs.append(1e6 * (time.perf_counter() - started))
            if isinstance(event, SignalChunk):
                view.on_event(event)
            k += 1
        return costs

    try:
        if worker is not None:
            worker.wait(0.0)
        feed_until(60.0)
        if check is not None:
            check.poll()
            check.wait(120.0)  # the worker's neurokit2 import, before timing
        frames, per_event_us, with_update = [], [], []
        t0 = time.perf_counter()
        n_frames = int(seconds * 30)
        for i in range(n_frames):
            due = t0 + (i + 1) / 30.0
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            started = time.perf_counter()
            before = view.update
            per_event_us += feed_until(60.0 + (i + 1) / 30.0)
            panel.show_view(view)
            app.processEvents()
            panel.repaint()
            frames.append(1000 * (time.perf_counter() - started))
            if view.update is not before:
                with_update.append(frames[-1])
        assert check is None or isinstance(check.latest, SignalCheckUpdate)
    finally:
        if worker is not None:
            worker.close()
    return {
        "frames": len(frames),
        "frame_ms": _stats(frames),
        "checks_shown": len(with_update),
        "frame_ms_with_a_new_check": _stats(with_update) if with_update else None,
        "per_event_us": _stats(per_event_us) if check is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--period", type=float, default=1.0)
    args = parser.parse_args()
    print(json.dumps({
        "benchmark": "live_signal_check",
        "job": job_cost(args.jobs),
        "gui_frame_without_check": frame_times(args.seconds, args.period, with_check=False),
        "gui_frame_with_check": frame_times(args.seconds, args.period, with_check=True),
        "check_period_s": args.period,
        "machine": machine(),
    }, indent=1))


if __name__ == "__main__":
    main()
