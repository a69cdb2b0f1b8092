"""Simulated studies through the whole comparison: a true effect is found with the right sign
and its CI covers the truth; a null effect is not found more often than the nominal rate.

Each repetition simulates a small study (6 participants, sessions shortened to 15 %) with the
real live pipeline and runs ``compare`` on it, so repetitions are few (8 per arm). Thresholds
come from the binomial distribution: with a true 95 % coverage, P(at least 6 of 8 covering)
= 0.994; with a true 5 % false-positive rate, P(at most 2 of 8 "significant") = 0.994.
"""

from __future__ import annotations

import pytest

from biofeedback.comparison.compare import compare
from biofeedback.simulation import simulate_study
from biofeedback.store import SessionStore

REPS = 8


def run_study(tmp_path, effect: float, seed: int) -> tuple[dict, float]:
    data = tmp_path / f"study-{effect}-{seed}"
    with SessionStore.open(data) as store:
        sim = simulate_study(store, "sim", participants=6, effect_ln_rmssd=effect, seed=seed,
                             duration_scale=0.15)
    result, _ = compare(data, study="sim", workers=2)
    ln = next(c for c in result["comparisons"] if c["metric"] == "delta_ln_rmssd")
    return ln, sim.mean_true_effect


@pytest.mark.slow
def test_a_true_effect_is_found_with_the_right_sign_and_covered(tmp_path):
    covered = right_sign = 0
    for seed in range(REPS):
        ln, truth = run_study(tmp_path, 0.3, 100 + seed)
        # Windows over the 5 % artifact threshold drop participants (listed, counted).
        assert ln["n"] + ln["n_missing"] == 6 and ln["n"] >= 3
        right_sign += ln["mean_diff"] > 0
        covered += ln["ci_low"] <= truth <= ln["ci_high"]
    assert right_sign == REPS
    assert covered >= 6


@pytest.mark.slow
def test_a_null_effect_is_not_found_more_often_than_nominal(tmp_path):
    significant = 0
    for seed in range(REPS):
        ln, _ = run_study(tmp_path, 0.0, 200 + seed)
        significant += ln["p_t"] < 0.05
    assert significant <= 2
