"""A max-speed replay hands its notifications over in runs: the pipeline publishes, stores
and computes exactly what it does taking them one by one."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from biofeedback.core.recording import Recording
from biofeedback.core.types import (
    Beat,
    BeatBatch,
    Gap,
    GapReason,
    Marker,
    NotificationRun,
    StatusChange,
)
from biofeedback.live.artifacts import ClassifiedBeat
from biofeedback.live.processor import LiveProcessor
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.store import SessionStore
from sensors.replay import ReplaySource
from sensors.simulated import ArtifactRates, simulate_recording

DURATION_S = 600.0
CUTS_S = ((200.0, 215.0), (420.0, 440.0))  # notifications lost: two gaps


def recording_with_artifacts_and_gaps() -> Recording:
    """10 simulated minutes (5 % artifacts, 0..n beats a notification), two stored gaps,
    markers, and a sensor that reports contact."""
    sim = simulate_recording(DURATION_S, seed=3,
                             artifacts=ArtifactRates.from_total(0.05, dropped_notification=0.01))
    rr = np.asarray(sim.rr_ms, dtype=np.float64)
    received = np.repeat(sim.received_s, np.diff(sim.offsets))
    time_s = np.asarray(sim.truth.delivered_time_s, dtype=np.float64)
    assert time_s.size == rr.size == received.size
    keep = np.ones(rr.size, dtype=bool)
    gaps = []
    for lo, hi in CUTS_S:
        keep &= ~((received >= lo) & (received < hi))
    idx = np.flatnonzero(keep)
    for lo, _ in CUTS_S:
        after = idx[np.searchsorted(received[idx], lo)]
        before = idx[np.searchsorted(received[idx], lo) - 1]
        gaps.append(Gap(float(time_s[before]), float(time_s[after] - rr[after] / 1000.0),
                        GapReason.LINK_LOSS))
    contact = np.where(np.arange(rr.size) % 97 == 5, 0.0, 1.0)
    return Recording(
        rr_ms=rr[keep], time_s=time_s[keep], received_s=received[keep],
        sensor_contact=contact[keep], gaps=gaps,
        markers=[Marker(100.25, 0.0, "bell"), Marker(207.0, 0.0, "in the gap"),
                 Marker(333.5, 10.0, "task")],
        name="runs",
    )


def replay(recording: Recording, max_run: int, path: Path
           ) -> tuple[list[object], LiveSession, sqlite3.Connection]:
    """Replay at maximum speed into a store; every published event, the session, the rows."""
    source = ReplaySource(recording, speed="max", max_run=max_run)
    with SessionStore(path) as store:
        # No wall-clock throttle: the spectral values refresh on session time alone.
        session = LiveSession(source, store=store, neurokit=False, spectral_min_wall_s=0.0)
        events: list[object] = []
        session.subscribe(events.append)
        asyncio.run(session.run())
    return events, session, sqlite3.connect(path)


def notifications_of(event: BeatsProcessed) -> tuple[BeatBatch, ...]:
    return event.notifications or (event.batch,)


def test_runs_publish_store_and_compute_what_one_by_one_does(tmp_path: Path) -> None:
    recording = recording_with_artifacts_and_gaps()
    one_events, one, one_db = replay(recording, 1, tmp_path / "one.sqlite3")
    run_events, run, run_db = replay(recording, 16, tmp_path / "runs.sqlite3")

    one_beats = [e for e in one_events if isinstance(e, BeatsProcessed)]
    run_beats = [e for e in run_events if isinstance(e, BeatsProcessed)]
    assert all(not e.notifications for e in one_beats)
    assert max(len(e.notifications) for e in run_beats) == 16
    assert len(run_beats) < len(one_beats) / 5

    # Every notification and its numbered beats, every beat's class and corrected intervals.
    per_notification = [e.batch for e in one_beats]
    assert [b for e in run_beats for b in notifications_of(e)] == per_notification
    assert [b for e in run_beats for b in e.batch.beats] == \
        [b for e in one_beats for b in e.batch.beats]
    for e in run_beats:
        assert e.batch.beats == tuple(b for n in notifications_of(e) for b in n.beats)
        assert e.batch.received_s == notifications_of(e)[-1].received_s
    classes = [c for e in one_beats for c in e.classified]
    assert [c for e in run_beats for c in e.classified] == classes
    assert {c.artifact for c in classes} > {"normal"}

    # Each run's indices are those one by one after the run's last notification.
    done = 0
    for e in run_beats:
        done += len(notifications_of(e))
        assert e.indices == one_beats[done - 1].indices
    assert done == len(one_beats)
    assert any(e.indices.hf_ms2 is not None for e in run_beats)
    assert any(e.indices.coherence_score is not None for e in run_beats)
    assert run.indices() == one.indices()

    # The other events (gaps, markers, status) in the same order between the same beats.
    def others(events: list[object]) -> list[object]:
        out: list[object] = []
        for e in events:
            if isinstance(e, BeatsProcessed):
                out.extend(("notification", n.received_s) for n in notifications_of(e))
            elif isinstance(e, StatusChange):
                # Stamped where the consumer is when the producer gets there (at the end: a
                # queue's length behind it, however the queue holds the notifications).
                out.append((e.state, e.message))
            else:
                out.append(e)
        return out

    assert others(run_events) == others(one_events)
    assert sum(isinstance(e, Gap) for e in run_events) == len(CUTS_S)
    assert run.stats.to_dict() == one.stats.to_dict()

    for table, order in (("notifications", "seq"), ("beats", "seq"), ("gaps", "start_s"),
                         ("markers", "onset_s")):
        query = f"SELECT * FROM {table} ORDER BY {order}"
        assert run_db.execute(query).fetchall() == one_db.execute(query).fetchall(), table
    assert run_db.execute("SELECT count(*) FROM beats WHERE artifact IS NULL").fetchone() == (0,)


def test_a_session_ending_inside_a_run_ends_where_one_by_one_does(tmp_path: Path) -> None:
    recording = recording_with_artifacts_and_gaps()
    ended = []
    for max_run in (16, 1):
        source = ReplaySource(recording, speed="max", max_run=max_run)
        with SessionStore(tmp_path / f"{max_run}.sqlite3") as store:
            session = LiveSession(source, store=store, neurokit=False, spectral_min_wall_s=0.0)
            asyncio.run(session.run(duration_s=250.3))
            rows = store.load_recording(session.session_id)
        ended.append((session.stats.to_dict(), source.session_time_s(), session.indices(),
                      rows.rr_ms.tolist(), rows.artifact.tolist()))
    assert ended[0] == ended[1]
    assert 250.3 <= ended[0][1] < 252.0


@pytest.mark.parametrize("checks", ["none", "first", "each"])
def test_a_run_through_the_processor_equals_its_notifications_in_turn(checks: str) -> None:
    recording = recording_with_artifacts_and_gaps()
    rr, t = recording.rr_ms[:2000].tolist(), recording.time_s[:2000].tolist()
    rng = np.random.default_rng(7)
    ends = np.cumsum(rng.integers(0, 4, 1200))
    ends = ends[ends <= len(rr)].tolist()
    one, runs = LiveProcessor(), LiveProcessor()
    start = k = 0
    while k < len(ends):
        n = int(rng.integers(1, 40))
        run_ends = ends[k:k + n]
        n_checks = {"none": 0, "first": 1, "each": len(run_ends)}[checks]
        expected: list[ClassifiedBeat] = []
        for j, end in enumerate(run_ends):
            batch = BeatBatch(0.0, tuple(Beat(rr[i], t[i], 0.0, None, i)
                                         for i in range(start, end)))
            expected.extend(one.process_batch(batch).beats)
            if j < n_checks:
                one.refresh_spectral_if_due()
            start = end
        first = ends[k - 1] if k else 0
        got = runs.process_run(first, rr[first:run_ends[-1]], t[first:run_ends[-1]],
                               [e - first for e in run_ends], n_checks)
        assert list(got.beats) == expected
        assert runs.snapshot() == one.snapshot()
        k += n
    assert runs.snapshot().hf_ms2 is not None or checks == "none"


def test_a_run_yields_its_notifications_one_by_one() -> None:
    recording = recording_with_artifacts_and_gaps()

    async def events(max_run: int) -> list[object]:
        source = ReplaySource(recording, speed="max", max_run=max_run)
        await source.start()
        return [e async for e in source]

    def unstamped(events: list[object]) -> list[object]:  # see the test above
        return [(e.state, e.message) if isinstance(e, StatusChange) else e for e in events]

    in_runs, one_by_one = asyncio.run(events(16)), asyncio.run(events(1))
    assert unstamped(in_runs) == unstamped(one_by_one)
    assert sum(isinstance(e, BeatBatch) for e in in_runs) > 500
    run = NotificationRun((1.0, 2.0), (2, 3), (800.0, 810.0, 790.0), (0.8, 1.61, 2.4))
    assert run.batches(5)[1].beats[0].seq == 7
    assert run.head(1).rr_ms == (800.0, 810.0) and run.head(1).n_notifications == 1
