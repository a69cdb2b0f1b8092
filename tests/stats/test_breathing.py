"""Breathing confound check: known numbers and when the warning fires."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from biofeedback.stats.breathing import BreathingCheck, breathing_confound

ATTENTION_12 = [11.5, 12.0, 12.5, 12.0, 11.8, 12.2]


def t_interval(diff):
    diff = np.asarray(diff, dtype=float)
    half = stats.t.ppf(0.975, diff.size - 1) * diff.std(ddof=1) / math.sqrt(diff.size)
    return diff.mean() - half, diff.mean() + half


def test_slow_soothing_breathing_warns_with_numbers():
    soothing = [6.0, 6.5, 5.5, 6.0, 6.2, 5.8]
    check = breathing_confound(soothing, ATTENTION_12, hf_difference=-0.8)
    assert isinstance(check, BreathingCheck)
    assert check.n == 6 and check.n_missing == 0
    assert check.mean_a == pytest.approx(6.0)
    assert check.mean_b == pytest.approx(12.0)
    assert check.sd_a == pytest.approx(np.std(soothing, ddof=1))
    assert check.sd_b == pytest.approx(np.std(ATTENTION_12, ddof=1))
    assert check.mean_diff == pytest.approx(-6.0)
    low, high = t_interval(np.subtract(soothing, ATTENTION_12))
    assert check.ci_low == pytest.approx(low)
    assert check.ci_high == pytest.approx(high)
    assert check.warning is not None
    # Names both means and the threshold, and both reasons.
    assert "self-soothing 6.0/min" in check.warning
    assert "attention 12.0/min" in check.warning
    assert "threshold 2.0/min" in check.warning
    assert "exceeds" in check.warning
    assert "below 9/min" in check.warning
    assert "HF difference of -0.8" in check.warning


def test_similar_breathing_does_not_warn():
    attention = [12.0] * 8
    soothing = [12.5, 12.3, 12.7, 12.4, 12.6, 12.5, 12.5, 12.5]
    check = breathing_confound(soothing, attention)
    assert check.mean_a == pytest.approx(12.5)
    assert check.mean_b == pytest.approx(12.0)
    assert check.mean_diff == pytest.approx(0.5)
    low, high = t_interval(np.subtract(soothing, attention))
    assert (check.ci_low, check.ci_high) == pytest.approx((low, high))
    assert -2.0 < check.ci_low < check.ci_high < 2.0
    assert check.warning is None


def test_one_category_below_hf_band_warns_even_without_a_difference():
    a = [8.0, 8.2, 7.8, 8.0]
    b = [8.1, 8.0, 7.9, 8.0]
    check = breathing_confound(a, b, threshold_breaths_per_min=2.0)
    assert check.mean_a == pytest.approx(8.0)
    assert abs(check.mean_diff) < 2.0
    assert check.warning is not None
    assert "self-soothing 8.0/min" in check.warning
    assert "attention 8.0/min" in check.warning
    assert "threshold 2.0/min" in check.warning
    assert "below 9/min" in check.warning
    assert "exceeds" not in check.warning


def test_one_category_at_8_per_minute_warns():
    check = breathing_confound([10.0, 10.4, 9.6], [8.0, 8.1, 7.9], labels=("A", "B"))
    assert check.warning is not None
    assert "B breathing (8.0/min) is below 9/min" in check.warning
    assert "A 10.0/min vs B 8.0/min" in check.warning


def test_wide_ci_warns_even_when_mean_is_small():
    # Mean difference 0 but the paired differences scatter widely: a 2/min difference is not
    # ruled out.
    a = [10.0, 14.0, 11.0, 13.0]
    b = [13.0, 11.0, 14.0, 10.0]
    check = breathing_confound(a, b)
    assert check.mean_diff == pytest.approx(0.0)
    assert check.ci_high > 2.0
    assert check.warning is not None and "95 % CI" in check.warning


def test_missing_pairs_counted_and_to_dict_json():
    check = breathing_confound([12.0, None, 12.4, float("nan")], [12.0, 11.0, 12.0, 12.2])
    assert check.n == 2 and check.n_missing == 2
    assert check.mean_a == pytest.approx(12.2)
    data = check.to_dict()
    assert json.loads(json.dumps(data, allow_nan=False)) == data
    assert data["threshold_breaths_per_min"] == 2.0
    assert set(data) >= {"mean_a", "sd_a", "mean_b", "sd_b", "mean_diff", "ci_low", "ci_high",
                         "warning", "hf_difference", "n", "n_missing"}


def test_no_complete_pair_warns_and_one_pair_has_no_ci():
    none = breathing_confound([None], [12.0])
    assert none.n == 0 and none.mean_a is None
    assert none.warning is not None and "cannot be checked" in none.warning
    one = breathing_confound([12.0], [12.5])
    assert one.n == 1 and one.ci_low is None and one.sd_a is None
    assert one.warning is None


def test_bad_input_raises():
    with pytest.raises(ValueError, match="length"):
        breathing_confound([12.0, 12.0], [12.0])
    with pytest.raises(ValueError, match="positive"):
        breathing_confound([0.0], [12.0])
    with pytest.raises(ValueError, match="threshold"):
        breathing_confound([12.0], [12.0], threshold_breaths_per_min=0.0)
