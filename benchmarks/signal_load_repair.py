"""What the stored raw ECG and ACC cost those who read a session, and the repair; prints JSON.

Two scenarios, each in its own interpreter (so peak memory is its own), on real SQLite files
written as a live recording writes them (beats one notification each, ECG at 130 Hz and ACC
at 50 Hz, 3 axes, as the Polar H10 source records them, the seeded synthetic signals of
``tests/signal_synth.py``):

* ``load``: ``SessionStore.load_recording`` of a 1-h session, without signals (what exports,
  the study bookkeeping and the browser need), with the ACC (analysis: breathing) and with
  ECG and ACC (a replay): median wall time of 5 reads and the peak of Python allocations
  (tracemalloc) of one.
* ``replay``: a max-speed replay of the 1-h session through the live pipeline
  (``LiveSession``, no neurokit2, not recorded), with its ECG and ACC and without: wall time,
  and the events and samples delivered.
* ``repair``: ``repair_database`` of a database holding one session of ``--repair-hours``
  (default 24) of ECG and ACC: wall time, the peak of Python allocations (tracemalloc: the
  rows read, which a repair that reads a table whole holds at once) and the process's peak
  RSS above what it held before the repair.

Usage: ``python benchmarks/signal_load_repair.py [--load-hours H] [--repair-hours H]``.
"""

from __future__ import annotations

import argparse
import inspect
import json
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import machine, run_child

HOUR_S = 3600.0
ECG_HZ, ACC_HZ = 130.0, 50.0
RR_MS = 920.0


def build(path: Path, hours: float) -> int:
    """A finished session of ``hours`` with beats, ECG and ACC; its id."""
    import numpy as np
    from signal_synth import chunks_of, synthetic_acc, synthetic_ecg

    from biofeedback.core.types import Beat, BeatBatch
    from biofeedback.store import SessionStore

    with SessionStore(path) as store:
        sid = store.create_session(source="ble")
        seq = 0
        for hour in range(int(np.ceil(hours))):
            span = min(HOUR_S, hours * HOUR_S - hour * HOUR_S)
            t0 = hour * HOUR_S
            # Generated an hour at a time (seeded per hour): a day at once would take GBs.
            ecg = synthetic_ecg(span, ECG_HZ, seed=10 + hour)
            acc = synthetic_acc(span, ACC_HZ, seed=20 + hour)
            for chunk in chunks_of(ecg, "ecg", "uV", ECG_HZ, t0, 260, round(t0 * ECG_HZ)):
                store.append_signal(sid, chunk, commit=False)
            for chunk in chunks_of(acc, "acc", "mG", ACC_HZ, t0, 100, round(t0 * ACC_HZ)):
                store.append_signal(sid, chunk, commit=False)
            for t in np.arange(t0 + RR_MS / 1000.0, t0 + span, RR_MS / 1000.0):
                store.append_notification(sid, seq, BeatBatch(float(t), (
                    Beat(RR_MS, float(t), float(t), True, seq),), 65.2), commit=False)
                seq += 1
            store.commit(sid)
        store.finish_session(sid)
    return sid


def _load(store: object, sid: int, signals: tuple[str, ...]) -> object:
    load = store.load_recording  # type: ignore[attr-defined]
    if "signals" in inspect.signature(load).parameters:
        return load(sid, signals=signals)
    # The code before lazy loading: the ACC was read for every caller.
    recording = load(sid)
    if "ecg" in signals:
        store.load_signal_chunks(sid, "ecg")  # type: ignore[attr-defined]
    return recording


def scenario_load(hours: float) -> dict:
    from biofeedback.store import SessionStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite3"
        sid = build(path, hours)
        out: dict[str, object] = {"hours": hours, "file_mb": round(path.stat().st_size / 1e6, 2)}
        with SessionStore.for_reading(path) as store:
            for name, signals in (("beats_only", ()), ("with_acc", ("acc",)),
                                  ("with_ecg_and_acc", ("ecg", "acc"))):
                _load(store, sid, signals)  # warm the page cache
                walls = []
                for _ in range(5):
                    started = time.perf_counter()
                    _load(store, sid, signals)
                    walls.append(time.perf_counter() - started)
                tracemalloc.start()
                _load(store, sid, signals)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                out[name] = {"median_s": round(statistics.median(walls), 4),
                             "peak_python_mb": round(peak / 1e6, 2)}
    return out


def scenario_replay(hours: float) -> dict:
    import asyncio

    from biofeedback.core.signals import SignalChunk
    from biofeedback.session.live_session import LiveSession
    from biofeedback.store import SessionStore
    from sensors.replay import ReplaySource

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite3"
        sid = build(path, hours)
        out: dict[str, object] = {"hours": hours}
        for name, signals in (("beats_only", ()), ("with_ecg_and_acc", ("ecg", "acc"))):
            with SessionStore.for_reading(path) as store:
                recording = _load(store, sid, signals)
            counts = {"events": 0, "chunks": 0, "samples": 0}

            def count(event: object, counts: dict[str, int] = counts) -> None:
                counts["events"] += 1
                if isinstance(event, SignalChunk):
                    counts["chunks"] += 1
                    counts["samples"] += event.n_samples

            session = LiveSession(ReplaySource(recording, speed="max"),  # type: ignore[arg-type]
                                  neurokit=False)
            session.subscribe(count)
            started = time.perf_counter()
            stats = asyncio.run(session.run())
            wall = time.perf_counter() - started
            out[name] = {"wall_s": round(wall, 2), "n_beats": stats.n_beats, **counts,
                         "x_real_time": round(hours * HOUR_S / wall)}
    return out


def scenario_repair(hours: float) -> dict:
    from biofeedback.store.salvage import repair_database

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.sqlite3"
        started = time.perf_counter()
        build(path, hours)
        build_s = time.perf_counter() - started
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        tracemalloc.start()
        started = time.perf_counter()
        result = repair_database(path, Path(tmp) / "repaired.sqlite3")
        wall = time.perf_counter() - started
        file_mb = path.stat().st_size / 1e6
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        import sqlite3

        conn = sqlite3.connect(result.out)
        (blocks, n_samples) = conn.execute(
            "SELECT COUNT(*), SUM(n_samples) FROM signal_blocks").fetchone()
        conn.close()
    return {
        "hours": hours,
        "file_mb": round(file_mb, 2),
        "signal_blocks": int(blocks),
        "samples": int(n_samples),
        "build_s": round(build_s, 1),
        "repair_s": round(wall, 2),
        "peak_python_mb": round(peak / 1e6, 2),
        "peak_rss_growth_mb": round(rss_after - rss_before, 1),
        "not_saved": result.not_saved,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--load-hours", type=float, default=1.0)
    parser.add_argument("--repair-hours", type=float, default=24.0)
    parser.add_argument("--child", nargs=2, metavar=("SCENARIO", "HOURS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, hours = args.child[0], float(args.child[1])
        run = {"load": scenario_load, "replay": scenario_replay,
               "repair": scenario_repair}[name]
        print(json.dumps(run(hours)))
        return
    script = Path(__file__).resolve()
    print(json.dumps({
        "load": run_child(script, "load", str(args.load_hours)),
        "replay": run_child(script, "replay", str(args.load_hours)),
        "repair": run_child(script, "repair", str(args.repair_hours)),
        "machine": machine(),
    }, indent=2))


if __name__ == "__main__":
    main()
