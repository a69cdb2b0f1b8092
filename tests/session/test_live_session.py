"""LiveSession: markers, seek handling and the neurokit2 worker's life cycle."""

from __future__ import annotations

import asyncio

import numpy as np

from biofeedback.core.recording import Recording
from biofeedback.core.types import Marker, MarkerKind, Seeked
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.store import SessionStore
from sensors.replay import ReplaySource
from sensors.simulated import SimulatedStrap


def file_recording(seconds: float = 900.0) -> Recording:
    rng = np.random.default_rng(1)
    n = int(seconds / 0.85)
    rr = 850 + 40 * np.sin(np.arange(n) * 2 * np.pi * 0.2 * 0.85) + rng.normal(0, 8, n)
    return Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000, name="file")


def test_seek_starts_a_fresh_segment_and_keeps_one_worker():
    source = ReplaySource(file_recording(), speed="max")
    session = LiveSession(source, neurokit=True)
    seen = {"batches": 0, "before": None, "after": None, "processors": set()}

    def listen(event):
        if isinstance(event, BeatsProcessed):
            # At maximum speed one event stands for a run of notifications.
            seen["batches"] += len(event.notifications) or 1
            seen["processors"].add(id(session.processor))
            if seen["before"] is None and seen["batches"] >= 400:
                seen["before"] = session.indices()
                source.seek(600.0)
        if isinstance(event, Seeked):
            seen["after"] = session.indices()

    session.subscribe(listen)
    worker_seen = []
    session.subscribe(lambda e: worker_seen.append(session.processor.nk_worker))
    asyncio.run(session.run())
    assert seen["before"].n_beats > 300
    # Right after the jump nothing from before it counts.
    assert seen["after"].n_beats == 0 and seen["after"].rmssd_60_ms is None
    assert len(seen["processors"]) == 2
    workers = {id(w) for w in worker_seen if w is not None}
    assert len(workers) == 1
    final = session.indices()
    assert final.rmssd_60_ms is not None and final.time_s > 800


def test_markers_are_stored_at_session_time(tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        strap = SimulatedStrap(seed=1, speed="max", duration_s=120.0)
        session = LiveSession(strap, store=store, neurokit=False)
        added = []

        def listen(event):
            if isinstance(event, BeatsProcessed) and not added and event.batch.received_s > 60:
                added.append(session.add_marker("bell", extra={"n": 1}))

        session.subscribe(listen)
        asyncio.run(session.run())
        rec = store.load_recording(session.session_id)
    assert 60 < added[0].onset_s < 62
    assert rec.markers == [Marker(added[0].onset_s, 0.0, "bell", MarkerKind.USER, {"n": 1})]


def test_consecutive_gaps_before_one_notification_are_all_stored(tmp_path):
    from biofeedback.core.types import Gap, GapReason

    rr = np.full(60, 1000.0)
    t = np.cumsum(rr) / 1000
    t[30:] += 20.0
    gaps = [Gap(float(t[29]), float(t[29]) + 5.0, GapReason.LINK_LOSS),
            Gap(float(t[29]) + 5.0, float(t[30]) - 1.0, GapReason.CLOCK_DRIFT)]
    rec = Recording(rr_ms=rr, time_s=t, received_s=t + 0.2, gaps=gaps, name="two gaps")
    with SessionStore(tmp_path / "db.sqlite3") as store:
        session = LiveSession(ReplaySource(rec, speed="max"), store=store, neurokit=False)
        asyncio.run(session.run())
        stored = store.load_recording(session.session_id)
    assert stored.gaps == gaps
    assert session.stats.n_gaps == 2


def test_seek_while_recording_stores_classes_and_a_gap(tmp_path):
    source = ReplaySource(file_recording(600.0), speed="max")
    with SessionStore(tmp_path / "db.sqlite3") as store:
        session = LiveSession(source, store=store, neurokit=False)
        state = {"seen": 0, "last_s": None}

        def listen(event):
            if isinstance(event, BeatsProcessed) and state["last_s"] is None:
                state["seen"] += len(event.notifications) or 1  # a run at maximum speed
                if state["seen"] >= 60:
                    state["last_s"] = event.batch.beats[-1].time_s
                    source.seek(400.0)

        session.subscribe(listen)
        asyncio.run(session.run())
        rec = store.load_recording(session.session_id)
    assert (rec.artifact != "").all()  # every beat's class was stored, also at the jump
    assert len(rec.gaps) == 1
    gap = rec.gaps[0]
    # From the last beat taken before the jump (nothing queued after it was kept).
    assert gap.end_s == 400.0 and gap.start_s == state["last_s"] < 80.0
    assert np.all(np.diff(rec.time_s) > 0)
