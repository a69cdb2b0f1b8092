"""How close PMD sample times come to the truth while the device-clock fit warms up; JSON.

Simulates a strap's ECG (130 Hz x ``--rate-factor``, 73-sample frames) and accelerometer
(50 Hz x the same factor, 36-sample frames) on one device clock that runs ``drift`` off the
session clock (+-100 ppm), each notification arriving 0-``--jitter-ms`` after its last sample
and never before the one sent ahead of it (a link delivers in order). The frames go through
the app's decoder (:class:`sensors.ble.pmd.PmdDataDecoder`) as the strap source feeds it.
Two session times of every sample are compared with the truth: the one in the chunks handed
out (``chunks``: continuous, corrected slowly, see ``sensors/ble/pmd/placement.py``) and the
device-clock fit's estimate at that moment (``fit``: what a chunk placed by the fit alone
would say).

Scenarios:

* ``ecg_alone``: only the ECG feeds the clock fit (how the figures of issue 16 were taken);
* ``ecg_and_acc``: both streams, one shared fit (what the strap source does);
* ``ecg_late``: both, the ECG starting 30 s after the accelerometer (an H10's usual delay).

Errors are in ms, split by the sample's time since its stream began: the first 30 s, 30 s to
3 min, and later; for each: median, 95th percentile and maximum over every seed and drift,
and ``within_5ms_from_s``: the time since the stream began from which on every sample of every
seed lay within 5 ms of the truth.
Also the seams between consecutive chunks of a stream: the time from a chunk's last sample
to the next chunk's first, in sample intervals (1 = seamless, 0 or less = the chunks
overlap, above 2 = a gap wider than one sample); the smallest and largest over every seed.

    python benchmarks/pmd_clock_warmup.py [--minutes 10] [--seeds 5] [--jitter-ms 80]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import machine  # type: ignore[import-not-found]

from sensors.ble.pmd import PmdDataDecoder

TS0 = 599_616_000_000_000_000 + 123_456_789_000
"""Device time of the first sample, PMD ns (an H10 not time-set: 2019-01-01 + a bit)."""
SESSION_START_S = 5.0
STREAMS = {"ecg": (130.0, 73), "acc": (50.0, 36)}
WITHIN_S = 5e-3
"""The error bound of ``within_5ms_from_s``: from when on every sample is this close, s."""
PERIODS = (("first_30s", 0.0, 30.0), ("30s_to_3min", 30.0, 180.0), ("after_3min", 180.0, 1e9))


def _ecg_frame(ts: int, values: np.ndarray) -> bytes:
    body = b"".join(int(v).to_bytes(3, "little", signed=True) for v in values)
    return bytes([0x00]) + ts.to_bytes(8, "little") + bytes([0x00]) + body


def _acc_frame(ts: int, values: np.ndarray) -> bytes:
    body = b"".join(int(v).to_bytes(2, "little", signed=True) for v in values.reshape(-1))
    return bytes([0x02]) + ts.to_bytes(8, "little") + bytes([0x01]) + body


def frames(
    streams: dict[str, float], seconds: float, drift: float, rate_factor: float,
    jitter_s: float, seed: int,
) -> list[tuple[float, str, bytes, np.ndarray, np.ndarray]]:
    """(arrival s, stream, frame bytes, true session time and device ns of every sample), by
    arrival.

    ``streams`` maps a stream to its start on the device clock, s after the first sample.
    """
    rng = np.random.default_rng(seed)
    out = []
    for stream, start_s in streams.items():
        nominal, per_frame = STREAMS[stream]
        rate = nominal * rate_factor
        n_frames = int((seconds - start_s) * rate / per_frame)
        for j in range(n_frames):
            k = np.arange(per_frame * j, per_frame * (j + 1))
            device_s = start_s + k / rate
            truth = SESSION_START_S + device_s / (1.0 + drift)
            ts = TS0 + round(device_s[-1] * 1e9)
            if stream == "ecg":
                data = _ecg_frame(ts, (k * 37) % 4001 - 2000)
            else:
                data = _acc_frame(ts, np.stack([k % 100, -k % 50, k % 7], axis=1))
            device_ns = TS0 + np.rint(device_s * 1e9).astype(np.int64)
            out.append((float(truth[-1]), stream, data, truth, device_ns))
    out.sort(key=lambda f: f[0])
    arrival, previous = [], -np.inf
    for sent, *_ in out:
        previous = max(previous, sent + float(rng.uniform(0.0, jitter_s)))
        arrival.append(previous)
    return [(a, *rest) for a, (_, *rest) in zip(arrival, out, strict=True)]


def run(scenario: str, seconds: float, drift: float, rate_factor: float, jitter_s: float,
        seed: int) -> dict[str, Any]:
    """Errors (s) by period, and the chunk joins (samples), of one simulated session."""
    streams = {"ecg_alone": {"ecg": 0.0}, "ecg_and_acc": {"ecg": 0.0, "acc": 0.0},
               "ecg_late": {"acc": 0.0, "ecg": 30.0}}[scenario]
    decoder = PmdDataDecoder({s: STREAMS[s][0] for s in streams})
    errors: dict[str, list[np.ndarray]] = {}
    late: dict[str, float] = {}  # the last time since the stream began with an error >= 5 ms
    joins: list[float] = []
    last: dict[str, Any] = {}
    for arrival, stream, data, truth, device_ns in frames(
            streams, seconds, drift, rate_factor, jitter_s, seed):
        chunk = decoder.feed(data, arrival)
        since = truth - SESSION_START_S - streams[stream] / (1.0 + drift)
        for kind, times in (("chunks", chunk.times_s()),
                            ("fit", decoder.aligner.session_times_s(device_ns))):
            err = np.abs(times - truth)
            if (err >= WITHIN_S).any():
                key = f"{stream}/{kind}"
                late[key] = max(late.get(key, 0.0), float(since[err >= WITHIN_S].max()))
            for name, lo, hi in PERIODS:
                inside = (since >= lo) & (since < hi)
                if inside.any():
                    errors.setdefault(f"{stream}/{kind}/{name}", []).append(err[inside])
        before = last.get(stream)
        if before is not None:
            # From the previous chunk's last sample to this one's first, in samples.
            last_sample = before.t0_s + (before.n_samples - 1) / before.rate_hz
            joins.append((chunk.t0_s - last_sample) * chunk.rate_hz)
        last[stream] = chunk
    return {"errors": {k: np.concatenate(v) for k, v in errors.items()}, "joins": joins,
            "late": late}


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Per stream and kind (chunks, fit): median, p95 and max error (ms) per period and when
    every error stays below 5 ms; the narrowest and widest seam between chunks (samples)."""
    out: dict[str, Any] = {}
    for key in sorted({k for r in results for k in r["errors"]}):
        stream, kind, period = key.split("/")
        e = np.concatenate([r["errors"][key] for r in results if key in r["errors"]]) * 1e3
        out.setdefault(stream, {}).setdefault(kind, {})[period] = {
            "median_ms": round(float(np.median(e)), 3),
            "p95_ms": round(float(np.percentile(e, 95)), 3),
            "max_ms": round(float(e.max()), 3)}
    for key in sorted({k for r in results for k in r["late"]}):
        stream, kind = key.split("/")
        out[stream][kind]["within_5ms_from_s"] = round(
            max(r["late"].get(key, 0.0) for r in results), 1)
    joins = np.concatenate([np.asarray(r["joins"]) for r in results])
    out["seam_min_samples"] = round(float(joins.min()), 3)
    out["seam_max_samples"] = round(float(joins.max()), 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="session length")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per drift")
    parser.add_argument("--jitter-ms", type=float, default=80.0, help="arrival delay 0..this")
    parser.add_argument("--drift-ppm", type=float, default=100.0, help="device clock +-this")
    parser.add_argument("--rate-factor", type=float, default=0.985,
                        help="the strap's real rate over the nominal (130 Hz +-2 %%)")
    args = parser.parse_args()
    seconds = args.minutes * 60.0
    report: dict[str, Any] = {
        "benchmark": "pmd_clock_warmup",
        "minutes": args.minutes, "seeds": args.seeds, "jitter_ms": args.jitter_ms,
        "drift_ppm": [args.drift_ppm, -args.drift_ppm], "rate_factor": args.rate_factor,
        "machine": machine(),
    }
    for scenario in ("ecg_alone", "ecg_and_acc", "ecg_late"):
        results = [
            run(scenario, seconds, sign * args.drift_ppm * 1e-6, args.rate_factor,
                args.jitter_ms / 1e3, seed)
            for sign in (1, -1) for seed in range(args.seeds)
        ]
        report[scenario] = summarise(results)
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
