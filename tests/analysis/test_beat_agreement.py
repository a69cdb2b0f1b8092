"""Beat-by-beat agreement of ECG beats with the strap's RR: a hand-made case with a beat the
strap missed and an extra ECG beat, windows and phases, and the virtual strap end to end."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.analysis.beat_agreement import (
    beat_agreement,
    match_beats,
    pooled_agreement,
    strap_beat_times,
)
from biofeedback.analysis.ecg_stream import rr_from_ecg_chunks
from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Gap, GapReason, PhaseSpan
from sensors.ble.gatt import RR_UNITS_PER_SECOND
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import SimulatedRRSource

TRUE_RR_MS = np.array([800, 820, 790, 810, 830, 800, 780, 800, 820, 810], dtype=float)
TRUE_S = 10.0 + np.concatenate(([0.0], np.cumsum(TRUE_RR_MS) / 1000.0))
ECG_ERROR_MS = np.array([1, -2, 0, 3, -1, 2, 0, -4, 1, -1, 0], dtype=float)
"""Detection error of each of the 11 true beats on the ECG side."""
LATENCY_S = 0.4
"""The strap's cumulative-RR times lie this much after the true beats."""


def _hand_made() -> tuple[np.ndarray, np.ndarray]:
    ecg = TRUE_S + ECG_ERROR_MS / 1000.0
    # An extra ECG beat (a tall T wave taken for an R) 300 ms after beat 5.
    ecg = np.sort(np.append(ecg, TRUE_S[5] + 0.300))
    # The strap misses beat 7: its RR 7 and 8 come as one long interval.
    strap = np.delete(TRUE_S, 7) + LATENCY_S
    return ecg, strap


def test_a_missed_beat_and_an_extra_beat() -> None:
    ecg, strap = _hand_made()
    match = match_beats(ecg, strap)
    assert match.offset_s == pytest.approx(-LATENCY_S, abs=1e-9)
    # Beats 0-6 and 8-10 paired; the ECG's index is one up after the extra beat.
    np.testing.assert_array_equal(match.strap_index, np.arange(10))
    np.testing.assert_array_equal(match.ecg_index, [0, 1, 2, 3, 4, 5, 7, 9, 10, 11])
    np.testing.assert_allclose(match.diff_ms, np.delete(ECG_ERROR_MS, 7), atol=1e-6)
    # The extra beat (ECG 6) and beat 7, which the strap missed (ECG 8).
    np.testing.assert_array_equal(match.ecg_unmatched, [6, 8])
    assert match.strap_unmatched.size == 0
    # Intervals with both ends paired and no beat between on either side: 0-5 and 8-10.
    np.testing.assert_allclose(match.rr_diff_ms, [-3, 2, 3, -4, 3, -2, 1], atol=1e-6)

    report = beat_agreement(ecg, strap)
    overall = report.overall
    assert (overall.n_ecg, overall.n_strap, overall.n_matched) == (12, 10, 10)
    assert (overall.ecg_unmatched, overall.strap_unmatched) == (2, 0)
    assert overall.median_abs_diff_ms == pytest.approx(1.0, abs=1e-6)
    assert overall.median_abs_rr_diff_ms == pytest.approx(3.0, abs=1e-6)
    assert overall.offset_s == pytest.approx(-LATENCY_S, abs=1e-9)
    assert len(report.windows) == 1 and report.windows[0].to_dict() == {
        **overall.to_dict(), "label": "0"}


def test_an_extra_strap_beat_is_unmatched_on_the_strap_side() -> None:
    ecg = TRUE_S + ECG_ERROR_MS / 1000.0
    # The strap splits interval 3 in two (a noise spike counted as a beat).
    strap = np.sort(np.append(TRUE_S, TRUE_S[3] + 0.35)) + LATENCY_S
    match = match_beats(ecg, strap)
    np.testing.assert_array_equal(match.strap_unmatched, [4])
    assert match.ecg_unmatched.size == 0
    assert match.ecg_index.size == 11
    report = beat_agreement(ecg, strap)
    assert (report.overall.ecg_unmatched, report.overall.strap_unmatched) == (0, 1)


def test_per_window_and_per_phase() -> None:
    ecg, strap = _hand_made()
    phases = [PhaseSpan("baseline", "Baseline", "baseline", 9.0, TRUE_S[5] + 0.1),
              PhaseSpan("task", "Task", "stressor", TRUE_S[5] + 0.1, 30.0)]
    report = beat_agreement(ecg, strap, phases, window_s=4.0)
    base, task = report.phases
    # Baseline holds beats 0-5, all paired; the task the extra beat, beat 7 and beats 6-10.
    assert (base.label, base.n_ecg, base.n_strap, base.n_matched) == ("baseline", 6, 6, 6)
    assert (base.ecg_unmatched, base.strap_unmatched) == (0, 0)
    # Matched in windows of 4 s, each with its own offset (the median of its pairs): errors
    # 1, -2, 0, 3 less 0.5 ms, then -1, 2 less 0.5 ms.
    assert base.median_abs_diff_ms == pytest.approx(1.5, abs=1e-6)
    assert (task.n_ecg, task.n_strap, task.n_matched) == (6, 4, 4)
    assert (task.ecg_unmatched, task.strap_unmatched) == (2, 0)
    # Windows of 4 s from the strap's first beat less the largest offset (10.4 - 1.5 s) to its
    # last plus it: ECG beats 0-3, 4-8 with the extra one (beat 7 unpaired), and 9-10.
    assert report.windows[0].start_s == pytest.approx(8.9)
    assert [w.n_ecg for w in report.windows] == [4, 6, 2]
    assert [w.n_matched for w in report.windows] == [4, 4, 2]
    assert [w.strap_unmatched for w in report.windows] == [0, 0, 0]
    assert sum(w.n_ecg for w in report.windows) == report.overall.n_ecg == 12
    assert report.to_dict()["phases"][1]["label"] == "task"


def test_pooled_spans_each_get_their_own_offset() -> None:
    ecg = TRUE_S + ECG_ERROR_MS / 1000.0
    # From beat 6 the ECG was placed 80 ms later (a stream placed anew): beyond the 50-ms
    # tolerance of one offset for all.
    ecg[6:] += 0.080
    strap = TRUE_S + LATENCY_S
    split = float(TRUE_S[5] + 0.2)
    spans = [(9.0, split), (split, 30.0)]
    pooled = pooled_agreement(ecg, strap, spans, label="window")
    assert (pooled.label, pooled.start_s, pooled.end_s) == ("window", 9.0, 30.0)
    assert (pooled.n_ecg, pooled.n_strap, pooled.n_matched) == (11, 11, 11)
    assert (pooled.ecg_unmatched, pooled.strap_unmatched) == (0, 0)
    # Each span's offset is the median of its own pairs: errors less 0.5 ms, then less 0.
    assert pooled.median_abs_diff_ms == pytest.approx(1.0, abs=1e-6)
    one = pooled_agreement(ecg, strap, [(9.0, 30.0)])
    assert one.n_matched == 6 and one.ecg_unmatched == one.strap_unmatched == 5
    empty = pooled_agreement(ecg, strap, [])
    assert empty.n_matched == 0 and empty.median_abs_diff_ms is None


def test_strap_beat_times_restart_after_a_gap() -> None:
    rr = np.array([800.0, 800.0, 800.0, 900.0, 900.0])
    # Arrival-like session times: the beats after the gap come 5 s later than RR says.
    time_s = np.array([1.0, 1.85, 2.6, 8.5, 9.4])
    times = strap_beat_times(rr, time_s, [Gap(3.0, 8.0, GapReason.LINK_LOSS)])
    np.testing.assert_allclose(times, [1.0, 1.8, 2.6, 8.5, 9.4])
    # Without the gap the jump itself (more than 1 s past the RR) starts a new run.
    np.testing.assert_allclose(strap_beat_times(rr, time_s), times)
    with pytest.raises(ValueError, match="rr_ms has 5 beats but time_s 4"):
        strap_beat_times(rr, time_s[:4])


def test_bad_input_is_refused_with_the_beat() -> None:
    with pytest.raises(ValueError, match=r"strap_s must increase: beat 2 at 1.0 s follows 2.0 s"):
        beat_agreement(np.array([0.5, 1.5]), np.array([1.0, 2.0, 1.0]))
    with pytest.raises(ValueError, match="window_s and tolerance_s must be positive"):
        beat_agreement(np.array([0.5]), np.array([0.5]), window_s=0.0)
    empty = beat_agreement(np.empty(0), np.empty(0))
    assert empty.windows == [] and empty.overall.n_matched == 0
    assert empty.overall.median_abs_diff_ms is None
    lone = beat_agreement(np.array([1.0, 2.0]), np.empty(0))
    assert (lone.overall.ecg_unmatched, lone.overall.strap_unmatched) == (2, 0)


def test_the_virtual_strap_ecg_agrees_with_its_rr_through_latency_and_drift() -> None:
    track = BeatTrack(SimulatedRRSource(3))
    signals = ChestSignals(track, breathing_for(track), seed=3)
    rate = 130.2
    n = int(300 * rate) // 73 * 73
    t = np.arange(n) / rate
    samples = signals.ecg_uv(t).reshape(-1, 1)
    chunks = [SignalChunk("ecg", float(t[i]), rate, samples[i:i + 73], "uV", first_index=i)
              for i in range(0, n, 73)]
    beats = rr_from_ecg_chunks(chunks)
    # The strap's RR as the app receives them (1/1024-s ticks), anchored 0.6 s late, on a
    # clock 40 ppm fast.
    r = np.asarray(track.r_times_s)
    r = r[r < t[-1] + 2.0]
    ticks = np.rint(np.diff(r) * RR_UNITS_PER_SECOND)
    rr_ms = np.concatenate(([800.0], ticks * 1000.0 / RR_UNITS_PER_SECOND)) * (1 + 40e-6)
    strap = strap_beat_times(rr_ms, np.full(r.size, r[0] + 0.6) + np.concatenate(
        ([0.0], np.cumsum(rr_ms[1:]) / 1000.0)))
    phases = [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 150.0),
              PhaseSpan("practice", "Practice", "practice", 150.0, 300.0)]
    report = beat_agreement(beats.r_times_s, strap, phases)
    for row in report.phases:
        assert row.n_matched >= row.n_ecg - 1
        assert row.ecg_unmatched <= 1
        assert row.median_abs_diff_ms is not None and row.median_abs_diff_ms < 2.0
        assert row.median_abs_rr_diff_ms is not None and row.median_abs_rr_diff_ms < 2.0
        assert row.offset_s == pytest.approx(-0.6, abs=0.02)
    # Only the strap's beats past the ECG's last sample stay unpaired.
    assert report.overall.strap_unmatched == int((strap - 0.6 > t[-1]).sum())


def test_strap_beats_where_there_was_no_ecg_are_not_counted() -> None:
    ecg, strap = _hand_made()
    # The ECG started at 11.5 s: beats 0-1 of the strap have no ECG beside them.
    late = ecg[ecg > 11.5]
    counted = beat_agreement(late, strap)
    assert counted.overall.strap_unmatched == 2
    report = beat_agreement(late, strap, ecg_runs=[(11.5, 20.0)])
    assert report.overall.strap_unmatched == 0
    assert report.overall.n_matched == counted.overall.n_matched == 8
    assert report.overall.ecg_unmatched == 2  # the extra beat and the one the strap missed
