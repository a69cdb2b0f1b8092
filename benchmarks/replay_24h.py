"""Max-speed replay of 24-h recordings through the whole live pipeline; prints JSON.

Scenarios (each in its own interpreter, so peak RSS is per scenario):

* ``nsr001``: the real 24-h NN intervals of PhysioNet nsr2db record nsr001;
* ``simulated``: a simulated 24-h recording (2 % artifacts, 0.5 % dropped notifications);
* ``record_1h``: ``record --speed max``-style recording of 1 h into a real SQLite store.

Goals (issue 2): 24 h in under 3 s (30,000 x real time), per-beat p99 under 1 ms, peak RSS
under 300 MB. Usage: ``python benchmarks/replay_24h.py``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA, children_peak_rss_mb, machine, peak_rss_mb, run_child


def load(name: str):
    from biofeedback.core.recording import Recording

    if name == "nsr001":
        from biofeedback.io.importers import read_import

        # NN intervals with gaps where ectopic beats and noise marks interrupt them.
        recording = read_import(DATA / "nsr001.hea").recording
        recording.name = "nsr001"
        return recording
    from sensors.simulated import ArtifactRates, simulate_recording

    sim = simulate_recording(
        86400.0, seed=1,
        artifacts=ArtifactRates.from_total(0.02, dropped_notification=0.005),
    )
    truth = sim.truth
    return Recording(
        rr_ms=np.asarray(truth.delivered_rr_ms, dtype=np.float64),
        time_s=np.asarray(truth.delivered_time_s, dtype=np.float64),
        name="simulated 24 h",
        source="sim",
    )


def scenario(name: str) -> dict:
    from biofeedback.session.live_session import LiveSession
    from biofeedback.store import SessionStore
    from sensors.replay import ReplaySource
    from sensors.simulated import SimulatedStrap

    t0 = time.perf_counter()
    store = None
    if name == "record_1h":
        tmp = tempfile.mkdtemp()
        store = SessionStore(Path(tmp) / "bench.sqlite3")
        source = SimulatedStrap(seed=1, speed="max", duration_s=3600.0)
        load_s = 0.0
    else:
        recording = load(name)
        load_s = time.perf_counter() - t0
        source = ReplaySource(recording, speed="max")
    session = LiveSession(source, store=store, neurokit=True, commit_interval_s=0.05)

    per_notification_ns: list[int] = []
    beats_per_notification: list[int] = []
    on_batch = session._on_batch

    def timed(batch):  # the whole per-notification path: detector, indices, store, publish
        start = time.perf_counter_ns()
        on_batch(batch)
        per_notification_ns.append(time.perf_counter_ns() - start)
        beats_per_notification.append(len(batch.beats))

    session._on_batch = timed  # type: ignore[method-assign]
    t1 = time.perf_counter()
    stats = asyncio.run(session.run())
    wall = time.perf_counter() - t1
    ns = np.asarray(per_notification_ns, dtype=np.float64)
    nb = np.asarray(beats_per_notification)
    one = ns[nb == 1]
    span = (stats.last_beat_s or 0.0) - (stats.first_beat_s or 0.0)
    return {
        "scenario": name,
        "n_beats": stats.n_beats,
        "n_notifications": stats.n_notifications,
        "session_time_h": round(span / 3600.0, 3),
        "load_s": round(load_s, 3),
        "wall_s": round(wall, 3),
        "x_real_time": round(span / wall),
        "per_notification_us": {
            "p50": round(float(np.percentile(ns, 50)) / 1e3, 1),
            "p99": round(float(np.percentile(ns, 99)) / 1e3, 1),
            "max": round(float(ns.max()) / 1e3, 1),
        },
        "per_beat_us_one_beat_notifications": {
            "p50": round(float(np.percentile(one, 50)) / 1e3, 1) if one.size else None,
            "p99": round(float(np.percentile(one, 99)) / 1e3, 1) if one.size else None,
        },
        "mean_us_per_beat": round(float(ns.sum()) / 1e3 / max(stats.n_beats, 1), 1),
        "neurokit_results": session.latest_neurokit is not None,
        "artifact_pct": round(stats.artifact_pct, 2),
        "gaps": stats.n_gaps,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "neurokit_worker_peak_rss_mb": round(children_peak_rss_mb(), 1),
    }


def main() -> None:
    if "--child" in sys.argv:
        print(json.dumps(scenario(sys.argv[-1])))
        return
    results = [run_child(Path(__file__), name) for name in ("nsr001", "simulated", "record_1h")]
    print(json.dumps({"benchmark": "replay_24h", "machine": machine(), "results": results},
                     indent=2))


if __name__ == "__main__":
    main()
