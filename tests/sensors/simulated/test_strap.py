"""The simulated strap as a heart-rate source."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pytest
from scipy.signal import welch

from biofeedback.core.types import BeatBatch, Gap, GapReason, SourceState, StatusChange
from sensors.simulated import ArtifactRates, PhysiologySegment, SimulatedStrap, simulate_recording


async def drain(source: SimulatedStrap, on_batch=None) -> list:
    await source.start()
    events = []
    async for event in source:
        events.append(event)
        if on_batch is not None and isinstance(event, BeatBatch):
            await on_batch(source, event)
    return events


def run(source: SimulatedStrap, on_batch=None, timeout: float = 20.0) -> list:
    return asyncio.run(asyncio.wait_for(drain(source, on_batch), timeout))


def batches(events: list) -> list[BeatBatch]:
    return [e for e in events if isinstance(e, BeatBatch)]


def test_delivers_the_same_notifications_as_simulate_recording():
    rates = ArtifactRates.from_total(0.03, dropped_notification=0.05)
    events = run(SimulatedStrap(seed=4, speed="max", duration_s=300.0, artifacts=rates))
    rec = simulate_recording(300.0, seed=4, artifacts=rates)
    got = batches(events)
    assert [b.received_s for b in got] == rec.received_s.tolist()
    assert [tuple(x.rr_ms for x in b.beats) for b in got] == [n.rr_ms for n in rec.notifications()]
    assert [b.heart_rate_bpm for b in got] == [n.heart_rate_bpm for n in rec.notifications()]
    gaps = np.diff([b.received_s for b in got])
    assert np.median(gaps) == pytest.approx(1.0, abs=0.02)
    assert all(beat.sensor_contact for b in got for beat in b.beats)


def test_status_changes_and_information():
    source = SimulatedStrap(seed=1, speed=None, duration_s=20.0)
    events = run(source)
    states = [e.state for e in events if isinstance(e, StatusChange)]
    assert states == [SourceState.CONNECTING, SourceState.STREAMING, SourceState.FINISHED]
    assert isinstance(events[0], StatusChange) and isinstance(events[-1], StatusChange)
    assert source.session_time_s() == pytest.approx(20.0)
    info = source.device_info
    assert info["model"] == "Simulated strap" and info["body_location"] == "chest"
    assert info["battery"] == 100
    settings = json.loads(json.dumps(source.settings))
    assert settings["seed"] == 1 and settings["speed"] == "max"
    assert settings["schedule"][0]["breaths_per_min"] == 12.0


def test_beat_times_track_the_truth_without_drops():
    source = SimulatedStrap(seed=6, speed=None, duration_s=120.0)
    beats = [b for batch in batches(run(source)) for b in batch.beats]
    truth = source.ground_truth()
    t = np.array([b.time_s for b in beats])
    assert t.size == truth.delivered_time_s.size
    # Anchored on the first notification (10 ms after the first beat), then cumulative RR.
    np.testing.assert_allclose(t - truth.delivered_time_s, 0.010, atol=0.002)
    assert all(b.time_s <= b.received_s + 1e-9 for b in beats)


def test_compressed_speed_paces_delivery():
    start = time.perf_counter()
    events = run(SimulatedStrap(seed=2, speed=20.0, duration_s=30.0))
    wall = time.perf_counter() - start
    assert 1.2 < wall < 3.0
    assert 28 <= len(batches(events)) <= 31


def test_max_speed_is_fast():
    start = time.perf_counter()
    events = run(SimulatedStrap(seed=2, speed="max", duration_s=600.0))
    wall = time.perf_counter() - start
    assert len(batches(events)) >= 599
    assert wall < 2.0, wall


def test_stop_mid_stream_ends_iteration_cleanly():
    async def scenario():
        source = SimulatedStrap(seed=3, speed=50.0)  # endless
        await source.start()
        seen, last = 0, None
        async for event in source:
            last = event
            if isinstance(event, BeatBatch):
                seen += 1
                if seen == 5:
                    await source.stop()
        return source, seen, last

    source, seen, last = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert 5 <= seen <= 25
    assert isinstance(last, StatusChange) and last.state is SourceState.FINISHED
    frozen = source.session_time_s()
    time.sleep(0.05)
    assert source.session_time_s() == frozen


def test_endless_source_runs_until_stopped():
    async def scenario():
        source = SimulatedStrap(seed=3, speed=None)
        await source.start()
        n = 0
        async for event in source:
            if isinstance(event, BeatBatch):
                n += 1
                if n == 400:
                    await source.stop()
        return source

    source = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert source.session_time_s() >= 399.0
    assert source.ground_truth().clean_rr_ms.size > 350


def test_dropped_notifications_make_gaps_when_drift_is_large():
    rates = ArtifactRates(dropped_notification=0.2)
    source = SimulatedStrap(seed=13, speed=None, duration_s=900.0, artifacts=rates)
    events = run(source)
    truth = source.ground_truth()
    median_ms = float(np.median(truth.clean_rr_ms))
    # Runs of consecutive lost notifications, with the RR they carried.
    runs: list[tuple[float, float]] = []
    prev_index = -10
    for d in truth.dropped:
        if d.index == prev_index + 1:
            runs[-1] = (runs[-1][0], runs[-1][1] + sum(d.rr_ms))
        else:
            runs.append((d.received_s, sum(d.rr_ms)))
        prev_index = d.index
    assert len(runs) > 30
    # Gaps appear in the stream right before the first batch with beats after a loss.
    gap_before: dict[float, bool] = {}
    for i, event in enumerate(events):
        if isinstance(event, BeatBatch) and event.beats:
            gap_before[event.received_s] = isinstance(events[i - 1], Gap)
        if isinstance(event, Gap):
            assert event.reason is GapReason.CLOCK_DRIFT
            assert isinstance(events[i + 1], BeatBatch) and events[i + 1].beats
    received = np.array(sorted(gap_before))
    # The beat clock sees drift = lost RR + this notification's lag - its anchor's lag, and
    # the lags differ by < 1.1 s: a loss above 1.5 x median RR + 1.1 s is always a gap.
    threshold_ms = 1.5 * median_ms
    certain = 0
    for when, lost_ms in runs:
        after = float(received[np.searchsorted(received, when)])
        if lost_ms > threshold_ms + 1100.0:
            certain += 1
            assert gap_before[after], (when, lost_ms)
    assert certain >= 3
    # A smaller loss leaves a drift that the receive-lag jitter may push over the threshold
    # later; but a gap always re-anchors the clock, so each needs a loss since the last.
    drop_times = np.array([d.received_s for d in truth.dropped])
    last_gap = 0.0
    for t in sorted(t for t, has_gap in gap_before.items() if has_gap):
        assert np.any((drop_times < t) & (drop_times > last_gap)), t
        last_gap = t
    # Empty losses change nothing.
    for when, lost_ms in runs:
        if lost_ms == 0.0:
            assert not gap_before[float(received[np.searchsorted(received, when)])]


def test_set_conditions_changes_breathing_mid_session():
    changed = {}

    async def on_batch(source: SimulatedStrap, batch: BeatBatch) -> None:
        if not changed and batch.received_s >= 300.0:
            changed["segment"] = source.set_conditions(breaths_per_min=6.0, vagal_level=0.6)

    source = SimulatedStrap(seed=5, speed=None, duration_s=660.0)
    run(source, on_batch)
    seg = changed["segment"]
    assert 300.0 <= seg.start_s < 302.0
    truth = source.ground_truth()
    assert truth.conditions_at(200.0).breaths_per_min == pytest.approx(12.0)
    assert truth.conditions_at(seg.start_s + 60).breaths_per_min == pytest.approx(6.0)
    assert truth.conditions_at(seg.start_s + 60).vagal_level == pytest.approx(0.6)
    assert source.schedule[-1] == seg
    # The clean series shows it: the RSA peak moves from 12 to 6 breaths/min.
    t, rr = truth.clean_time_s, truth.clean_rr_ms

    def peak(mask: np.ndarray) -> float:
        grid = np.arange(t[mask][0], t[mask][-1], 0.25)
        x = np.interp(grid, t[mask], rr[mask])
        f, p = welch(x - x.mean(), fs=4.0, nperseg=512, detrend="linear")
        band = (f >= 0.05) & (f <= 0.5)
        return float(f[band][np.argmax(p[band])] * 60)

    assert peak(t < 300) == pytest.approx(12.0, abs=1.0)
    assert peak(t > seg.start_s + 20) == pytest.approx(6.0, abs=1.0)
    # Nothing delivered before the change was altered by it.
    reference = simulate_recording(299.0, seed=5).truth
    n = reference.clean_rr_ms.size
    np.testing.assert_array_equal(truth.clean_rr_ms[:n], reference.clean_rr_ms)


def test_set_conditions_in_real_time_uses_the_wall_clock():
    async def scenario():
        source = SimulatedStrap(seed=1, speed=40.0, duration_s=20.0)
        await source.start()
        seg = None
        async for event in source:
            if isinstance(event, BeatBatch) and seg is None and event.received_s > 5:
                await asyncio.sleep(0.1)  # 4 s of session time pass meanwhile
                seg = source.set_conditions(vagal_level=0.2)
        return source, seg

    source, seg = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert 8.0 < seg.start_s < 11.0
    assert seg.vagal_level == 0.2 and seg.mean_hr_bpm is None
    assert source.ground_truth().conditions_at(19.0).mean_hr_bpm > 80.0


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError):
        SimulatedStrap(speed=0)
    with pytest.raises(ValueError):
        SimulatedStrap(speed="fast")
    with pytest.raises(ValueError):
        SimulatedStrap(duration_s=-1)
    with pytest.raises(ValueError):
        SimulatedStrap(schedule=[PhysiologySegment(vagal_level=2.0)])
