"""LiveTraces: the Qt-free plot buffers of the live view."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from biofeedback.core.types import (
    ArtifactClass,
    Beat,
    BeatBatch,
    Gap,
    GapReason,
    Marker,
    Seeked,
    SourceState,
    StatusChange,
)
from biofeedback.io.importers import read_import
from biofeedback.live.artifacts import ClassifiedBeat
from biofeedback.live.indices import LiveIndices
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.viewmodels.traces import LiveTraces, decimate_min_max
from sensors.replay import ReplaySource
from sensors.simulated import ArtifactRates, SimulatedStrap

_NO_INDICES = LiveIndices(0.0, 0)
"""Live indices before any NN interval (what a session publishes with its first beats)."""


def _batch(
    first_seq: int,
    beats: list[tuple[float, float]],
    classified: tuple[ClassifiedBeat, ...] = (),
    indices: LiveIndices = _NO_INDICES,
) -> BeatsProcessed:
    """A notification carrying (time s, RR ms) beats: a constructed event, no session."""
    received = beats[-1][0] if beats else 0.0
    batch = BeatBatch(received, tuple(
        Beat(rr, t, received, None, first_seq + k) for k, (t, rr) in enumerate(beats)
    ))
    return BeatsProcessed(batch, classified, indices)


def _cls(seq: int, t: float, rr: float, artifact: ArtifactClass) -> ClassifiedBeat:
    return ClassifiedBeat(seq, rr, t, artifact, (rr,))


def test_beats_are_appended_with_instantaneous_heart_rate():
    traces = LiveTraces(capacity=4)  # small: the arrays must grow
    t = 0.0
    seq = 0
    expected_t, expected_rr = [], []
    for i in range(50):
        rrs = [800.0 + i, 810.0 + i] if i % 3 == 0 else [1000.0 - i]
        beats = []
        for rr in rrs:
            t += rr / 1000.0
            beats.append((t, rr))
            expected_t.append(t)
            expected_rr.append(rr)
        traces.on_event(_batch(seq, beats))
        seq += len(beats)
    times, rr, hr, cls = traces.beat_arrays()
    np.testing.assert_allclose(times, expected_t)
    np.testing.assert_allclose(rr, expected_rr)
    np.testing.assert_allclose(hr, 60000.0 / np.asarray(expected_rr))
    assert (cls == -1).all()  # classes not known yet
    assert traces.n_beats == len(expected_t)
    assert traces.last_time_s == pytest.approx(expected_t[-1])
    assert traces.first_time_s == pytest.approx(expected_t[0])


def test_a_gap_breaks_every_curve_with_one_nan_row():
    traces = LiveTraces()
    traces.on_event(_batch(0, [(1.0, 1000.0), (2.0, 1000.0)]))
    traces.on_event(Gap(2.0, 10.0, GapReason.LINK_LOSS))
    traces.on_event(Gap(10.0, 11.0, GapReason.LINK_LOSS))  # a second gap: still one break
    traces.on_event(_batch(2, [(11.0, 1000.0), (12.0, 1000.0)]))
    x, y = traces.view("rr", 0.0, 20.0, 100)
    np.testing.assert_allclose(x, [1.0, 2.0, 2.0, 11.0, 12.0])
    assert np.isnan(y[2]) and np.isfinite(y[[0, 1, 3, 4]]).all()
    _, hy = traces.view("hr", 0.0, 20.0, 100)
    np.testing.assert_array_equal(np.isnan(hy), np.isnan(y))
    assert len(traces.gaps) == 2


def test_an_unreported_jump_in_beat_times_also_breaks_the_curve():
    traces = LiveTraces()
    traces.on_event(_batch(0, [(1.0, 1000.0), (2.0, 1000.0)]))
    traces.on_event(_batch(2, [(60.0, 1000.0)]))  # a forward seek in a replay
    _, y = traces.view("rr", 0.0, 100.0, 100)
    assert np.isnan(y).sum() == 1
    assert np.isnan(y[2])


def test_artifact_flags_arrive_later_and_are_matched_by_sequence_number():
    traces = LiveTraces()
    traces.on_event(_batch(10, [(1.0, 1000.0)]))
    traces.on_event(_batch(11, [(1.5, 500.0)]))
    traces.on_event(Gap(1.5, 5.0, GapReason.CLOCK_DRIFT))
    traces.on_event(
        _batch(
            12,
            [(6.0, 1000.0)],
            classified=(
                _cls(10, 1.0, 1000.0, ArtifactClass.NORMAL),
                _cls(11, 1.5, 500.0, ArtifactClass.EXTRA),
            ),
        )
    )
    traces.on_event(
        _batch(13, [(7.0, 1000.0)], (_cls(12, 6.0, 1000.0, ArtifactClass.ECTOPIC),))
    )
    flags = traces.artifact_flags()
    # rows: beat 10, beat 11, gap break, beat 12, beat 13
    np.testing.assert_array_equal(flags, [False, True, False, True, False])
    _, _, _, cls = traces.beat_arrays()
    assert cls[4] == -1  # still pending
    ax, ay = traces.view("rr_artifacts", 0.0, 10.0, 100)
    np.testing.assert_allclose(ax, [1.5, 6.0])
    np.testing.assert_allclose(ay, [500.0, 1000.0])
    _, hy = traces.view("hr_artifacts", 0.0, 10.0, 100)
    np.testing.assert_allclose(hy, [120.0, 60.0])
    # unknown sequence numbers (e.g. from before a clear) are ignored
    traces.on_event(_batch(14, [(8.0, 1000.0)], (_cls(3, 0.1, 900.0, "extra"),)))
    assert traces.artifact_flags().sum() == 2


def test_markers_and_phases_are_kept_and_filtered_by_range():
    from biofeedback.core.types import PhaseSpan

    traces = LiveTraces()
    traces.add_beats([1.0, 45.0], [1000.0, 1000.0])
    traces.on_event(Marker(5.0, 0.0, "itchy nose"))
    traces.on_event(Marker(50.0, 10.0, "talked"))
    traces.on_event(StatusChange(SourceState.STREAMING, "Streaming"))  # ignored
    assert [m.label for m in traces.markers_in(0.0, 20.0)] == ["itchy nose"]
    assert [m.label for m in traces.markers_in(55.0, 100.0)] == ["talked"]
    traces.set_phases(
        [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 30.0),
         PhaseSpan("stress", "Serial subtraction", "stressor", 30.0, 30.0)]  # open
    )
    assert [p.phase_id for p in traces.phases_in(31.0, 40.0)] == ["stress"]


def test_truncate_after_drops_everything_from_that_time_on():
    traces = LiveTraces()
    for seq, k in enumerate(range(1, 21)):
        cls = (_cls(seq - 1, k - 1.0, 1000.0, ArtifactClass.MISSED),) if k % 5 == 0 else ()
        traces.on_event(_batch(seq, [(float(k), 1000.0)], cls))
    traces.on_event(Gap(20.0, 25.0, GapReason.LINK_LOSS))
    traces.on_event(Marker(8.0, 0.0, "a"))
    traces.on_event(Marker(12.0, 0.0, "b"))
    traces.truncate_after(10.0)
    x, _ = traces.view("rr", 0.0, 100.0, 1000)
    np.testing.assert_allclose(x, np.arange(1.0, 10.0))
    assert traces.last_time_s == pytest.approx(9.0)
    assert [m.label for m in traces.markers] == ["a"]
    assert traces.gaps == []
    ax, _ = traces.view("rr_artifacts", 0.0, 100.0, 100)
    np.testing.assert_allclose(ax, [4.0, 9.0])
    # a replay re-sends from the seek point: sequence numbers continue, classes still land
    traces.on_event(_batch(100, [(10.0, 1000.0)]))
    traces.on_event(
        _batch(101, [(11.0, 1000.0)], (_cls(100, 10.0, 1000.0, "ectopic"),))
    )
    ax, _ = traces.view("rr_artifacts", 0.0, 100.0, 100)
    np.testing.assert_allclose(ax, [4.0, 9.0, 10.0])
    traces.clear()
    assert traces.n_beats == 0 and traces.last_time_s is None and traces.markers == []
    assert traces.view("rr", 0.0, 10.0, 10)[0].size == 0


def test_seek_event_truncates_backwards_and_breaks_forwards():
    traces = LiveTraces()
    for k in range(1, 11):
        traces.on_event(_batch(k, [(float(k), 1000.0)]))
    traces.on_event(Seeked(5.5))
    x, y = traces.view("rr", 0.0, 100.0, 100)
    np.testing.assert_allclose(x, [1, 2, 3, 4, 5])  # re-sent from 5.5 on: continues them
    assert np.isfinite(y).all()
    traces.on_event(_batch(20, [(6.0, 1000.0)]))
    traces.on_event(Seeked(60.0))
    traces.on_event(_batch(21, [(60.5, 1000.0)]))
    x, y = traces.view("rr", 0.0, 100.0, 100)
    np.testing.assert_allclose(x, [1, 2, 3, 4, 5, 6, 6, 60.5])
    assert np.isnan(y[6]) and np.isfinite(y[[5, 7]]).all()  # no line across the jump


def test_view_clips_to_the_range_with_one_point_either_side():
    traces = LiveTraces()
    t = np.arange(1, 1001, dtype=np.float64)
    traces.add_beats(t, np.full(t.size, 1000.0))
    x, y = traces.view("rr", 100.5, 200.5, 10_000)
    np.testing.assert_allclose(x, np.arange(100.0, 202.0))
    x, _ = traces.view("rr", -50.0, 0.5, 100)
    np.testing.assert_allclose(x, [1.0])
    x, _ = traces.view("rr", 2000.0, 3000.0, 100)
    np.testing.assert_allclose(x, [1000.0])
    # the returned arrays are copies: later appends and truncation cannot change them
    x, y = traces.view("rr", 0.0, 2000.0, 10_000)
    traces.truncate_after(500.0)
    traces.add_beats([500.0], [1.0])
    assert y[499] == 1000.0


def test_decimation_keeps_each_buckets_min_and_max_and_the_gap_breaks():
    rng = np.random.default_rng(4)
    n = 20_000
    x = np.arange(n, dtype=np.float64)
    y = 800.0 + 30.0 * rng.standard_normal(n)
    y[1234] = 1900.0  # a single-beat spike must survive
    y[15_001] = 300.0
    y[[5000, 12_000]] = np.nan  # two breaks
    xd, yd = decimate_min_max(x, y, 1000)
    assert xd.size <= 1000 + 2 + 2
    assert np.nanmax(yd) == 1900.0 and np.nanmin(yd) == 300.0
    # both breaks stay, in place: no finite point of one run between the other run's points
    breaks = xd[np.isnan(yd)]
    assert breaks.size == 2
    assert (xd[np.isfinite(yd)] != 5000).all()
    before = xd[(xd < 5000) & np.isfinite(yd)]
    assert before.max() < 5000 <= xd[np.flatnonzero(np.isnan(yd))[0] + 1]
    # the points stay in time order and come from the data
    finite = np.isfinite(yd)
    assert np.all(np.diff(xd) >= 0)
    np.testing.assert_array_equal(yd[finite], y[xd[finite].astype(int)])
    # every run's extremes are kept
    for lo, hi in ((0, 5000), (5001, 12_000), (12_001, n)):
        run = (xd >= lo) & (xd < hi) & finite
        assert yd[run].max() == np.nanmax(y[lo:hi])
        assert yd[run].min() == np.nanmin(y[lo:hi])


def test_view_decimates_above_max_points():
    traces = LiveTraces()
    t = np.cumsum(np.full(16_000, 0.9))
    rr = 900.0 + 50.0 * np.sin(t)
    rr[8000] = 2000.0
    traces.add_beats(t, rr)
    traces.add_gap(Gap(float(t[-1]), float(t[-1]) + 5.0, GapReason.LINK_LOSS))
    x, y = traces.view("rr", 0.0, float(t[-1]), 1800)
    assert 1000 < x.size <= 1800 + 2
    assert np.nanmax(y) == 2000.0
    x, y = traces.view("rr", 0.0, float(t[-1]), 20_000)
    assert x.size == 16_001  # under the limit: every beat and the final break


def test_real_session_values_match_the_beats_and_indices():
    traces = LiveTraces()
    recorded: list[object] = []
    indices_seen = []

    async def run() -> LiveSession:
        strap = SimulatedStrap(
            seed=5,
            speed=None,
            duration_s=420.0,
            artifacts=ArtifactRates(ectopic_pair=0.01, missed=0.005, dropped_notification=0.004),
        )
        # Spectral values every session second, not throttled by wall time: at max speed the
        # throttle would make the number of HF values depend on the machine's load.
        session = LiveSession(strap, store=None, neurokit=False, spectral_min_wall_s=0.0)

        def take(event: object) -> None:
            traces.on_event(event)  # type: ignore[arg-type]
            recorded.append(event)
            if isinstance(event, BeatsProcessed) and event.batch.beats:
                indices_seen.append(event.indices)

        session.subscribe(take)
        await session.run(duration_s=420.0)
        return session

    session = asyncio.run(run())
    beats = [
        (b.time_s, b.rr_ms)
        for e in recorded if isinstance(e, BeatsProcessed) for b in e.batch.beats
    ]
    gaps = [e for e in recorded if isinstance(e, Gap)]
    assert gaps, "the simulated strap dropped notifications: there are gaps"
    times, rr, hr, _ = traces.beat_arrays()
    finite = np.isfinite(rr)
    assert finite.sum() == len(beats) == session.stats.n_beats
    np.testing.assert_allclose(times[finite], [t for t, _ in beats])
    np.testing.assert_allclose(rr[finite], [r for _, r in beats])
    np.testing.assert_allclose(hr[finite], 60000.0 / rr[finite])
    # one break per gap (gaps follow beats here), each between the beats around it
    assert (~finite).sum() == len(gaps)
    for gap in gaps:
        before = times[finite][times[finite] <= gap.start_s + 1e-9]
        after = times[finite][times[finite] >= gap.end_s - 1e-9]
        row = int(np.flatnonzero(times == before.max())[0])
        assert math.isnan(rr[row + 1])
        assert times[row + 2] == after.min()
    # artifact flags equal the classes the session counted
    counted = sum(v for k, v in session.stats.artifacts.items() if k != ArtifactClass.NORMAL)
    classified_in_events = sum(
        1
        for e in recorded if isinstance(e, BeatsProcessed)
        for c in e.classified if c.artifact != ArtifactClass.NORMAL
    )
    assert traces.artifact_flags().sum() == classified_in_events
    assert 0 < classified_in_events <= counted
    # the trend holds the session's lnRMSSD and HF values at their times
    lx, ly = traces.view("ln_rmssd", 0.0, 1e9, 1_000_000)
    valid = [
        (i.time_s, i.ln_rmssd_60 if i.ln_rmssd_60 is not None else i.ln_rmssd_30)
        for i in indices_seen
    ]
    valid_map = dict(valid)
    lf = np.isfinite(ly)
    assert lf.sum() > 100
    for t, v in zip(lx[lf], ly[lf], strict=True):
        assert valid_map[float(t)] == pytest.approx(v)
    hx, hy = traces.view("hf", 0.0, 1e9, 1_000_000)
    hf_valid = {i.time_s: i.hf_ms2 for i in indices_seen if i.hf_ms2 is not None}
    assert np.isfinite(hy).sum() == len(hf_valid) > 0
    for t, v in zip(hx[np.isfinite(hy)], hy[np.isfinite(hy)], strict=True):
        assert hf_valid[float(t)] == pytest.approx(v)


def test_replay_seek_backwards_through_the_session_keeps_times_sorted(tmp_path):
    """A real replay: seek back mid-way, the traces truncate and stay sorted."""
    rr_file = tmp_path / "rr.txt"
    rng = np.random.default_rng(1)
    rr_file.write_text("\n".join(f"{800 + 40 * rng.standard_normal():.1f}" for _ in range(400)))
    traces = LiveTraces()
    seeks: list[float] = []

    async def run() -> None:
        source = ReplaySource(read_import(rr_file).recording, speed=None)
        session = LiveSession(source, store=None, neurokit=False)

        def take(event: object) -> None:
            traces.on_event(event)  # type: ignore[arg-type]
            if isinstance(event, Seeked):
                seeks.append(event.t_s)
            if isinstance(event, BeatsProcessed) and not seeks and event.batch.received_s > 200:
                source.seek(100.0)

        session.subscribe(take)
        await session.run()

    asyncio.run(run())
    assert seeks == [100.0]
    times, rr, _, _ = traces.beat_arrays()
    assert np.all(np.diff(times) >= 0)
    finite = np.isfinite(rr)
    assert times[finite].max() > 300.0
    # the beats between 100 s and 200 s are there once, not twice
    mid = times[finite][(times[finite] > 110.0) & (times[finite] < 190.0)]
    assert np.unique(mid).size == mid.size


def test_trend_takes_the_indices_the_event_carries():
    """Events are values: the trend holds the indices published with each notification."""
    traces = LiveTraces()
    traces.on_event(_batch(0, [(1.0, 1000.0)]))  # no NN interval yet: no trend value
    traces.on_event(_batch(1, [(2.0, 1000.0)], indices=LiveIndices(
        2.0, 2, hr_bpm=60.0, ln_rmssd_30=3.0, hf_ms2=None)))
    traces.on_event(_batch(2, [(3.0, 1000.0)], indices=LiveIndices(
        3.0, 3, hr_bpm=61.0, ln_rmssd_30=3.1, ln_rmssd_60=3.2, hf_ms2=500.0)))
    traces.on_event(_batch(3, [(4.0, 1000.0)], indices=LiveIndices(  # same time: skipped
        3.0, 3, hr_bpm=99.0, ln_rmssd_60=9.0, hf_ms2=999.0)))
    lx, ly = traces.view("ln_rmssd", 0.0, 10.0, 100)
    np.testing.assert_allclose(lx, [2.0, 3.0])
    np.testing.assert_allclose(ly, [3.0, 3.2])  # the 60-s value once there is one
    hx, hy = traces.view("hf", 0.0, 10.0, 100)
    np.testing.assert_allclose(hx, [3.0])  # no HF yet at 2 s: nothing to break after
    np.testing.assert_allclose(hy, [500.0])
    tx, ty = traces.view("trend_hr", 0.0, 10.0, 100)
    np.testing.assert_allclose(tx, [2.0, 3.0])
    np.testing.assert_allclose(ty, [60.0, 61.0])


def test_whole_session_view_keeps_decimating_as_the_plain_decimation_would():
    """The kept buckets (AppendDecimator) through appends, gaps, seeks and a new session."""
    traces = LiveTraces(capacity=64)
    rng = np.random.default_rng(9)
    t, seq = 0.0, 0

    def feed(n_batches: int) -> None:
        nonlocal t, seq
        for _ in range(n_batches):
            rrs = 800.0 + 80.0 * rng.standard_normal(int(rng.integers(1, 3)))
            beats = []
            for rr in rrs:
                t += rr / 1000.0
                beats.append((t, float(rr)))
            indices = LiveIndices(t, 30, ln_rmssd_30=float(3.5 + rng.standard_normal()),
                                  hf_ms2=float(rng.uniform(100, 900)), hr_bpm=70.0)
            traces.on_event(_batch(seq, beats, indices=indices))
            seq += len(beats)

    def check(max_points: int = 400) -> None:
        last = traces.last_time_s or 0.0
        for name in ("rr", "hr", "ln_rmssd", "hf"):
            got = traces.view(name, 0.0, last, max_points)
            x, y, _ = traces._series(name)
            # a series with room for all its rows is drawn as it is
            want = decimate_min_max(x, y, max_points) if x.size > max_points else (x, y)
            np.testing.assert_array_equal(got[0], want[0])
            np.testing.assert_array_equal(got[1], want[1])

    for round_ in range(30):
        feed(int(rng.integers(1, 80)))
        check()
        if round_ == 10:
            traces.add_gap(Gap(t + 0.5, t + 20.0, GapReason.LINK_LOSS))
            t += 20.0
        if round_ == 20:
            traces.on_event(Seeked(t - 200.0))  # backwards: rows dropped, buckets redone
            t -= 200.0
            check()
    check(max_points=1000)  # another zoom level (a wider plot)
    check()
    traces.clear()
    feed(400)
    check()


def test_a_run_of_many_beats_gives_the_rows_of_one_by_one():
    """An event with many beats (a replay's run) is appended as arrays: the same rows, times,
    RR, HR (a zero RR gives NaN as one by one) and classes as the same beats one at a time."""
    rng = np.random.default_rng(5)
    rr = rng.uniform(600.0, 1200.0, 200)
    rr[[17, 90]] = 0.0  # a zero interval: no heart rate
    times = np.cumsum(np.maximum(rr, 1.0)) / 1000.0
    beats = list(zip(times.tolist(), rr.tolist(), strict=True))
    classified = (_cls(40, beats[40][0], beats[40][1], ArtifactClass.ECTOPIC),)
    bulk, single = LiveTraces(capacity=8), LiveTraces(capacity=8)
    bulk.on_event(_batch(0, beats, classified))
    for k, beat in enumerate(beats):
        single.on_event(_batch(k, [beat], classified if k == len(beats) - 1 else ()))
    for got, want in zip(bulk.beat_arrays(), single.beat_arrays(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert np.isnan(bulk.beat_arrays()[2][[17, 90]]).all()
    np.testing.assert_array_equal(bulk.artifact_flags(), single.artifact_flags())
    assert bulk.artifact_flags().sum() == 1
