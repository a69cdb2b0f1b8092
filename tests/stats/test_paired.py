"""Paired comparison statistics: known answers against scipy, edge cases, seeded coverage."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
from scipy import stats

from biofeedback.stats import COMPARISON_KEYS, PairedComparison, paired_comparison

# A small fixed dataset: per-participant Δ lnRMSSD (ln ms) during self-soothing (A) and
# attention (B) practices.
A = [0.42, 0.15, 0.61, -0.05, 0.33, 0.27, 0.50, 0.08, 0.36, 0.19]
B = [0.10, 0.22, 0.31, -0.12, 0.05, 0.30, 0.18, 0.01, 0.20, 0.02]

JSON_KEYS = {
    "metric", "contrast", "n", "mean_diff", "ci_low", "ci_high", "d_z", "d_z_ci_low",
    "d_z_ci_high", "p_t", "p_wilcoxon", "n_missing",
}


def t_interval(diff, confidence):
    """The textbook t interval, computed here independently of the module."""
    diff = np.asarray(diff, dtype=float)
    n = diff.size
    half = stats.t.ppf(1 - (1 - confidence) / 2, n - 1) * diff.std(ddof=1) / math.sqrt(n)
    return diff.mean() - half, diff.mean() + half


@pytest.mark.parametrize("confidence", [0.95, 0.90, 0.99])
def test_known_answers_against_scipy(confidence):
    res = paired_comparison(A, B, confidence=confidence, metric="delta_ln_rmssd",
                            contrast="self-soothing - attention")
    diff = np.subtract(A, B)
    assert res.metric == "delta_ln_rmssd"
    assert res.contrast == "self-soothing - attention"
    assert (res.n, res.n_missing) == (10, 0)
    assert res.mean_diff == pytest.approx(0.159, abs=1e-12)  # sum of differences 1.59 / 10
    low, high = t_interval(diff, confidence)
    assert res.ci_low == pytest.approx(low, rel=1e-12)
    assert res.ci_high == pytest.approx(high, rel=1e-12)
    # scipy's own interval of the paired t-test agrees too.
    ci = stats.ttest_rel(A, B).confidence_interval(confidence_level=confidence)
    assert (res.ci_low, res.ci_high) == pytest.approx((ci.low, ci.high), rel=1e-10)
    assert res.d_z == pytest.approx(diff.mean() / diff.std(ddof=1), rel=1e-12)
    assert res.p_t == stats.ttest_rel(A, B).pvalue
    assert res.p_wilcoxon == stats.wilcoxon(A, B).pvalue
    assert res.note == ""


def test_t_test_p_value_is_hand_checkable():
    # t = mean / (sd / sqrt(n)); two-sided p = 2 * sf(|t|, n - 1).
    diff = np.subtract(A, B)
    t = diff.mean() / (diff.std(ddof=1) / math.sqrt(diff.size))
    res = paired_comparison(A, B)
    assert res.p_t == pytest.approx(2 * stats.t.sf(abs(t), diff.size - 1), rel=1e-10)


@pytest.mark.parametrize("confidence", [0.95, 0.80])
def test_d_z_interval_inverts_the_noncentral_t(confidence):
    res = paired_comparison(A, B, confidence=confidence)
    n = res.n
    t_obs = res.d_z * math.sqrt(n)
    # At the lower bound the observed t is at the upper (1 - conf) / 2 tail, and vice versa.
    assert stats.nct.cdf(t_obs, n - 1, res.d_z_ci_low * math.sqrt(n)) == pytest.approx(
        (1 + confidence) / 2, abs=1e-9)
    assert stats.nct.cdf(t_obs, n - 1, res.d_z_ci_high * math.sqrt(n)) == pytest.approx(
        (1 - confidence) / 2, abs=1e-9)
    assert res.d_z_ci_low < res.d_z < res.d_z_ci_high


def test_d_z_interval_symmetric_at_zero_and_sign_flips():
    d = [0.5, -0.5, 1.0, -1.0, 0.2, -0.2]
    res = paired_comparison(d, [0.0] * 6)
    assert res.d_z == pytest.approx(0.0, abs=1e-15)
    assert res.d_z_ci_low == pytest.approx(-res.d_z_ci_high, abs=1e-9)
    forward = paired_comparison(A, B)
    backward = paired_comparison(B, A)
    assert backward.d_z_ci_low == pytest.approx(-forward.d_z_ci_high, abs=1e-9)
    assert backward.d_z_ci_high == pytest.approx(-forward.d_z_ci_low, abs=1e-9)
    assert backward.p_t == pytest.approx(forward.p_t, rel=1e-12)


def test_d_z_interval_matches_large_sample_approximation():
    # For large n the exact interval approaches d +/- z * sqrt(1/n + d^2 / (2n))
    # (the large-sample variance of a standardised mean).
    rng = np.random.default_rng(7)
    diff = rng.normal(0.4, 1.0, 2000)
    res = paired_comparison(diff, np.zeros_like(diff))
    se = math.sqrt(1 / res.n + res.d_z**2 / (2 * res.n))
    assert res.d_z_ci_low == pytest.approx(res.d_z - 1.959964 * se, abs=2e-3)
    assert res.d_z_ci_high == pytest.approx(res.d_z + 1.959964 * se, abs=2e-3)


def test_wilcoxon_with_zeros_and_ties_matches_scipy_defaults():
    a = [1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 5.0, 7.0]
    b = [1.0, 1.0, 0.0, 1.0, 5.0, 3.0, 3.0, 2.0]  # one zero difference, tied |differences|
    res = paired_comparison(a, b)
    assert res.p_wilcoxon == stats.wilcoxon(a, b).pvalue


def test_missing_pairs_are_dropped_and_counted():
    a = [*A, None, 0.4, float("nan"), None]
    b = [*B, 0.3, float("nan"), 0.2, None]
    res = paired_comparison(a, b)
    assert (res.n, res.n_missing) == (10, 4)
    assert "4 pair(s) dropped" in res.note
    clean = paired_comparison(A, B)
    assert res.mean_diff == clean.mean_diff
    assert res.p_t == clean.p_t
    assert res.to_dict()["n_missing"] == 4


def test_to_dict_has_exactly_the_json_keys_and_serialises():
    res = paired_comparison(A, [*B[:-1], None])
    row = res.to_dict()
    assert set(row) == JSON_KEYS
    assert tuple(row) == COMPARISON_KEYS
    assert all(type(v) in (str, int, float) for v in row.values())
    assert json.loads(json.dumps(row, allow_nan=False)) == row


def test_result_is_frozen():
    res = paired_comparison(A, B)
    assert isinstance(res, PairedComparison)
    with pytest.raises(AttributeError):
        res.n = 3  # type: ignore[misc]


@pytest.mark.parametrize(("a", "b", "n", "n_missing"), [
    ([], [], 0, 0),
    ([1.0], [0.5], 1, 0),
    ([1.0, None], [0.5, 0.2], 1, 1),
    ([None, None], [None, None], 0, 2),
])
def test_fewer_than_two_pairs_gives_none_with_note(a, b, n, n_missing):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = paired_comparison(a, b, metric="delta_hr")
    assert (res.n, res.n_missing) == (n, n_missing)
    row = res.to_dict()
    assert all(row[k] is None for k in COMPARISON_KEYS if k not in ("metric", "contrast", "n",
                                                                      "n_missing"))
    assert "at least 2" in res.note


def test_zero_variance_differences_no_warnings():
    # 0.3 - 0.2 and 0.4 - 0.3 differ by rounding only: still "all equal".
    a = [0.3, 0.4, 0.5, 1.1]
    b = [0.2, 0.3, 0.4, 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = paired_comparison(a, b)
    assert res.n == 4
    assert res.mean_diff == pytest.approx(0.1)
    assert res.d_z is None and res.p_t is None and res.ci_low is None
    assert res.d_z_ci_low is None and res.d_z_ci_high is None
    assert "zero variance" in res.note
    # Equal nonzero differences are all positive: Wilcoxon is defined, as scipy says.
    assert res.p_wilcoxon == stats.wilcoxon(a, b).pvalue
    assert "smallest p of the exact test is 0.125" in res.note


def test_all_differences_zero_no_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = paired_comparison([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert res.mean_diff == 0.0
    assert res.p_t is None and res.p_wilcoxon is None and res.d_z is None
    assert "Wilcoxon signed-rank test undefined" in res.note


def test_extreme_effect_gives_none_bounds_not_an_error():
    # Differences 5 +/- 0.0002: t about 1.5e5, beyond where scipy's noncentral t is finite.
    a = np.arange(30.0) + np.r_[0.001, np.zeros(29)]
    b = np.arange(30.0) - 5.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = paired_comparison(a, b)
    assert res.d_z > 1e4
    assert res.d_z_ci_low is None and res.d_z_ci_high is None
    assert "could not be inverted" in res.note
    assert res.p_t == stats.ttest_rel(a, b).pvalue


@pytest.mark.parametrize(("a", "b", "kwargs"), [
    ([1.0, 2.0], [1.0], {}),
    ([[1.0, 2.0]], [[1.0, 2.0]], {}),
    ([1.0, math.inf], [1.0, 2.0], {}),
    ([1.0, 2.0], [1.0, 2.5], {"confidence": 1.0}),
    ([1.0, 2.0], [1.0, 2.5], {"confidence": 0.0}),
])
def test_invalid_input_raises(a, b, kwargs):
    with pytest.raises(ValueError):
        paired_comparison(a, b, **kwargs)


# --- Seeded simulation -------------------------------------------------------------------
# 400 repetitions, n = 30 pairs, differences ~ Normal(0.3, 0.5): true mean 0.3, true d_z 0.6.
# Tolerance for 95 % coverage: 372-388 of 400 runs (93-97 %). For a true coverage of exactly
# 95 % this window holds with binomial probability 0.950 (scipy.stats.binom), so about 1 seed
# in 20 would fall outside it; the seed is fixed, so the test is deterministic.
REPS, N_PAIRS, TRUE_MEAN, TRUE_SD = 400, 30, 0.3, 0.5


def simulate(true_mean, seed):
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 0.4, (REPS, N_PAIRS))  # attention Δ: between-person variation
    a = b + rng.normal(true_mean, TRUE_SD, (REPS, N_PAIRS))
    return [paired_comparison(a[i], b[i]) for i in range(REPS)]


def test_confidence_intervals_cover_the_truth_about_95_percent():
    results = simulate(TRUE_MEAN, seed=20240606)
    covered_mean = sum(r.ci_low <= TRUE_MEAN <= r.ci_high for r in results)
    true_d_z = TRUE_MEAN / TRUE_SD
    covered_d_z = sum(r.d_z_ci_low <= true_d_z <= r.d_z_ci_high for r in results)
    assert 372 <= covered_mean <= 388, covered_mean
    assert 372 <= covered_d_z <= 388, covered_d_z
    # The effect is found with the right sign. Exact power of the two-sided t-test at
    # d_z = 0.6, n = 30 from the noncentral t (0.888); allow the lower 0.5 % binomial tail.
    df, ncp = N_PAIRS - 1, TRUE_MEAN / TRUE_SD * math.sqrt(N_PAIRS)
    power = stats.nct.sf(stats.t.isf(0.025, df), df, ncp)
    detected = sum(r.p_t < 0.05 and r.mean_diff > 0 for r in results)
    assert detected >= stats.binom.ppf(0.005, REPS, power), (detected, power)


def test_null_effect_is_found_at_about_the_nominal_rate():
    results = simulate(0.0, seed=6)
    rejections = sum(r.p_t < 0.05 for r in results)
    # Central 99 % binomial interval for 400 runs at 5 %: 9-32 rejections (2.25-8 %).
    low = stats.binom.ppf(0.005, REPS, 0.05)
    high = stats.binom.isf(0.005, REPS, 0.05)
    assert low <= rejections <= high, (rejections, low, high)
    wilcoxon_rejections = sum(r.p_wilcoxon < 0.05 for r in results)
    assert low <= wilcoxon_rejections <= high, wilcoxon_rejections
