"""Cost and accuracy of the virtual H10's synthetic ECG and ACC (in-process); prints JSON.

Streams ``--minutes`` of ECG (130 Hz, with ``--rate-error``) and ACC (200 Hz) frames out of
the PMD device the way the virtual strap's pump does, then measures: CPU ms per virtual
second of both streams (how fast ``--speed`` may go), frames and bytes per virtual hour, and
the R-peak placement (the largest sample of each beat against the beat's true time, in
samples, and the RR of the ECG peaks, sample maxima or parabola-fitted, against the RR the
strap sent, ms).

    python benchmarks/virtual_pmd.py [--minutes 10] [--seed 0] [--rate-error 0.004]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine  # type: ignore[import-not-found]

from sensors.virtual import pmd
from sensors.virtual.pmd_device import PmdDevice, PmdOptions
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="virtual minutes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rate-error", type=float, default=0.004)
    args = parser.parse_args()
    track = BeatTrack(SimulatedRRSource(args.seed))
    signals = ChestSignals(track, breathing_for(track), seed=args.seed)
    device = PmdDevice(signals, PmdOptions(rate_error=args.rate_error))
    device.command(bytes.fromhex("02000001820001010e00"), 0.0)
    device.command(bytes.fromhex("02020001c80001011000020108 00".replace(" ", "")), 0.0)
    duration = args.minutes * 60.0
    frames = []
    cpu0 = time.process_time()
    for k in range(1, int(duration / 0.1) + 1):  # the pump's steps, 0.1 virtual s
        if k % 10 == 0:
            track.next_second()  # the heart-rate packet of that second
        frames += device.due_frames(k * 0.1)
    cpu_s = time.process_time() - cpu0
    ecg = [f for f in frames if f.measurement == pmd.ECG]
    values = np.concatenate([np.asarray(f.record["samples"]) for f in ecg])
    rate = ecg[0].record["rate_hz"]
    t = ecg[0].record["t0_s"] + np.arange(values.size) / rate
    r = np.asarray(track.r_times_s)
    r = r[(r > t[0] + 0.4) & (r < t[-1] - 0.4)]
    offsets, peaks, fitted = [], [], []
    for r_s in r:
        window = np.flatnonzero((t > r_s - 0.3) & (t < r_s + 0.3))
        i = int(window[np.argmax(values[window])])
        peaks.append(float(t[i]))
        offsets.append((peaks[-1] - r_s) * rate)
        # a parabola through the peak sample and its neighbours, as a careful detector does
        a, b, c = (float(v) for v in values[i - 1 : i + 2])
        fitted.append(float(t[i]) + 0.5 * (a - c) / (a - 2 * b + c) / rate)
    rr_err_ms = (np.diff(peaks) - np.diff(r)) * 1000.0
    fit_err_ms = (np.diff(fitted) - np.diff(r)) * 1000.0
    per_hour = 3600.0 / duration
    print(json.dumps({
        "virtual_minutes": args.minutes,
        "cpu_ms_per_virtual_s": round(cpu_s * 1000.0 / duration, 3),
        "max_speed_one_core": round(duration / cpu_s, 1),
        "ecg_frames_per_hour": round(len(ecg) * per_hour),
        "acc_frames_per_hour": round((len(frames) - len(ecg)) * per_hour),
        "pmd_bytes_per_hour": round(sum(len(f.data) for f in frames) * per_hour),
        "beats": len(r),
        "r_peak_offset_samples_max_abs": round(float(np.max(np.abs(offsets))), 3),
        "rr_from_ecg_peaks_error_ms_median_abs": round(float(np.median(np.abs(rr_err_ms))), 3),
        "rr_from_ecg_peaks_error_ms_p95_abs": round(float(np.percentile(np.abs(rr_err_ms), 95)), 3),
        "rr_from_parabolic_peaks_error_ms_median_abs": round(
            float(np.median(np.abs(fit_err_ms))), 3),
        "ecg_uv_range": [int(values.min()), int(values.max())],
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
