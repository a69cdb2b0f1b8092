"""Replay of recordings: notification grouping, speed, pause, seek, gaps and markers."""

from __future__ import annotations

import asyncio
import itertools
import time

import numpy as np
import pytest

from biofeedback.core.recording import Recording
from biofeedback.core.source import SourceError
from biofeedback.core.types import BeatBatch, Gap, GapReason, Marker, Seeked, StatusChange
from sensors.replay import ReplaySource


def make_recording(n: int = 120, rr: float = 800.0) -> Recording:
    rr_ms = np.full(n, rr)
    return Recording(rr_ms=rr_ms, time_s=np.cumsum(rr_ms) / 1000, name="test")


async def collect(source: ReplaySource, limit: int | None = None) -> list:
    await source.start()
    events = []
    async for event in source:
        events.append(event)
        if limit is not None and len(events) >= limit:
            await source.stop()
    return events


def test_file_recording_is_delivered_in_one_second_notifications():
    rec = make_recording(50)
    events = asyncio.run(collect(ReplaySource(rec, speed="max")))
    batches = [e for e in events if isinstance(e, BeatBatch)]
    assert sum(len(b.beats) for b in batches) == 50
    for b in batches:
        assert all(b.received_s - 1.0 < beat.time_s <= b.received_s for beat in b.beats)
        assert b.received_s == int(b.received_s)
    rr = [beat.rr_ms for b in batches for beat in b.beats]
    np.testing.assert_array_equal(rr, rec.rr_ms)
    assert isinstance(events[-1], StatusChange) and events[-1].state == "finished"


def test_stored_notifications_are_kept_and_gaps_and_markers_replayed_in_order():
    rr = np.full(10, 1000.0)
    times = np.r_[np.arange(1, 6), np.arange(9, 14)].astype(float)
    rec = Recording(
        rr_ms=rr, time_s=times, received_s=times + 0.3,
        gaps=[Gap(5.0, 8.0, GapReason.CLOCK_DRIFT)],
        markers=[Marker(3.5, 0.0, "bell")], name="s",
    )
    events = asyncio.run(collect(ReplaySource(rec, speed=None)))
    kinds = [type(e).__name__ for e in events if not isinstance(e, StatusChange)]
    assert kinds == ["BeatBatch"] * 3 + ["Marker"] + ["BeatBatch"] * 2 + ["Gap"] + \
        ["BeatBatch"] * 5
    batches = [e for e in events if isinstance(e, BeatBatch)]
    assert [b.received_s for b in batches] == pytest.approx(list(times + 0.3))


def test_speed_paces_delivery():
    rec = make_recording(30, 1000.0)  # 30 s
    start = time.perf_counter()
    asyncio.run(collect(ReplaySource(rec, speed=20.0)))
    wall = time.perf_counter() - start
    assert 1.2 < wall < 3.0


def test_pause_and_resume():
    async def scenario():
        src = ReplaySource(make_recording(100, 1000.0), speed=50.0)
        await src.start()
        seen, paused_at, while_paused = 0, None, []
        async for event in src:
            if isinstance(event, BeatBatch):
                seen += 1
                if seen == 5:
                    src.pause()
                    paused_at = src.session_time_s()
                    loop = asyncio.get_running_loop()
                    loop.call_later(0.15, lambda: while_paused.append(src.session_time_s()))
                    loop.call_later(0.3, src.resume)
                    t0 = time.perf_counter()
                if seen == 6:
                    waited = time.perf_counter() - t0
                    assert waited >= 0.25
                    # the clock stood still while paused, and went on from there
                    assert 5.0 <= paused_at < 6.0
                    assert while_paused == [paused_at]
                    assert event.received_s == 6.0
                    await src.stop()
        return seen

    assert asyncio.run(scenario()) == 6


def test_the_clock_runs_between_notifications_at_a_set_speed():
    """As a strap's clock does: between two notifications it moves on with the wall clock
    (x speed) and stops at the next one until it is delivered."""

    async def scenario():
        src = ReplaySource(make_recording(20, 1000.0), speed=2.0)  # a beat every 0.5 s
        await src.start()
        samples: list[tuple[float, float]] = []  # (received_s of the last batch, clock)
        last = [0.0]
        loop = asyncio.get_running_loop()

        def sample() -> None:
            samples.append((last[0], src.session_time_s()))
            loop.call_later(0.02, sample)

        async for event in src:
            if isinstance(event, BeatBatch):
                last[0] = event.received_s
                if not samples:
                    sample()
                if event.received_s >= 5.0:
                    await src.stop()
        return samples

    samples = asyncio.run(asyncio.wait_for(scenario(), 20))
    clocks = [clock for _, clock in samples]
    assert all(b >= a for a, b in itertools.pairwise(clocks))  # never back
    # never past the next beat: each batch is a whole second of session time
    assert all(last <= clock <= last + 1.0 for last, clock in samples)
    between = {round(clock - last, 1) for last, clock in samples if last >= 1.0}
    assert len(between) >= 4  # 0.1, 0.2, ... of the way: it ran between the beats
    # on time: 2 s of session time per wall second
    assert clocks[-1] - clocks[0] == pytest.approx(2.0 * 0.02 * (len(clocks) - 1), rel=0.25)


def test_seek_jumps_and_tells_the_consumer():
    async def scenario():
        src = ReplaySource(make_recording(200, 1000.0), speed=None)
        await src.start()
        times, seek_events = [], []
        async for event in src:
            if isinstance(event, BeatBatch):
                times.append(event.received_s)
                if len(times) == 3:
                    src.seek(150.0)
            elif isinstance(event, Seeked):
                seek_events.append(event.t_s)
        return times, seek_events

    times, seeks = asyncio.run(scenario())
    assert seeks == [150.0]
    jump = next(i for i in range(1, len(times)) if times[i] - times[i - 1] > 1.5)
    assert times[jump] == pytest.approx(150.0)
    assert times[-1] == pytest.approx(200.0)


def test_bad_speed_is_refused():
    with pytest.raises(SourceError, match="speed"):
        ReplaySource(make_recording(), speed=-1.0)


def test_switching_from_max_to_a_set_speed_continues_at_once():
    async def scenario():
        src = ReplaySource(make_recording(3000, 1000.0), speed="max")
        await src.start()
        seen, t_switch, after = 0, None, []
        async for event in src:
            if isinstance(event, BeatBatch):
                seen += 1
                if seen == 1000:
                    src.set_speed(20.0)
                    t_switch = time.perf_counter()
                elif t_switch is not None:
                    after.append(time.perf_counter() - t_switch)
                    if len(after) == 5:
                        await src.stop()
        return after

    after = asyncio.run(asyncio.wait_for(scenario(), 20))
    # At 20x the next five seconds of beats take about 0.25 s, not minutes.
    assert after[-1] < 1.5


def test_markers_and_gaps_after_the_last_beat_are_replayed():
    rec = make_recording(10, 1000.0)
    rec.markers = [Marker(12.0, 0.0, "disconnected")]
    rec.gaps = [Gap(10.0, 15.0, GapReason.LINK_LOSS)]
    events = asyncio.run(collect(ReplaySource(rec, speed="max")))
    tail = [e for e in events if isinstance(e, Marker | Gap)]
    assert tail == [Gap(10.0, 15.0, GapReason.LINK_LOSS), Marker(12.0, 0.0, "disconnected")]
