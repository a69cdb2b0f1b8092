"""Frame time of the ECG strip and the respiration trace, ECG at 130 Hz, against the old way.

A :class:`SignalStrip` (offscreen, ``--width`` px wide and also 500 px, where the ECG has more
samples than two per pixel column and is decimated) draws a :class:`SignalTraces` fed
synthetic chunks as a Polar H10 sends them: 73 ECG samples at 130 Hz (one PMD frame every
0.56 s) and 36 ACC samples at 50 Hz (every 0.72 s), first a full 70 s so both buffers are
full and wrapped. Then, per frame of 1/30 s of session time, the chunks that are due are
fed, the respiration trace is refreshed when due (the window's clock timer does that; timed
apart, it is not part of a frame) and the frame is timed: :meth:`SignalStrip.redraw`
(setData; also reported alone), ``QApplication.processEvents()`` and a synchronous
``repaint()`` of both plots (an upper bound: the event loop paints once).

"before" is the strip as it was until this benchmark's change (the curves in session time,
the x range moved and the y range refitted to the data on every frame with new samples, the
whole ring buffer copied out, a 1.5-px respiration pen), kept here as a subclass; "after" is
the strip of the app. Both run in the same process on the same chunks, in alternating
blocks of frames, so a busy machine slows both alike. The frames with new samples are the
ones that cost (the others draw nothing): their p50/p95/p99 are the figures. Prints JSON.

Usage: ``python benchmarks/ecg_strip_redraw.py [--frames 1800] [--width 900]``
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
from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

_FRAME_S = 1 / 30
_BLOCK = 150
"""Frames per block before switching between the two strips."""


def _baseline_strip_class() -> type:
    """The strip as it drew before (see the module docstring)."""
    import pyqtgraph as pg

    from biofeedback.ui.plot_items import finite_min_max
    from biofeedback.ui.signal_strip import SignalStrip

    class BaselineStrip(SignalStrip):
        def __init__(self) -> None:
            super().__init__()
            self.resp_curve.setPen(pg.mkPen(self._theme.ln_rmssd, width=1.5))
            for curve in (self.ecg_curve, self.resp_curve):
                curve.opts["skipFiniteCheck"] = False

        def _draw_ecg(self, signals) -> None:  # type: ignore[no-untyped-def]
            t, mv = signals.ecg.arrays()
            self.ecg_curve.setData(t, mv)
            if t.size:
                end = float(t[-1])
                self.ecg_plot.setXRange(end - signals.ecg.span_s, end, padding=0)
                low, high = finite_min_max(mv)
                self.ecg_plot.setYRange(min(low, -0.8), max(high, 1.6), padding=0.05)

        def _draw_respiration(self, signals) -> None:  # type: ignore[no-untyped-def]
            resp = signals.respiration
            self.resp_curve.setData(resp.times_s, resp.values_mg)
            if resp.times_s.size:
                end = float(resp.times_s[-1])
                self.resp_plot.setXRange(end - resp.span_s, end, padding=0)
                peak = float(np.max(np.abs(resp.values_mg))) or 1.0
                self.resp_plot.setYRange(-peak, peak, padding=0.1)

    return BaselineStrip


def _stats(ms: list[float]) -> dict[str, float | int]:
    a = np.asarray(ms)
    return {
        "n": int(a.size),
        "p50_ms": round(float(np.percentile(a, 50)), 3),
        "p95_ms": round(float(np.percentile(a, 95)), 3),
        "p99_ms": round(float(np.percentile(a, 99)), 3),
        "max_ms": round(float(a.max()), 3),
    }


def run(frames: int, width: int) -> dict[str, object]:
    """Both strips at ``width`` px over ``frames`` frames each."""
    from PySide6.QtWidgets import QApplication

    from biofeedback.ui.signal_strip import SignalStrip
    from biofeedback.viewmodels.signal_traces import SignalTraces

    app = QApplication.instance() or QApplication([])
    warm_s = 70.0
    duration = warm_s + 2 * frames * _FRAME_S + 2.0
    chunks = sorted(
        chunks_of(synthetic_ecg(duration), "ecg", "uV", 130.0, 0.0, 73)
        + chunks_of(synthetic_acc(duration, 50.0), "acc", "mG", 50.0, 0.0, 36),
        key=lambda c: c.t0_s + c.n_samples / c.rate_hz,
    )
    strips = {"before": _baseline_strip_class()(), "after": SignalStrip()}
    signals = {name: SignalTraces() for name in strips}
    for name, strip in strips.items():
        strip.resize(width, 270)
        strip.set_signals(signals[name])
        strip.show()
    k = 0

    def feed_until(t_s: float) -> bool:
        nonlocal k
        start = k
        # A chunk is handed on when its last sample is in (as the strap sends it).
        while k < len(chunks) and chunks[k].t0_s + chunks[k].n_samples / chunks[k].rate_hz <= t_s:
            for s in signals.values():
                s.add(chunks[k])
            k += 1
        return k != start

    feed_until(warm_s)
    for name, strip in strips.items():
        signals[name].respiration.refresh()
        strip.redraw()
    app.processEvents()
    new_samples: dict[str, list[float]] = {name: [] for name in strips}
    every: dict[str, list[float]] = {name: [] for name in strips}
    set_data: dict[str, list[float]] = {name: [] for name in strips}
    refresh_ms: list[float] = []
    names = list(strips)
    # Session time advances for both strips alike; each frame is drawn by the strip whose
    # block it is, the other catches up (untimed) at its next frame.
    for i in range(2 * frames):
        name = names[(i // _BLOCK) % 2]
        strip = strips[name]
        arrived = feed_until(warm_s + (i + 1) * _FRAME_S)
        for other in names:
            started = time.perf_counter()
            if signals[other].respiration.refresh() and other == name:
                refresh_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        strip.redraw()
        handed = time.perf_counter()
        app.processEvents()
        strip.ecg_plot.viewport().repaint()
        strip.resp_plot.viewport().repaint()
        ms = 1000 * (time.perf_counter() - started)
        every[name].append(ms)
        if arrived:
            new_samples[name].append(ms)
            set_data[name].append(1000 * (handed - started))
        other_strip = strips[names[1 - names.index(name)]]
        other_strip.redraw()  # keeps the idle strip current (its next frame draws one chunk)
        app.processEvents()
    after = strips["after"]
    return {
        "width_px": width,
        "ecg_points_drawn": int(after.ecg_curve.getData()[0].size),
        "respiration_points_drawn": int(after.resp_curve.getData()[0].size),
        "frame_with_new_samples": {n: _stats(v) for n, v in new_samples.items()},
        "every_frame": {n: _stats(v) for n, v in every.items()},
        "redraw_only_with_new_samples": {n: _stats(v) for n, v in set_data.items()},
        "p99_ratio_after_over_before": round(
            _stats(new_samples["after"])["p99_ms"] / _stats(new_samples["before"])["p99_ms"], 3
        ),
        "respiration_refresh_ms": _stats(refresh_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1800, help="frames per strip and width")
    parser.add_argument("--width", type=int, default=900)
    args = parser.parse_args()
    results = [run(args.frames, args.width), run(args.frames, 500)]
    print(json.dumps({
        "benchmark": "ecg_strip_redraw",
        "goal_frame_p99_ms": 8.0,
        "frames_per_strip": args.frames,
        "runs": results,
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
