"""The live check of the raw streams: RR from the virtual strap's ECG against its beats, and the
breathing rate from its accelerometer, in the session's real neurokit2 worker process."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from importlib import metadata

import numpy as np
import pytest
from acc_breathing_scenario import acc_scenario

from biofeedback.core.signals import SignalChunk
from biofeedback.core.source import HeartRateSource
from biofeedback.core.types import Beat, BeatBatch
from biofeedback.live.nk_worker import NeuroKitWorker
from biofeedback.live.signal_check import SignalCheckUpdate
from biofeedback.session.live_session import LiveSession
from biofeedback.session.signal_check import KIND, SETTLE_S, LiveSignalCheck, SignalCheckJob
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

pytestmark = pytest.mark.timeout(120)

ECG_HZ = 130.2
ACC_HZ = 50.0
LATENCY_S = 0.4
"""The strap's cumulative-RR beat times lie this much after the true R-peaks."""


class Streams:
    """The virtual strap's ECG and ACC chunks and its beats over ``duration_s``, with the true
    R-peak times (breathing at a fixed rate, no movement)."""

    def __init__(self, duration_s: float, breathing_per_min: float = 6.0, seed: int = 3):
        track = BeatTrack(SimulatedRRSource(seed))
        signals = ChestSignals(track, breathing_for(track.source, breathing_per_min), seed=seed,
                               movement_per_min=0.0)
        n = int(duration_s * ECG_HZ) // 73 * 73
        t = np.arange(n) / ECG_HZ
        ecg = signals.ecg_uv(t).reshape(-1, 1)
        self.ecg = [SignalChunk("ecg", float(t[i]), ECG_HZ, ecg[i:i + 73], "uV", first_index=i)
                    for i in range(0, n, 73)]
        ta = np.arange(0.0, duration_s, 1.0 / ACC_HZ)
        acc = signals.acc_mg(ta)
        self.acc = [SignalChunk("acc", float(ta[i]), ACC_HZ, acc[i:i + 25], "mG", first_index=i)
                    for i in range(0, ta.size, 25)]
        r = np.asarray(track.r_times_s)
        self.r_times_s = r[(r > 0.0) & (r < duration_s)]
        rr = np.diff(self.r_times_s) * 1000.0
        self.beats = [Beat(float(v), float(b) + LATENCY_S, float(b) + LATENCY_S, True)
                      for v, b in zip(rr, self.r_times_s[1:], strict=True)]

    def feed(self, check: LiveSignalCheck, start_s: float, end_s: float) -> None:
        """Hand ``check`` what the strap sent in ``[start_s, end_s)``, as a session would."""
        for chunk in self.ecg + self.acc:
            if start_s <= chunk.t0_s < end_s:
                check.add_chunk(chunk)
        check.add_beats(b for b in self.beats if start_s <= b.time_s < end_s)

    def true_beats(self, start_s: float, end_s: float) -> int:
        return int(((self.r_times_s >= start_s) & (self.r_times_s < end_s)).sum())


def test_the_worker_checks_the_last_60_s_and_totals_count_each_beat_once() -> None:
    streams = Streams(90.0)
    now = [0.0]
    worker = NeuroKitWorker(clock=lambda: now[0])
    check = LiveSignalCheck(worker, period_s=5.0, clock=lambda: now[0])
    try:
        # A first chunk placed later than it belongs (before the strap's clock offset is
        # known): the next one starts before it ends, and the newer placement wins.
        first = streams.ecg[0]
        check.add_chunk(SignalChunk("ecg", first.t0_s + 0.4, ECG_HZ, first.samples, "uV"))
        streams.feed(check, first.t0_s + 1e-6, 70.0)
        assert check.job().ecg[0].first_index == 73
        assert check.poll() is None  # the job started; its result is not in yet
        assert worker.busy(KIND)
        update = check.wait()
        assert update is not None and update.error is None
        result = update.result
        window = result.ecg
        assert window is not None and result.ecg_error is None
        # The window: 60 s ending SETTLE_S before the strap's newest beat (older than the
        # newest ECG sample).
        newest_beat = max(b.time_s for b in streams.beats if b.time_s < 70.0)
        assert window.end_s == pytest.approx(newest_beat - SETTLE_S)
        assert window.duration_s == pytest.approx(60.0)
        truth = streams.true_beats(window.start_s, window.end_s)
        assert truth > 60
        assert (window.n_ecg, window.n_strap, window.n_matched) == (truth, truth, truth)
        assert (window.ecg_unmatched, window.strap_unmatched) == (0, 0)
        assert window.median_abs_diff_ms < 2.0
        assert window.median_abs_rr_diff_ms < 2.0
        assert window.offset_s == pytest.approx(-LATENCY_S, abs=0.002)
        assert result.ecg_new == window  # nothing was counted before
        assert result.ecg_provenance["method"] == "neurokit"
        assert result.ecg_provenance["kwargs"]["correct_artifacts"] is False
        assert result.ecg_provenance["neurokit2"] == metadata.version("neurokit2")
        assert result.ecg_provenance["refinement"] == "parabolic-3"
        breathing = result.breathing
        assert breathing is not None and breathing.quality_ok
        assert breathing.breaths_per_min == pytest.approx(6.0, abs=0.5)
        assert breathing.end_s == pytest.approx(70.0 - 1.0 / ACC_HZ, abs=1e-6)  # newest sample
        assert update.totals.n_matched == truth

        # New data, but the wall clock has not moved on: no job.
        streams.feed(check, 70.0, 85.0)
        assert check.poll() is None and not worker.busy(KIND)
        now[0] = 5.0
        check.poll()
        second = check.wait()
        assert second is not None and second.result.ecg is not None
        new = second.result.ecg_new
        assert new is not None
        assert new.start_s == pytest.approx(window.end_s)
        assert new.end_s == second.result.ecg.end_s
        # Only the new part is added: each heartbeat of the session counted once.
        both = streams.true_beats(window.start_s, new.end_s)
        assert second.totals.n_matched == second.totals.n_beats == both
        assert second.totals.n_matched == window.n_matched + new.n_matched
        assert check.totals == second.totals

        # The ECG stops (ACC and beats go on): it is not checked again on what is left of it.
        for chunk in streams.acc:
            if 85.0 <= chunk.t0_s < 87.0:
                check.add_chunk(chunk)
        job = check.job()
        assert job.ecg == () and job.acc[-1].t0_s >= 86.0
        now[0] = 10.0
        check.poll()
        stopped = check.wait()
        assert stopped is not None and stopped.result.ecg is None
        assert stopped.result.breathing is not None and stopped.totals == second.totals

        # The worker process dies: the next job says so, once, instead of a result.
        assert worker._process is not None
        worker._process.kill()
        worker._process.wait(5)
        streams.feed(check, 87.0, 90.0)
        now[0] = 15.0
        dead = check.poll() or check.wait()
        assert dead is not None and dead.error is not None and "stopped" in dead.error
        assert dead.totals == second.totals
        assert check.poll() is None  # said once
    finally:
        worker.close()


def test_a_beat_the_strap_missed_is_unmatched_on_the_ecg_side() -> None:
    streams = Streams(40.0, breathing_per_min=12.0, seed=5)
    beats = streams.beats
    k = len(beats) // 2
    # The strap misses beat k: its interval comes merged with the next one.
    merged = Beat(beats[k].rr_ms + beats[k + 1].rr_ms, beats[k + 1].time_s,
                  beats[k + 1].received_s, True)
    strap = [*beats[:k], merged, *beats[k + 2:]]
    job = SignalCheckJob(tuple(streams.ecg), (), np.array([b.rr_ms for b in strap]),
                         np.array([b.time_s for b in strap]), (), None)
    result = job.run()
    window = result.ecg
    assert window is not None and result.breathing is None
    assert (window.ecg_unmatched, window.strap_unmatched) == (1, 0)
    assert window.n_matched == window.n_ecg - 1 == window.n_strap
    assert window.median_abs_diff_ms < 2.0


def test_runs_of_ecg_placed_with_different_offsets_are_matched_each_with_its_own() -> None:
    streams = Streams(40.0, breathing_per_min=12.0, seed=6)
    # Frame 30 lost and the stream placed anew 80 ms later after it (beyond the 50-ms pairing
    # tolerance: one offset for the window would leave one run unpaired); frame 3 lost too,
    # leaving a first run of 3 frames, too short to search, whose strap beats do not count.
    later = [SignalChunk("ecg", c.t0_s + 0.08, c.rate_hz, c.samples, "uV", c.first_index)
             for c in streams.ecg[31:]]
    job = SignalCheckJob((*streams.ecg[:3], *streams.ecg[4:30], *later), (),
                         np.array([b.rr_ms for b in streams.beats]),
                         np.array([b.time_s for b in streams.beats]), (), None)
    window = job.run().ecg
    assert window is not None
    assert window.n_matched == window.n_beats > 30
    assert window.median_abs_diff_ms < 2.0


def test_breathing_of_a_stressor_with_fast_shallow_breathing_from_the_acc_alone() -> None:
    scenario = acc_scenario(seed=2, duration_s=700.0)
    times = scenario.times_s
    inside = np.flatnonzero((times >= 620.0) & (times < 700.0))
    acc = [SignalChunk("acc", float(times[i]), ACC_HZ,
                       scenario.acc_mg[i:min(i + 25, inside[-1] + 1)], "mG", first_index=int(i))
           for i in inside[::25]]
    job = SignalCheckJob((), tuple(acc), np.empty(0), np.empty(0), (), None)
    result = job.run()
    assert result.ecg is None and result.ecg_new is None and result.ecg_error is None
    breathing = result.breathing
    assert breathing is not None
    assert breathing.end_s - breathing.start_s == pytest.approx(60.0)
    true_rate = scenario.true_rate(breathing.start_s, breathing.end_s)
    assert 18.0 <= true_rate <= 22.0
    assert breathing.breaths_per_min == pytest.approx(true_rate, abs=1.0)


def test_bad_chunks_give_an_error_for_their_half_and_the_other_half_its_values() -> None:
    streams = Streams(30.0, breathing_per_min=12.0)
    # ECG chunks out of stream order: the ECG half names the chunk, the ACC half still works.
    ecg = (streams.ecg[3], streams.ecg[1])
    job = SignalCheckJob(ecg, tuple(streams.acc), np.empty(0), np.empty(0), (), None)
    result = job.run()
    assert result.ecg is None
    assert result.ecg_error == ("ValueError: chunk 1: first_index 73 goes back (expected 292 "
                                "or later)")
    assert result.breathing is not None and result.breathing.breaths_per_min is not None


class ChestStrap(HeartRateSource):
    """A strap streaming ECG and ACC beside its beats as fast as the loop takes them, then
    idle notifications until the session published a live check (or 60 s of wall time)."""

    def __init__(self, streams: Streams, updates: list[SignalCheckUpdate] | None) -> None:
        super().__init__()
        self.streams = streams
        self.updates = updates

    def session_time_s(self) -> float:
        return 30.0

    async def _run(self) -> None:
        streams = self.streams
        events: list[tuple[float, object]] = [(c.t0_s, c) for c in streams.ecg + streams.acc]
        events += [(b.time_s, BeatBatch(b.time_s, (b,), None)) for b in streams.beats]
        for _, event in sorted(events, key=lambda pair: pair[0]):
            await self._emit(event)  # type: ignore[arg-type]
        for _ in range(1200):
            if self.updates is None or self.updates:
                return
            await asyncio.sleep(0.05)
            await self._emit(BeatBatch(30.0, (), None))


def test_a_live_session_publishes_the_check_to_its_subscribers() -> None:
    updates: list[SignalCheckUpdate] = []
    streams = Streams(30.0, breathing_per_min=12.0)
    session = LiveSession(ChestStrap(streams, updates))
    session.subscribe(lambda e: updates.append(e) if isinstance(e, SignalCheckUpdate) else None)
    assert session.signal_check_enabled
    asyncio.run(session.run())
    # One check at least (a slow machine may finish a second before the strap ends).
    assert updates and all(u.error is None for u in updates)
    window = updates[0].result.ecg
    assert window is not None
    # The first job started as soon as 10 s of a stream were in (the rest came later).
    assert window.end_s < 12.0
    truth = streams.true_beats(window.start_s, window.end_s)
    assert truth >= 5 and window.n_matched == window.n_beats == truth
    assert session.signal_check is not None and session.signal_check.latest is updates[-1]
    assert updates[0].result.breathing is not None


def test_without_neurokit_there_is_no_check() -> None:
    # No waiting for a check that never comes: the strap ends after its data.
    session = LiveSession(ChestStrap(Streams(12.0), updates=None), neurokit=False)
    asyncio.run(session.run())
    assert not session.signal_check_enabled and session.signal_check is None


def test_the_session_process_imports_no_analysis_for_the_check() -> None:
    # The analysis runs in the worker: a session (and its view-model) loads neither
    # neurokit2 nor scipy.signal nor the analysis package for it.
    code = ("import sys, biofeedback.session.live_session, biofeedback.viewmodels.signal_check; "
            "print(sorted(m for m in ('neurokit2', 'scipy.signal', 'biofeedback.analysis') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
