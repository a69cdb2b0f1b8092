"""Beat times rebuilt from cumulative RR anchored to the receive clock."""

from __future__ import annotations

import itertools

import pytest

from biofeedback.core.beat_clock import BeatClock
from biofeedback.core.types import GapReason


def test_first_notification_anchors_last_beat_at_receive_time():
    clock = BeatClock()
    batch, gap = clock.push(10.0, [800.0, 900.0])
    assert gap is None
    assert [b.time_s for b in batch.beats] == pytest.approx([9.1, 10.0])
    assert all(b.received_s == 10.0 for b in batch.beats)


def test_steady_stream_has_no_gap_and_follows_cumulative_rr():
    clock = BeatClock()
    times = []
    for k in range(1, 60):
        batch, gap = clock.push(float(k) + 0.2, [1000.0])  # constant 0.2 s latency
        assert gap is None
        times.extend(b.time_s for b in batch.beats)
    diffs = [b - a for a, b in itertools.pairwise(times)]
    assert diffs == pytest.approx([1.0] * len(diffs))


def test_lost_notifications_make_a_clock_drift_gap():
    clock = BeatClock()
    for k in range(1, 20):
        clock.push(float(k), [1000.0])
    last = clock.last_beat_s
    # Notifications for t=20..22 never arrived: the clock ran 3 s ahead of cumulative RR.
    batch, gap = clock.push(23.0, [1000.0])
    assert gap is not None and gap.reason is GapReason.CLOCK_DRIFT
    assert gap.start_s == pytest.approx(last)
    assert gap.end_s == pytest.approx(22.0)
    assert batch.beats[0].time_s == pytest.approx(23.0)


def test_drift_below_threshold_is_not_a_gap():
    clock = BeatClock()
    for k in range(1, 20):
        clock.push(float(k), [1000.0])
    _, gap = clock.push(20.0 + 1.4, [1000.0])  # 1.4 s late < 1.5 x 1000 ms
    assert gap is None


def test_rr_faster_than_clock_reanchors_without_gap():
    clock = BeatClock()
    times = []
    # A compressed strap: 10 s of RR arrive every wall second.
    for k in range(1, 30):
        batch, gap = clock.push(float(k), [1000.0] * 10)
        assert gap is None
        times.extend(b.time_s for b in batch.beats)
    diffs = [b - a for a, b in itertools.pairwise(times)]
    assert diffs == pytest.approx([1.0] * len(diffs))
    # After the burst stops, a real-time stream continues without a spurious gap.
    _, gap = clock.push(30.0, [1000.0])
    assert gap is None


def test_empty_notification_carries_heart_rate_only():
    clock = BeatClock()
    batch, gap = clock.push(3.0, [], heart_rate_bpm=61)
    assert batch.beats == () and batch.heart_rate_bpm == 61 and gap is None


def test_repeated_gaps_never_push_beats_into_the_future():
    clock = BeatClock()
    beat_t = 0.0
    worst = 0.0
    for k in range(400):
        beat_t += 1.0
        # Latency alternates between 0.9 s and 0.05 s; every 10th notification is lost.
        latency = 0.9 if k % 2 else 0.05
        if k % 10 == 5:
            continue
        batch, _ = clock.push(beat_t + latency, [1000.0])
        worst = max(worst, max(b.time_s - b.received_s for b in batch.beats))
    assert worst <= 0.9 + 1e-9


def test_link_loss_always_breaks_the_segment_and_never_goes_back_in_time():
    clock = BeatClock()
    for k in range(1, 20):
        clock.push(float(k), [1000.0])
    last = clock.last_beat_s
    clock.break_segment()
    # Reconnected quickly: 1.2 s later, below the drift threshold, yet a gap is recorded.
    batch, gap = clock.push(20.2, [1000.0])
    assert gap is not None and gap.reason is GapReason.LINK_LOSS
    assert gap.start_s == pytest.approx(last)
    assert batch.beats[0].time_s >= last
    # Only once: the stream goes on normally afterwards.
    _, gap = clock.push(21.2, [1000.0])
    assert gap is None


def test_link_loss_of_a_compressed_stream_keeps_times_increasing():
    clock = BeatClock()
    for k in range(1, 10):
        clock.push(k * 0.05, [1000.0])  # 20 x faster than the clock
    last = clock.last_beat_s
    clock.break_segment()
    batch, gap = clock.push(0.6, [1000.0, 1000.0])
    assert gap is not None and gap.end_s >= gap.start_s == pytest.approx(last)
    assert batch.beats[0].time_s > last
