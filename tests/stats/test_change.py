"""Change scores: residualised change against numpy.polyfit, percent recovery by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from biofeedback.stats import difference, percent_recovery, residualized_change

BASELINE = [3.9, 3.2, 4.1, 3.5, 2.8, 3.7, 4.4, 3.0]  # lnRMSSD, ln(ms)
STRESSOR = [3.4, 3.0, 3.6, 3.3, 2.5, 3.1, 4.0, 2.9]


def test_residualized_change_matches_polyfit_residuals():
    x, y = np.array(BASELINE), np.array(STRESSOR)
    slope, intercept = np.polyfit(x, y, 1)
    expected = y - (intercept + slope * x)
    res = residualized_change(BASELINE, STRESSOR)
    np.testing.assert_allclose(res, expected, rtol=0, atol=1e-12)
    assert res.sum() == pytest.approx(0.0, abs=1e-12)
    assert np.corrcoef(x, res)[0, 1] == pytest.approx(0.0, abs=1e-12)


def test_residualized_change_is_nan_aware():
    base = [*BASELINE, None, 3.3, float("nan")]
    follow = [*STRESSOR, 3.1, None, 3.0]
    res = residualized_change(base, follow)
    assert res.shape == (11,)
    assert np.isnan(res[8:]).all()
    np.testing.assert_allclose(res[:8], residualized_change(BASELINE, STRESSOR), atol=1e-15)


@pytest.mark.parametrize(("base", "follow"), [
    ([1.0, 2.0], [1.5, 2.5]),                      # fewer than 3 pairs
    ([1.0, 2.0, None], [1.5, 2.5, 3.0]),           # fewer than 3 complete pairs
    ([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]),            # baseline does not vary
    ([1.0, 2.0, 3.0], [1.0, 2.0]),                 # length mismatch
    ([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]]),        # not 1-D
    ([1.0, 2.0, math.inf], [1.0, 2.0, 3.0]),       # infinite
])
def test_residualized_change_refuses_what_it_cannot_fit(base, follow):
    with pytest.raises(ValueError):
        residualized_change(base, follow)


def test_difference():
    np.testing.assert_allclose(difference([80.0, 75.0], [70.0, 72.0]), [10.0, 3.0])
    res = difference([1.0, None, 3.0], [0.5, 1.0, float("nan")])
    assert res[0] == 0.5 and np.isnan(res[1:]).all()
    assert float(difference(3.0, 3.5)) == -0.5
    with pytest.raises(ValueError):
        difference([1.0, 2.0], [1.0])


@pytest.mark.parametrize(("baseline", "stressor", "recovery", "expected"), [
    (70.0, 80.0, 72.0, 80.0),     # HR rises under stress, 8 of 10 beats/min recovered
    (3.5, 3.0, 3.4, 80.0),        # lnRMSSD falls: same formula, same sign
    (70.0, 80.0, 80.0, 0.0),      # still at the stressor level
    (70.0, 80.0, 70.0, 100.0),    # fully back
    (70.0, 80.0, 65.0, 150.0),    # overshoot below baseline
    (70.0, 80.0, 85.0, -50.0),    # moved further away
    (3.5, 3.0, 3.75, 150.0),      # lnRMSSD overshoot above baseline
])
def test_percent_recovery_hand_computed(baseline, stressor, recovery, expected):
    assert percent_recovery(baseline, stressor, recovery) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("values", [
    (70.0, 70.0, 72.0),            # stressor did not move the value
    (None, 80.0, 72.0),
    (70.0, float("nan"), 72.0),
    (70.0, 80.0, None),
])
def test_percent_recovery_none(values):
    assert percent_recovery(*values) is None


def test_percent_recovery_min_reactivity():
    assert percent_recovery(70.0, 70.5, 70.2, min_reactivity=1.0) is None
    assert percent_recovery(70.0, 72.0, 71.0, min_reactivity=1.0) == pytest.approx(50.0)


def test_percent_recovery_refuses_infinity():
    with pytest.raises(ValueError):
        percent_recovery(70.0, math.inf, 72.0)
