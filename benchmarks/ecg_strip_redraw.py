"""Redraw cost of the ECG strip and the respiration trace per frame, ECG at 130 Hz.

A :class:`SignalStrip` (900 px wide, offscreen) draws a :class:`SignalTraces` fed synthetic
chunks as a Polar H10 sends them (73 ECG samples at 130 Hz, 36 ACC samples at 50 Hz), first a
full 60 s so both buffers are full and wrapped. Then, per frame of 1/30 s of session time, the
chunks that are due are fed, the respiration trace is refreshed when due (the window's clock
timer does that), and the frame is timed: :meth:`SignalStrip.redraw` (ring-buffer copy +
setData), ``QApplication.processEvents()`` and a synchronous ``repaint()``. Prints JSON.

Usage: ``python benchmarks/ecg_strip_redraw.py [--frames 300]``
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    from PySide6.QtWidgets import QApplication

    from biofeedback.ui.signal_strip import SignalStrip
    from biofeedback.viewmodels.signal_traces import SignalTraces

    app = QApplication.instance() or QApplication([])
    duration = 60.0 + args.frames / 30.0 + 2.0
    chunks = sorted(
        chunks_of(synthetic_ecg(duration), "ecg", "uV", 130.0, 0.0, 73)
        + chunks_of(synthetic_acc(duration, 50.0), "acc", "mG", 50.0, 0.0, 36),
        key=lambda c: c.t0_s + c.n_samples / c.rate_hz,
    )
    signals = SignalTraces()
    strip = SignalStrip()
    strip.resize(900, 270)
    strip.set_signals(signals)
    strip.show()
    k = 0

    def feed_until(t_s: float) -> None:
        nonlocal k
        while k < len(chunks) and chunks[k].t0_s + chunks[k].n_samples / 130.0 <= t_s:
            signals.add(chunks[k])
            k += 1

    feed_until(60.0)
    signals.respiration.refresh()
    strip.redraw()
    app.processEvents()
    frames, changed, refresh_ms = [], [], []
    for i in range(args.frames):
        before = k
        feed_until(60.0 + (i + 1) / 30.0)
        started = time.perf_counter()
        if signals.respiration.refresh():
            refresh_ms.append(1000 * (time.perf_counter() - started))
        started = time.perf_counter()
        strip.redraw()
        app.processEvents()
        strip.ecg_plot.viewport().repaint()
        strip.resp_plot.viewport().repaint()
        frames.append(1000 * (time.perf_counter() - started))
        if k != before:
            changed.append(frames[-1])
    print(json.dumps({
        "benchmark": "ecg_strip_redraw",
        "frames": args.frames,
        "ecg_samples_drawn": int(strip.ecg_curve.getData()[0].size),
        "respiration_points_drawn": int(strip.resp_curve.getData()[0].size),
        "frame_ms_median": round(float(np.median(frames)), 3),
        "frame_ms_p95": round(float(np.percentile(frames, 95)), 3),
        "frame_ms_max": round(float(np.max(frames)), 3),
        "frames_with_new_samples": len(changed),
        "frame_ms_with_new_samples_median": round(float(np.median(changed)), 3),
        "frame_ms_with_new_samples_p95": round(float(np.percentile(changed, 95)), 3),
        "respiration_refresh_ms_median": round(float(np.median(refresh_ms)), 3),
        "respiration_refreshes": len(refresh_ms),
        "machine": machine(),
    }))


if __name__ == "__main__":
    main()
