"""Bytes per hour of raw ECG and ACC in the session store (schema v6); prints JSON.

An hour of each stream is written as a live recording writes it: one ``append_signal`` per
chunk, each committed (73-sample PMD frames of ECG at 130 Hz; ACC at 200 Hz, 3 axes, in
chunks of 36; every chunk at its own measured rate, 1e-5 apart, as the PMD decoder gives
them), into a real SQLite file per stream. The signals are the seeded synthetic ones
of ``tests/signal_synth.py``: a PQRST ECG (RR variation, breathing-modulated amplitude,
baseline wander, 12-uV noise) and chest acceleration (gravity, breathing, 3-mG noise), not
sines, which would compress far better than a real strap's signal. Figures: the pages the
table and its index take (what the file grows by), the encoded blobs alone, raw int32 for
comparison, a day extrapolated (issue 16: a day of ECG must stay under about 50 MB), and the
write and read times. Usage: ``python benchmarks/signal_storage.py [--hours H]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import machine, peak_rss_mb

HOUR_S = 3600.0
DAY_BUDGET_MB = 50.0


def measure(stream: str, hours: float, folder: Path) -> dict[str, float | int]:
    """Write ``hours`` of one stream and measure what it takes."""
    import numpy as np
    from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

    from biofeedback.store import SessionStore

    duration = hours * HOUR_S
    if stream == "ecg":
        rate, unit, per_chunk = 130.0, "uV", 73
        samples = synthetic_ecg(duration, rate)
    else:
        rate, unit, per_chunk = 200.0, "mG", 36
        samples = synthetic_acc(duration, rate)
    # Each chunk at its own measured rate, as the PMD decoder places frames.
    chunks = chunks_of(samples, stream, unit, rate, 0.0, per_chunk, rate_jitter=1e-5)
    path = folder / f"{stream}.sqlite3"
    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        started = time.perf_counter()
        for chunk in chunks:
            store.append_signal(sid, chunk)
        write_s = time.perf_counter() - started
        started = time.perf_counter()
        _, back = store.load_signal(sid, stream)
        read_s = time.perf_counter() - started
        if not np.array_equal(back, samples):
            raise AssertionError(f"{stream}: the samples read back differ")
        pages, blobs, blocks = store._conn.execute(
            "SELECT (SELECT SUM(pgsize) FROM dbstat WHERE name IN ('signal_blocks',"
            " 'signal_blocks_session')), SUM(LENGTH(data)), COUNT(*) FROM signal_blocks"
        ).fetchone()
    per_hour = pages / hours
    return {
        "rate_hz": rate,
        "channels": int(samples.shape[1]),
        "samples": int(samples.size),
        "blocks": int(blocks),
        "stored_bytes_per_hour": round(per_hour),
        "encoded_bytes_per_hour": round(blobs / hours),
        "raw_int32_bytes_per_hour": round(samples.size * 4 / hours),
        "stored_bytes_per_sample": round(pages / samples.size, 3),
        "stored_mb_per_day": round(per_hour * 24 / 1e6, 2),
        "write_s_per_hour": round(write_s / hours, 2),
        "chunks_per_s_written": round(len(chunks) / write_s),
        "read_s_per_hour": round(read_s / hours, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0, help="hours of each stream")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = {stream: measure(stream, args.hours, Path(tmp)) for stream in ("ecg", "acc")}
    ecg_day = figures["ecg"]["stored_mb_per_day"]
    print(json.dumps({
        "hours": args.hours,
        "streams": figures,
        "ecg_day_mb": ecg_day,
        "ecg_day_budget_mb": DAY_BUDGET_MB,
        "ecg_day_within_budget": float(ecg_day) < DAY_BUDGET_MB,
        "ecg_and_acc_day_mb": round(float(ecg_day) + float(figures["acc"]["stored_mb_per_day"]),
                                    2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
