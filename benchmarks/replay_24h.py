"""Max-speed replay of 24-h recordings through the whole live pipeline; prints JSON.

Scenarios (each in its own interpreter, so peak RSS is per scenario):

* ``nsr001``: the real 24-h NN intervals of PhysioNet nsr2db record nsr001;
* ``simulated``: a simulated 24-h recording (2 % artifacts, 0.5 % dropped notifications);
* ``simulated+view``: the same with the window's view-model subscribed (traces, status,
  indices: what the window draws from), so the subscribers' share is counted too;
* ``record_1h``: ``record --speed max``-style recording of 1 h into a real SQLite store.

A replay at maximum speed hands its notifications over in runs (``ReplaySource(max_run=16)``,
issue 17); ``--paired N`` runs each replay scenario N times in runs and N times one
notification at a time (``max_run=1``: the per-notification path, the values of which the
runs reproduce exactly, tests/session/test_notification_runs.py), alternating, and prints
the medians and their ratio.

Goals: issue 2, 24 h in under 3 s (30,000 x real time), per-beat p99 under 1 ms, peak RSS
under 300 MB; issue 17, the 24-h replay at maximum speed in at most 2 s. Usage:
``python benchmarks/replay_24h.py [--paired N]``.
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


def scenario(name: str, max_run: int | None = None) -> dict:
    from biofeedback.session.live_session import LiveSession
    from biofeedback.store import SessionStore
    from sensors.replay import RUN_NOTIFICATIONS, ReplaySource
    from sensors.simulated import SimulatedStrap

    max_run = RUN_NOTIFICATIONS if max_run is None else max_run
    t0 = time.perf_counter()
    store = None
    if name == "record_1h":
        tmp = tempfile.mkdtemp()
        store = SessionStore(Path(tmp) / "bench.sqlite3")
        source = SimulatedStrap(seed=1, speed="max", duration_s=3600.0)
        load_s = 0.0
    else:
        recording = load(name.removesuffix("+view"))
        load_s = time.perf_counter() - t0
        source = ReplaySource(recording, speed="max", max_run=max_run)
    session = LiveSession(source, store=store, neurokit=True, commit_interval_s=0.05)
    if name.endswith("+view"):
        from biofeedback.viewmodels.session_view import SessionViewModel

        SessionViewModel(session)

    per_event_ns: list[int] = []
    notifications_per_event: list[int] = []
    beats_per_event: list[int] = []
    on_batch, on_run = session._on_batch, session._on_run

    # The whole path of an event: detector, indices, store, publish (a run: all of it once).
    def timed_batch(batch):
        start = time.perf_counter_ns()
        on_batch(batch)
        per_event_ns.append(time.perf_counter_ns() - start)
        notifications_per_event.append(1)
        beats_per_event.append(len(batch.beats))

    def timed_run(run):
        start = time.perf_counter_ns()
        on_run(run)
        per_event_ns.append(time.perf_counter_ns() - start)
        notifications_per_event.append(run.n_notifications)
        beats_per_event.append(len(run.rr_ms))

    session._on_batch = timed_batch  # type: ignore[method-assign]
    session._on_run = timed_run  # type: ignore[method-assign]
    t1 = time.perf_counter()
    stats = asyncio.run(session.run())
    wall = time.perf_counter() - t1
    ns = np.asarray(per_event_ns, dtype=np.float64)
    nn = np.asarray(notifications_per_event)
    nb = np.asarray(beats_per_event)
    one = ns[(nn == 1) & (nb == 1)]
    span = (stats.last_beat_s or 0.0) - (stats.first_beat_s or 0.0)
    return {
        "scenario": name,
        "max_run": None if name == "record_1h" else max_run,
        "n_beats": stats.n_beats,
        "n_notifications": stats.n_notifications,
        "n_events": int(ns.size),
        "session_time_h": round(span / 3600.0, 3),
        "load_s": round(load_s, 3),
        "wall_s": round(wall, 3),
        "x_real_time": round(span / wall),
        "per_event_us": {
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


REPLAYS = ("nsr001", "simulated", "simulated+view")


def paired(n: int) -> dict:
    """Each replay ``n`` times in runs and ``n`` times one by one, alternating; medians."""
    out = []
    for name in REPLAYS:
        walls: dict[str, list[float]] = {"runs": [], "one_by_one": []}
        for _ in range(n):
            for mode, max_run in (("one_by_one", "1"), ("runs", "")):
                result = run_child(Path(__file__), name, max_run)
                walls[mode].append(result["wall_s"])
        med = {mode: round(float(np.median(v)), 3) for mode, v in walls.items()}
        out.append({
            "scenario": name,
            "wall_s_runs": walls["runs"],
            "wall_s_one_by_one": walls["one_by_one"],
            "median_wall_s_runs": med["runs"],
            "median_wall_s_one_by_one": med["one_by_one"],
            "speedup": round(med["one_by_one"] / med["runs"], 2),
            "goal_2_s_met": med["runs"] <= 2.0,
        })
    return {"benchmark": "replay_24h --paired", "machine": machine(), "runs_each": n,
            "results": out}


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        name, max_run = sys.argv[i + 1], sys.argv[i + 2]
        print(json.dumps(scenario(name, int(max_run) if max_run else None)))
        return
    if "--paired" in sys.argv:
        print(json.dumps(paired(int(sys.argv[sys.argv.index("--paired") + 1])), indent=2))
        return
    results = [run_child(Path(__file__), name, "") for name in (*REPLAYS, "record_1h")]
    print(json.dumps({"benchmark": "replay_24h", "machine": machine(), "results": results},
                     indent=2))


if __name__ == "__main__":
    main()
