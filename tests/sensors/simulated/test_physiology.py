"""The simulated physiology and artifacts: determinism, realism, ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from sensors.simulated import (
    ArtifactRates,
    PhysiologyParams,
    PhysiologySegment,
    Schedule,
    SimulationEngine,
    rsa_gain,
    simulate_recording,
)


def rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def dominant_breaths_per_min(rr: np.ndarray, t: np.ndarray) -> float:
    """Frequency of the highest spectral peak in 0.05-0.5 Hz of the 4 Hz-resampled series."""
    grid = np.arange(t[0], t[-1], 0.25)
    x = np.interp(grid, t, rr)
    f, p = welch(x - x.mean(), fs=4.0, nperseg=512, detrend="linear")
    band = (f >= 0.05) & (f <= 0.5)
    return float(f[band][np.argmax(p[band])] * 60.0)


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_same_recording_different_seed_different():
    rates = ArtifactRates.from_total(0.03, dropped_notification=0.05)
    a = simulate_recording(300, seed=5, artifacts=rates)
    b = simulate_recording(300, seed=5, artifacts=rates)
    c = simulate_recording(300, seed=6, artifacts=rates)
    np.testing.assert_array_equal(a.rr_ms, b.rr_ms)
    np.testing.assert_array_equal(a.received_s, b.received_s)
    np.testing.assert_array_equal(a.truth.clean_rr_ms, b.truth.clean_rr_ms)
    assert a.truth.artifacts == b.truth.artifacts
    assert a.rr_ms.size != c.rr_ms.size or not np.array_equal(a.rr_ms, c.rr_ms)
    assert not np.array_equal(a.truth.clean_rr_ms[:200], c.truth.clean_rr_ms[:200])


def test_result_does_not_depend_on_chunking():
    rates = ArtifactRates.from_total(0.05, dropped_notification=0.05)
    whole = SimulationEngine(3, artifacts=rates)
    whole.advance(900.0)
    pieces = SimulationEngine(3, artifacts=rates)
    rng = np.random.default_rng(0)
    t = 0.0
    while t < 900.0:
        t = min(t + float(rng.choice([0.3, 1.0, 7.5, 61.0, 200.0])), 900.0)
        pieces.advance(t)
    a, b = whole.ground_truth(), pieces.ground_truth()
    for name in ("clean_rr_ms", "clean_time_s", "sensor_rr_ms", "sensor_time_s",
                 "sensor_notification", "notification_received_s", "notification_dropped"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.artifacts == b.artifacts and a.dropped == b.dropped


def test_artifacts_leave_the_clean_series_untouched():
    clean = simulate_recording(300, seed=9).truth
    dirty = simulate_recording(300, seed=9, artifacts=ArtifactRates.from_total(0.1)).truth
    n = min(clean.clean_rr_ms.size, dirty.clean_rr_ms.size)
    np.testing.assert_array_equal(clean.clean_rr_ms[:n], dirty.clean_rr_ms[:n])


def test_24_hours_hold_a_day_of_beats():
    # Its speed (goal under 1 s) is measured by benchmarks/simulate_24h.py, not timed here.
    rec = simulate_recording(24 * 3600, seed=1, artifacts=ArtifactRates.from_total(0.01))
    assert 80_000 < rec.rr_ms.size < 120_000


# -- realism -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_resting_values_are_realistic(seed):
    truth = simulate_recording(300, seed=seed).truth
    rr = truth.clean_rr_ms
    hr = 60000.0 / rr.mean()
    assert 60.0 <= hr <= 75.0
    assert 25.0 <= rmssd(rr) <= 60.0
    assert 40.0 <= rr.std(ddof=1) <= 70.0
    assert rr.min() > 600 and rr.max() < 1300


@pytest.mark.parametrize("hr", [55.0, 72.0, 90.0])
def test_mean_hr_follows_the_schedule(hr):
    schedule = [PhysiologySegment(mean_hr_bpm=hr)]
    rr = simulate_recording(300, seed=4, schedule=schedule).truth.clean_rr_ms
    assert 60000.0 / rr.mean() == pytest.approx(hr, abs=2.0)


def test_rsa_peak_sits_at_the_breathing_rate_and_follows_a_change():
    schedule = [
        PhysiologySegment(0.0, breaths_per_min=12.0),
        PhysiologySegment(300.0, breaths_per_min=6.0, transition_s=10.0),
    ]
    truth = simulate_recording(600, seed=2, schedule=schedule).truth
    rest_t = truth.clean_time_s < 300
    paced_t = truth.clean_time_s > 320
    rest = dominant_breaths_per_min(truth.clean_rr_ms[rest_t], truth.clean_time_s[rest_t])
    paced = dominant_breaths_per_min(truth.clean_rr_ms[paced_t], truth.clean_time_s[paced_t])
    assert rest == pytest.approx(12.0, abs=1.0)
    assert paced == pytest.approx(6.0, abs=1.0)
    # Resonance: the oscillation at 6/min is larger than at 12/min.
    assert truth.clean_rr_ms[paced_t].std() > 1.5 * truth.clean_rr_ms[rest_t].std()
    assert truth.conditions_at(100.0).breaths_per_min == pytest.approx(12.0)
    assert truth.conditions_at(400.0).breaths_per_min == pytest.approx(6.0)
    assert 6.0 < truth.conditions_at(305.0).breaths_per_min < 12.0  # smooth transition


def test_rsa_gain_peaks_near_six_per_minute():
    p = PhysiologyParams()
    rates = np.array([3, 4.5, 6, 8, 12, 18]) / 60.0
    gain = rsa_gain(rates, p)
    assert gain[4] == pytest.approx(1.0)
    assert np.argmax(gain) == 2
    assert 2.0 < gain[2] < 4.0
    assert gain[5] < gain[4]


def test_lower_vagal_level_means_lower_rmssd_and_higher_hr():
    stats = []
    for level in (0.2, 0.5, 0.8):
        rr = simulate_recording(
            300, seed=8, schedule=[PhysiologySegment(vagal_level=level)]
        ).truth.clean_rr_ms
        stats.append((60000.0 / rr.mean(), rmssd(rr)))
    (hr_lo, rm_lo), (hr_mid, rm_mid), (hr_hi, rm_hi) = stats
    assert hr_lo > hr_mid + 10 > hr_hi + 20
    assert rm_lo < 0.6 * rm_mid and rm_hi > 1.3 * rm_mid
    assert hr_mid == pytest.approx(65.0, abs=2.0)


def test_transitions_have_no_steps():
    schedule = [PhysiologySegment(0.0), PhysiologySegment(120.0, mean_hr_bpm=90.0,
                                                          vagal_level=0.2)]
    truth = simulate_recording(240, seed=1, schedule=schedule).truth
    hr = truth.conditions_at(np.arange(110.0, 130.0, 0.1)).mean_hr_bpm
    assert np.max(np.abs(np.diff(hr))) < 2.0  # bpm per 0.1 s: a ramp, not a step
    assert hr[0] == pytest.approx(65.0, abs=0.5) and hr[-1] == pytest.approx(90.0)


def test_schedule_rejects_nonsense():
    with pytest.raises(ValueError):
        PhysiologySegment(vagal_level=1.5)
    with pytest.raises(ValueError):
        PhysiologySegment(breaths_per_min=0.5)
    with pytest.raises(ValueError):
        Schedule([PhysiologySegment(10.0), PhysiologySegment(5.0)], PhysiologyParams())
    with pytest.raises(ValueError):
        simulate_recording(10, seed=-1)


# -- artifacts and ground truth ------------------------------------------------------------


def test_artifact_counts_match_the_rates():
    rates = ArtifactRates(missed=0.01, extra=0.02, ectopic_pair=0.005, dropped_notification=0.03)
    rec = simulate_recording(6 * 3600, seed=12, artifacts=rates)
    truth = rec.truth
    n_beats = truth.clean_rr_ms.size
    n_notes = truth.notification_received_s.size
    counts = {"missed": 0, "extra": 0, "ectopic": 0}
    for event in truth.artifacts:
        counts[event.kind] += 1
    for kind, p in (("missed", rates.missed), ("extra", rates.extra),
                    ("ectopic", rates.ectopic_pair)):
        expected = n_beats * p * (1 - rates.missed - rates.ectopic_pair)
        sd = np.sqrt(n_beats * p * (1 - p))
        assert abs(counts[kind] - expected) < 4 * sd + 2, (kind, counts[kind], expected)
    drops = len(truth.dropped)
    expected = n_notes * rates.dropped_notification
    assert abs(drops - expected) < 4 * np.sqrt(expected * (1 - rates.dropped_notification))


def test_ground_truth_matches_what_was_delivered():
    rates = ArtifactRates(missed=0.02, extra=0.02, ectopic_pair=0.02, dropped_notification=0.05)
    rec = simulate_recording(1800, seed=21, artifacts=rates)
    truth = rec.truth
    clean = truth.clean_rr_ms
    # The delivered series is exactly the concatenation of the received notifications.
    np.testing.assert_array_equal(truth.delivered_rr_ms, rec.rr_ms)
    assert sum(len(n.rr_ms) for n in rec.notifications()) == rec.rr_ms.size
    # Normal detections equal their clean counterpart (to the 1/1024 s resolution).
    normal = truth.sensor_artifact == "normal"
    np.testing.assert_allclose(truth.sensor_rr_ms[normal],
                               clean[truth.sensor_clean_index[normal]], atol=1.0)
    kinds_seen = set()
    for event in truth.artifacts:
        i = event.sensor_index
        if i + event.n_intervals > truth.sensor_rr_ms.size:
            continue
        kinds_seen.add(event.kind)
        if event.kind == "missed":
            k = truth.sensor_clean_index[i]
            assert truth.sensor_rr_ms[i] == pytest.approx(clean[k - 1] + clean[k], abs=1.0)
        elif event.kind == "extra":
            k = truth.sensor_clean_index[i + 1]
            assert truth.sensor_clean_index[i] == -1
            assert truth.sensor_rr_ms[i:i + 2].sum() == pytest.approx(clean[k], abs=1.0)
            assert truth.sensor_rr_ms[i:i + 2].min() < 0.85 * clean[k]
        else:
            k = truth.sensor_clean_index[i + 1]
            short, long_ = truth.sensor_rr_ms[i:i + 2]
            assert short < 0.85 * clean[k - 1] and long_ > 1.15 * clean[k]
            assert short + long_ == pytest.approx(clean[k - 1] + clean[k], abs=1.0)
        if event.delivered_index >= 0:
            assert rec.rr_ms[event.delivered_index] == truth.sensor_rr_ms[i]
    assert kinds_seen == {"missed", "extra", "ectopic"}
    # Dropped notifications: their RR are exactly the undelivered detections.
    lost = np.concatenate([np.array(d.rr_ms) for d in truth.dropped if d.rr_ms])
    np.testing.assert_array_equal(lost, truth.sensor_rr_ms[~truth.sensor_delivered])
    assert set(np.diff(rec.index).tolist()) > {1}  # numbering skips the lost ones


def test_notifications_once_a_second_with_small_jitter():
    rec = simulate_recording(600, seed=2)
    gaps = np.diff(rec.received_s)
    assert np.all(np.abs(gaps - 1.0) < 0.035)
    counts = np.diff(rec.offsets)
    assert set(counts.tolist()) <= {0, 1, 2, 3}
    assert 0 in counts.tolist() and 2 in counts.tolist()  # ~65 bpm against 1 Hz
    assert rec.received_s[-1] <= 600.0
    # Every detection is received after it happened, within ~1 s.
    truth = rec.truth
    lag = rec.received_s[np.repeat(np.arange(len(rec)), counts)] - truth.delivered_time_s
    assert lag.min() > 0.0 and lag.max() < 1.1
    hr = rec.heart_rate_bpm[~np.isnan(rec.heart_rate_bpm)]
    assert 50 < np.median(hr) < 80


def test_respiration_is_the_phase_the_rsa_follows_and_its_wandering_rate():
    engine = SimulationEngine(6, schedule=[PhysiologySegment(breaths_per_min=12.0),
                                           PhysiologySegment(start_s=200.0, breaths_per_min=6.0)])
    engine.advance(400.0)
    truth = engine.ground_truth()
    t, rr = truth.clean_time_s, truth.clean_rr_ms
    phase, rate = engine.respiration(t)
    assert (np.diff(phase) > 0).all()
    # the rate is the schedule's with its slow wander (+-5 %), not the flat schedule
    before, after = rate[t < 180.0], rate[t > 260.0]
    assert 11.4 <= before.min() < before.max() <= 12.6 and np.ptp(before) > 0.2
    assert 5.7 <= after.min() < after.max() <= 6.3
    # the RR is shortest where sin(phase) is largest: RR = RR0 - A sin(phase) + ...
    detrended = rr - np.convolve(rr, np.ones(21) / 21, mode="same")
    inside = slice(10, -10)
    assert np.corrcoef(np.sin(phase)[inside], detrended[inside])[0, 1] < -0.6
    with pytest.raises(ValueError, match="before the grid kept"):
        SimulationEngine(6, schedule=[PhysiologySegment()]).respiration(np.array([-60.0]))
