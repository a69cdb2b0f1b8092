"""Artifact correction of patterns the Kubios classifier labels misleadingly.

Two missed beats one beat apart come out as missed, long/short, ectopic; an extra beat drags
the beat after it into long/short. Both used to be corrected by re-spacing beats without
adding or removing one, leaving three 30 % long intervals or a false 270 ms jump.
"""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.analysis.artifacts import correct_peaks
from biofeedback.analysis.settings import AnalysisSettings

SETTINGS = AnalysisSettings()
SCALE = SETTINGS.peak_clock_hz / 1000.0


def clean_rr(n: int = 300, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = np.arange(n)
    return 950.0 + 45.0 * np.sin(2 * np.pi * k / 4.6) + rng.normal(0.0, 12.0, n)


def corrected(rr: np.ndarray) -> np.ndarray:
    positions = np.concatenate(([0.0], np.cumsum(rr))) * SCALE
    return np.diff(correct_peaks(positions, SETTINGS.kubios_kwargs())) / SCALE


def rmssd(rr: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.diff(rr) ** 2)))


def test_two_missed_beats_one_beat_apart_get_both_beats_back():
    truth = clean_rr()
    i = 150
    # Beats i+1 and i+3 are missed: intervals (i, i+1) and (i+2, i+3) merge.
    raw = np.concatenate((truth[: i + 1], [truth[i + 1] + truth[i + 2]], [truth[i + 3]],
                          [truth[i + 4] + truth[i + 5]], truth[i + 6 :]))
    fixed = corrected(raw)
    assert fixed.size == truth.size
    assert np.abs(fixed - truth).max() < 60.0
    assert rmssd(fixed) == pytest.approx(rmssd(truth), rel=0.03)


def test_an_extra_beat_is_removed_without_disturbing_the_next_one():
    truth = clean_rr(seed=1)
    i = 120
    split = 0.37 * truth[i]
    raw = np.concatenate((truth[:i], [split, truth[i] - split], truth[i + 1 :]))
    fixed = corrected(raw)
    assert fixed.size == truth.size
    np.testing.assert_allclose(fixed, truth, atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_three_percent_missed_and_extra_beats_leave_rmssd_within_two_percent(seed):
    truth = clean_rr(600, seed)
    rng = np.random.default_rng(100 + seed)
    raw: list[float] = []
    k = 0
    while k < truth.size:
        u = rng.random()
        if u < 0.015 and k + 1 < truth.size:  # missed: two intervals merge
            raw.append(truth[k] + truth[k + 1])
            k += 2
            continue
        if u < 0.03:  # extra: one interval split
            cut = rng.uniform(0.3, 0.7) * truth[k]
            raw += [cut, truth[k] - cut]
        else:
            raw.append(truth[k])
        k += 1
    fixed = corrected(np.asarray(raw))
    assert rmssd(fixed) == pytest.approx(rmssd(truth), rel=0.02)
