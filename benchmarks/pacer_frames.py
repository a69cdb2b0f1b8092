"""The breathing pacer's frame intervals in the window with 2 h on screen, with and without
the ECG strip (issue 17, goal 2: p99 interval <= 20 ms at 60 Hz).

The real window (offscreen, qasync loop, neurokit2 off): a simulated session of 2 h and the
benchmark's length is recorded, replayed at max speed up to 2 h, then at real time with the
plots over ``--span`` (0: the whole 2 h on screen) and the free-practice pacer shown (a
replay shows no pacer; the benchmark shows it, as a live session would) and animated at
``--pacer-hz`` (the app's own timer runs at
:data:`~biofeedback.ui.pacer_widget.FRAME_INTERVAL_MS`). Beats arrive
from the replay about once a second. The session alternates blocks of ``--block`` s:

* ``no_strip``: beats only, the ECG strip and the respiration trace hidden;
* ``strip``: besides the beats, ECG and ACC chunks as a Polar H10 sends them (73 ECG samples
  at 130 Hz every 0.56 s, 36 ACC samples at 50 Hz every 0.72 s, synthetic) handed to the
  session where a strap source hands its decoded PMD frames on (so they go through the
  session, the view-model, the strip, and the once-a-second respiration refresh of the
  window's clock timer), with both plots shown.

With ``--fresh``, a live session of the simulated strap from its start (recorded, the chunks
stored as they arrive, plots over 5 min) instead of the 2 h replay.

A pacer frame interval is the time between the ends of two consecutive paints of the pacer
(what the eye sees), over ``--seconds`` of each condition. Prints JSON.

    python benchmarks/pacer_frames.py [--seconds 120] [--block 30] [--span 0] [--pacer-hz 60]
                                      [--fresh]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
from _common import machine
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from signal_synth import synthetic_acc, synthetic_ecg

from biofeedback.core.signals import SignalChunk
from biofeedback.session.launch import SessionRequest
from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.ui.event_loop import run_until_complete
from biofeedback.ui.main_window import MainWindow
from biofeedback.ui.pacer_widget import FRAME_INTERVAL_MS, PacerCanvas
from biofeedback.viewmodels.preferences import WindowPreferences
from sensors.simulated import SimulatedStrap

_STREAMS = (("ecg", "uV", 130.0, 73), ("acc", "mG", 50.0, 36))
_SETTLE_S = 2.0
"""Time after each switch before the intervals count, s."""


class PaintClock:
    """Ends of the pacer canvas's paints (wraps :meth:`PacerCanvas.paintEvent`)."""

    def __init__(self) -> None:
        self.ends: list[float] = []
        self.active = False
        paint = PacerCanvas.paintEvent
        clock = self

        def timed(canvas: PacerCanvas, event: object) -> None:
            paint(canvas, event)
            if clock.active:
                clock.ends.append(time.perf_counter())

        PacerCanvas.paintEvent = timed  # type: ignore[method-assign]

    def take_intervals(self) -> list[float]:
        ends, self.ends = self.ends, []
        return list(np.diff(ends) * 1000.0) if len(ends) > 1 else []


async def h10_chunks(window: MainWindow, stop: asyncio.Event, signals: dict) -> None:
    """Hand ECG and ACC chunks to the session as the strap source does, at their rate."""
    source = window.current.source  # type: ignore[union-attr]
    started = time.perf_counter()
    # Placed back to back from now on, as the strap source places a stream's frames (by the
    # sensor's timestamps), each handed on when its last sample is due.
    t0 = source.session_time_s()
    sent = {stream: 0 for stream, *_ in _STREAMS}
    while not stop.is_set():
        elapsed = time.perf_counter() - started
        for stream, unit, rate, per in _STREAMS:
            samples = signals[stream]
            while (sent[stream] + per) / rate <= elapsed:
                i = sent[stream] % (samples.shape[0] - per)
                chunk = SignalChunk(stream, t0 + sent[stream] / rate, rate,
                                    samples[i : i + per], unit, first_index=sent[stream])
                await source._emit(chunk)  # where the strap hands its decoded frames on
                sent[stream] += per
        await asyncio.sleep(0.01)


def summary(intervals_ms: list[float], goal_ms: float) -> dict[str, float | int]:
    a = np.asarray(intervals_ms)
    return {
        "frames": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
        f"over_{goal_ms:g}_ms": int((a > goal_ms).sum()),
        "longest_run_over_goal": _longest_run(a > goal_ms),
    }


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best


async def _two_hours_on_screen(
    window: MainWindow, data_dir: Path, args: argparse.Namespace, blocks: int
) -> None:
    # 2 h, then enough to replay every block at real time (the replay must not end first).
    duration_s = 7200.0 + 2 * blocks * (args.block + _SETTLE_S) + 120.0
    with SessionStore.open(data_dir) as store:
        recorded = LiveSession(SimulatedStrap(seed=9, speed=None, duration_s=duration_s),
                               store=store, neurokit=False, commit_interval_s=0.5)
        await recorded.run()
        session_id = recorded.session_id
    window.settings.speed = None
    window.browser.replay_requested.emit(session_id)
    while window.current is None or window.current.source.session_time_s() < 7200.0:
        await asyncio.sleep(0.01)
    window.replay_bar.set_speed(1.0)
    window.live_view.set_span_s(args.span)
    # A replay shows no pacer (nobody practises along with a recording): shown here as a
    # live session shows it.
    window.guidance.setVisible(True)
    window._show_free_practice()


async def scenario(
    window: MainWindow, clock: PaintClock, data_dir: Path, args: argparse.Namespace
) -> dict:
    blocks = int(np.ceil(args.seconds / args.block))
    if args.fresh:
        # A live session from its start, recorded (the chunks are stored as they arrive).
        window.live_view.set_span_s(args.span or 300.0)
        window.start_session(SessionRequest(source="sim", speed=1.0, seed=4))
        while window.current is None or window.current.source.session_time_s() < 3.0:
            await asyncio.sleep(0.05)
    else:
        await _two_hours_on_screen(window, data_dir, args, blocks)
    pacer = window.guidance.pacer
    pacer = window.guidance.pacer
    pacer._timer.setTimerType(Qt.TimerType.PreciseTimer)
    pacer._timer.setInterval(round(1000.0 / args.pacer_hz))
    await asyncio.sleep(0.5)  # the guidance column laid out
    signals = {"ecg": synthetic_ecg(120.0), "acc": synthetic_acc(120.0, 50.0)}
    intervals: dict[str, list[float]] = {"no_strip": [], "strip": []}
    for block in range(2 * blocks):
        name = ("no_strip", "strip")[block % 2]
        shown = name == "strip"
        window.ecg_strip_action.setChecked(shown)
        window.respiration_action.setChecked(shown)
        stop = asyncio.Event()
        feeder = asyncio.ensure_future(h10_chunks(window, stop, signals)) if shown else None
        await asyncio.sleep(_SETTLE_S)  # past the switch (the strip's first draw, a new trace)
        clock.take_intervals()
        clock.active = True
        await asyncio.sleep(args.block)
        clock.active = False
        intervals[name].extend(clock.take_intervals())
        if window.current is None:
            raise RuntimeError("the replay ended before the benchmark did")
        stop.set()
        if feeder is not None:
            await feeder
    strip = window.signal_strip
    result = {
        name: summary(values, args.goal_ms) for name, values in intervals.items()
    }
    result["strip_drawn"] = {
        "ecg_points": int(strip.ecg_curve.getData()[0].size) if strip is not None else 0,
        "respiration_points": int(strip.resp_curve.getData()[0].size) if strip else 0,
        "ecg_strip_width_px": int(strip.ecg_plot.getPlotItem().vb.width()) if strip else 0,
    }
    result["beats_in_traces"] = window.live_view.traces.n_beats
    window.stop_session()
    while window.running:
        await asyncio.sleep(0.05)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="per condition")
    parser.add_argument("--block", type=float, default=30.0, help="s per alternating block")
    parser.add_argument("--span", type=float, default=0.0, help="plot span, s (0: all)")
    parser.add_argument("--pacer-hz", type=float, default=60.0)
    parser.add_argument("--goal-ms", type=float, default=20.0)
    parser.add_argument("--fresh", action="store_true",
                        help="a fresh live session (simulated strap, recorded) instead of 2 h")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        clock = PaintClock()  # before the window: PySide binds an override when it is built
        window = MainWindow(data_dir, WindowPreferences(), neurokit=False)
        window.resize(1400, 860)
        window.show()

        async def run() -> dict:
            return await scenario(window, clock, data_dir, args)

        results = run_until_complete(app, run)  # type: ignore[arg-type]
        window.close()
    print(json.dumps({
        "benchmark": "pacer_frames",
        "goal": f"p99 pacer frame interval <= {args.goal_ms:g} ms at 60 Hz",
        "seconds_per_condition": args.seconds,
        "on_screen": "fresh live session" if args.fresh else "2 h",
        "span_s": (args.span or 300.0) if args.fresh else (args.span or "all"),
        "pacer_hz": args.pacer_hz,
        "app_pacer_interval_ms": FRAME_INTERVAL_MS,
        **results,
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
