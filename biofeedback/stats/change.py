"""Change scores for stress reactivity and recovery (docs/domain.md section 6).

- :func:`difference`: the raw change ``a - b`` (reactivity = stressor - baseline, recovery =
  recovery - baseline, practice response = practice - baseline).
- :func:`residualized_change`: the follow-up value with the part predicted from the baseline
  removed by OLS, which is uncorrelated with the baseline by construction. Raw differences
  correlate with the baseline (law of initial values, regression to the mean); Llabre et al.
  (1991) compared both for cardiovascular reactivity and recommend reporting residualised
  change beside the raw difference.
- :func:`percent_recovery`: how far a value has returned from the stressor level towards the
  baseline, in % of the reactivity (Linden, Earle, Gerin & Christenfeld 1997).

References
----------
Linden, W., Earle, T. L., Gerin, W., & Christenfeld, N. (1997). Physiological stress reactivity
and recovery: conceptual siblings separated at birth? Journal of Psychosomatic Research, 42(2),
117-135.
Llabre, M. M., Spitzer, S. B., Saab, P. G., Ironson, G. H., & Schneiderman, N. (1991). The
reliability and specificity of delta versus residualized change as measures of cardiovascular
reactivity to behavioral challenges. Psychophysiology, 28(6), 701-711.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

# Fewer than 3 complete pairs leave no residual degrees of freedom for a line with intercept
# and slope: every residual would be exactly zero, which looks like data but says nothing.
_MIN_PAIRS_FOR_RESIDUALS = 3


def _as_float_array(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """Convert to a float array; None becomes NaN (numpy does this for ``dtype=float``)."""
    array = np.asarray(values, dtype=float)
    if np.isinf(array).any():
        # Infinities are upstream bugs (e.g. log of 0), not missing values: refuse them.
        raise ValueError(f"{name} contains infinite values")
    return array


def difference(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Raw change ``a - b``, element by element.

    Parameters
    ----------
    a, b : array-like of float or None
        Same shape, same units (e.g. HR in beats/min, lnRMSSD in ln(ms)); ``a`` is the later
        or test condition (stressor, recovery, practice), ``b`` the reference (baseline).
        None or NaN marks a missing value.

    Returns
    -------
    numpy.ndarray of float
        ``a - b`` in the units of the inputs; NaN where either value is missing (propagated,
        so the caller can count it). A 0-d array for scalar inputs.

    Raises
    ------
    ValueError
        If the shapes differ (no broadcasting: a length mismatch means misaligned
        participants) or a value is infinite.
    """
    a_arr = _as_float_array(a, "a")
    b_arr = _as_float_array(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b differ in shape: {a_arr.shape} != {b_arr.shape}")
    return a_arr - b_arr


def residualized_change(
    baseline: npt.ArrayLike, followup: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Residuals of ``followup`` regressed on ``baseline`` by ordinary least squares.

    Fits ``followup = b0 + b1 * baseline`` on the complete pairs and returns
    ``followup - (b0 + b1 * baseline)`` (Llabre et al. 1991): the part of the follow-up value
    (e.g. stressor-window lnRMSSD) not predicted by the baseline, in the follow-up's units.

    Parameters
    ----------
    baseline, followup : array-like of float or None
        One value per unit (participant or session), 1-D, same length, same units. None or NaN
        marks a missing value.

    Returns
    -------
    numpy.ndarray of float
        Residuals, same length as the inputs; NaN where either value is missing. They sum to
        zero over the complete pairs and are uncorrelated with the baseline.

    Raises
    ------
    ValueError
        If the inputs are not 1-D or differ in length, contain infinities, have fewer than 3
        complete pairs, or the baseline does not vary over the complete pairs (no slope).

    Notes
    -----
    The regression is fitted on the sample given, so residualised change is relative to that
    sample: values from separately fitted samples are not comparable. Fit once over all units
    of one analysis.
    """
    x = _as_float_array(baseline, "baseline")
    y = _as_float_array(followup, "followup")
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError("baseline and followup must be one-dimensional")
    if x.shape != y.shape:
        raise ValueError(f"baseline and followup differ in length: {x.size} != {y.size}")
    complete = ~(np.isnan(x) | np.isnan(y))
    n = int(complete.sum())
    if n < _MIN_PAIRS_FOR_RESIDUALS:
        raise ValueError(
            f"{n} complete pair(s): residualised change needs at least "
            f"{_MIN_PAIRS_FOR_RESIDUALS}"
        )
    xc = x[complete] - x[complete].mean()
    yc = y[complete] - y[complete].mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        raise ValueError("baseline has no variance: the regression slope is undefined")
    # Centred closed form of the OLS slope: the same fit as numpy.polyfit(x, y, 1), without the
    # conditioning problems of an uncentred design matrix.
    slope = float(xc @ yc) / sxx
    residuals = np.full(x.shape, np.nan)
    residuals[complete] = yc - slope * xc
    return residuals


def percent_recovery(
    baseline: float | None,
    stressor: float | None,
    recovery: float | None,
    *,
    min_reactivity: float = 0.0,
) -> float | None:
    """Recovery as a percentage of the stress response.

    ``100 * (stressor - recovery) / (stressor - baseline)`` (docs/domain.md section 6; Linden et al.
    1997).

    Parameters
    ----------
    baseline, stressor, recovery : float or None
        Window means of one index in one session, same units (e.g. HR in beats/min or
        lnRMSSD in ln(ms)). None or NaN marks a missing window.
    min_reactivity : float, default 0.0
        Smallest ``|stressor - baseline|`` (units of the index) for which a percentage is
        returned. With the default 0 only an exactly unchanged value gives None; a study may
        set it to its measurement error, since dividing by a reactivity near zero gives
        arbitrarily large percentages.

    Returns
    -------
    float or None
        Percent recovery (%). None when a value is missing or the stressor did not move the
        index (``|stressor - baseline| <= min_reactivity``): there is nothing to recover from.

    Raises
    ------
    ValueError
        If a value is infinite.

    Notes
    -----
    The ratio has the same sign convention whichever way the index moves. HR rises under
    stress: baseline 70, stressor 80, recovery 72 beats/min gives 100 * 8 / 10 = 80 %.
    lnRMSSD falls: baseline 3.5, stressor 3.0, recovery 3.4 gives 100 * (-0.4) / (-0.5) = 80 %.
    In both, 0 % means still at the stressor level, 100 % fully back at baseline, > 100 % past
    the baseline (overshoot, e.g. HR below baseline), and < 0 % moved further from the baseline
    than during the stressor. If the stressor moved the index the unexpected way (lnRMSSD up),
    the percentage is still relative to the observed change, so check the sign of the
    reactivity (:func:`difference`) beside it.
    """
    if baseline is None or stressor is None or recovery is None:
        return None
    base, peak, rec = float(baseline), float(stressor), float(recovery)
    if math.isnan(base) or math.isnan(peak) or math.isnan(rec):
        return None
    if math.isinf(base) or math.isinf(peak) or math.isinf(rec):
        # Infinities are upstream bugs (e.g. log of 0), not missing windows: refuse them.
        raise ValueError("percent_recovery inputs must be finite")
    reactivity = peak - base
    if abs(reactivity) <= min_reactivity:
        return None
    return 100.0 * (peak - rec) / reactivity
