"""Paired (within-participant) comparison of two conditions.

One value per participant and condition, for example each participant's change from baseline
in lnRMSSD during self-soothing practices (``a``) and during attention practices (``b``). The
comparison is on the per-participant differences ``d = a - b`` (docs/domain.md section 6):

- mean difference with a t-based confidence interval (Student 1908);
- Cohen's d_z = mean(d) / SD(d) (Cohen 1988, p. 48), with an exact confidence interval found by
  inverting the noncentral t distribution (Steiger & Fouladi 1997; Cumming & Finch 2001;
  Algina, Keselman & Penfield 2005 for the repeated-measures case);
- the two-sided paired t-test (identical to :func:`scipy.stats.ttest_rel`);
- the two-sided Wilcoxon signed-rank test (Wilcoxon 1945), identical to
  :func:`scipy.stats.wilcoxon` with its defaults (``zero_method="wilcox"``: zero differences
  are dropped; ``method="auto"``: exact distribution for small samples without ties or zeros).

Pairs with a missing value (None or NaN) on either side are dropped and counted in
``n_missing``, never silently. Statistics that cannot be computed are None, and ``note`` says
why. Nothing here warns: degenerate inputs are detected before scipy sees them.

References
----------
Algina, J., Keselman, H. J., & Penfield, R. D. (2005). Effect sizes and their intervals: the
two-level repeated measures case. Educational and Psychological Measurement, 65(2), 241-258.
Cohen, J. (1988). Statistical power analysis for the behavioral sciences (2nd ed.). Erlbaum.
Cumming, G., & Finch, S. (2001). A primer on the understanding, use, and calculation of
confidence intervals that are based on central and noncentral distributions. Educational and
Psychological Measurement, 61(4), 532-574.
Steiger, J. H., & Fouladi, R. T. (1997). Noncentrality interval estimation and the evaluation
of statistical models. In L. Harlow, S. Mulaik & J. Steiger (Eds.), What if there were no
significance tests? (pp. 221-257). Erlbaum.
Student (1908). The probable error of a mean. Biometrika, 6(1), 1-25.
Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics Bulletin, 1(6),
80-83.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

COMPARISON_KEYS: tuple[str, ...] = (
    "metric",
    "contrast",
    "n",
    "n_missing",
    "mean_diff",
    "ci_low",
    "ci_high",
    "d_z",
    "d_z_ci_low",
    "d_z_ci_high",
    "p_t",
    "p_wilcoxon",
)
"""Keys of :meth:`PairedComparison.to_dict`, in order (the ``comparisons`` rows of ``compare
--json``, issue 6)."""

# Differences whose spread is below this fraction of their largest magnitude are treated as
# having zero variance. A spread that small is floating-point rounding of equal differences
# (0.3 - 0.2 vs 0.4 - 0.3), and it would turn d_z into ~1e15. The threshold is far above
# scipy's own "catastrophic cancellation" test (10 x machine epsilon relative to the mean), so
# scipy never warns on data we pass on.
_ZERO_SPREAD_RTOL = 1e-12

# The exact Wilcoxon null distribution has 2**n equally likely sign patterns, so the smallest
# attainable two-sided p is 2 / 2**n: 0.0625 at n = 5, 0.03125 at n = 6 (Wilcoxon 1945).
_WILCOXON_MIN_N_FOR_05 = 6


@dataclass(frozen=True)
class PairedComparison:
    """Result of :func:`paired_comparison`.

    Attributes
    ----------
    metric : str
        What was compared, e.g. ``"delta_ln_rmssd"``; free text given by the caller.
    contrast : str
        Which conditions, e.g. ``"self-soothing - attention"``; free text given by the caller.
    n : int
        Complete pairs used (both values present).
    n_missing : int
        Pairs dropped because ``a`` or ``b`` (or both) was None or NaN.
    mean_diff : float or None
        Mean of ``a - b`` over the complete pairs, in the units of the metric (e.g. ln(ms) for
        lnRMSSD, beats/min for HR). None when ``n < 2``.
    ci_low, ci_high : float or None
        t-based confidence interval of the mean difference (Student 1908):
        ``mean_diff -/+ t(1 - alpha/2, n - 1) * SD / sqrt(n)``, metric units. None when
        ``n < 2`` or the differences have zero variance.
    d_z : float or None
        Cohen's d_z = mean(d) / SD(d), SD with ``ddof=1`` (Cohen 1988); dimensionless. None when
        ``n < 2`` or zero variance.
    d_z_ci_low, d_z_ci_high : float or None
        Exact confidence interval of d_z from the noncentral t distribution (Cumming & Finch
        2001; Algina, Keselman & Penfield 2005); exact under normally distributed differences.
    p_t : float or None
        Two-sided paired t-test p-value, equal to :func:`scipy.stats.ttest_rel`.
    p_wilcoxon : float or None
        Two-sided Wilcoxon signed-rank p-value, equal to :func:`scipy.stats.wilcoxon` with its
        defaults. None when ``n < 2`` or every difference is zero.
    note : str
        Why any value is None, or caveats (e.g. the Wilcoxon test cannot reach p < 0.05 with
        fewer than 6 nonzero differences); ``""`` when there is nothing to say. Several notes
        are joined with ``"; "``. Not part of :meth:`to_dict`.
    """

    metric: str
    contrast: str
    n: int
    n_missing: int
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    d_z: float | None
    d_z_ci_low: float | None
    d_z_ci_high: float | None
    p_t: float | None
    p_wilcoxon: float | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON row: exactly the keys of :data:`COMPARISON_KEYS`, JSON-native types.

        Returns
        -------
        dict
            ``str``, ``int``, ``float`` or ``None`` values, in :data:`COMPARISON_KEYS` order.
        """
        return {key: getattr(self, key) for key in COMPARISON_KEYS}


def _as_float_vector(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """Convert to a 1-D float array; None becomes NaN (numpy does this for ``dtype=float``)."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if np.isinf(array).any():
        # An infinite value is a bug upstream (e.g. log of 0), not a missing observation:
        # counting it as missing would hide the bug.
        raise ValueError(f"{name} contains infinite values")
    return array


def _d_z_interval(
    t_obs: float, n: int, confidence: float
) -> tuple[float | None, float | None, str]:
    """Exact CI of d_z by inverting the noncentral t distribution.

    Under normally distributed differences, ``t = d_z_hat * sqrt(n)`` follows a noncentral t
    with ``n - 1`` degrees of freedom and noncentrality ``delta = d_z * sqrt(n)``. The bounds
    are the noncentralities at which the observed t sits at the upper and lower
    ``(1 - confidence) / 2`` tail (Steiger & Fouladi 1997; Cumming & Finch 2001),
    divided by ``sqrt(n)`` (Algina, Keselman & Penfield 2005).

    Parameters
    ----------
    t_obs : float
        Observed paired t statistic (dimensionless).
    n : int
        Number of pairs (>= 2).
    confidence : float
        Confidence level in (0, 1).

    Returns
    -------
    low, high : float or None
        Bounds of d_z (dimensionless); None when the root could not be bracketed.
    note : str
        Why a bound is None, else ``""``.
    """
    df = n - 1
    alpha = 1.0 - confidence

    def tail_gap(ncp: float, target: float) -> float:
        # The noncentral t CDF at fixed t falls monotonically as the noncentrality grows,
        # so each bound is the unique root of this gap.
        return float(stats.nct.cdf(t_obs, df, ncp)) - target

    bounds: list[float | None] = []
    for target in (1.0 - alpha / 2.0, alpha / 2.0):
        # Start from a half-width that covers the bound for moderate t (the SD of the noncentral
        # t is about sqrt(1 + t^2 / (2 df))) and widen until the root is bracketed.
        width = 4.0 * math.sqrt(1.0 + t_obs * t_obs / (2.0 * df)) + 1.0
        root: float | None = None
        for _ in range(40):
            lo, hi = t_obs - width, t_obs + width
            gap_lo, gap_hi = tail_gap(lo, target), tail_gap(hi, target)
            if not (math.isfinite(gap_lo) and math.isfinite(gap_hi)):
                # scipy's noncentral t CDF returns NaN for noncentralities beyond ~1e5 (an
                # effect that is thousands of SDs); no bound is better than a wrong one.
                break
            if gap_lo > 0.0 > gap_hi:
                try:
                    root = optimize.brentq(
                        tail_gap, lo, hi, args=(target,), xtol=1e-12, rtol=1e-12
                    )
                except ValueError:  # a NaN met inside the bracket
                    root = None
                break
            width *= 2.0
        bounds.append(None if root is None else root / math.sqrt(n))
    note = "" if None not in bounds else (
        f"d_z CI: noncentral t could not be inverted at t = {t_obs:.4g} (effect too extreme)"
    )
    return bounds[0], bounds[1], note


def paired_comparison(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    confidence: float = 0.95,
    metric: str = "",
    contrast: str = "",
) -> PairedComparison:
    """Compare two conditions measured on the same participants (difference ``a - b``).

    Parameters
    ----------
    a, b : array-like of float or None
        One value per participant, same length and order, in the units of the metric (e.g.
        Δ lnRMSSD in ln(ms), Δ HR in beats/min). ``a`` is the first condition of the contrast
        (e.g. self-soothing), ``b`` the second (e.g. attention). None or NaN marks a missing
        value; its pair is dropped and counted in ``n_missing``.
    confidence : float, default 0.95
        Confidence level of both intervals, in (0, 1). 0.95 is the reporting convention of
        psychophysiology (docs/domain.md section 6; Cumming & Finch 2001).
    metric, contrast : str
        Labels copied to the result (see :class:`PairedComparison`).

    Returns
    -------
    PairedComparison
        Frozen result; values that cannot be computed are None and ``note`` says why.

    Raises
    ------
    ValueError
        If ``a`` and ``b`` differ in length, are not one-dimensional, contain infinities, or
        ``confidence`` is not in (0, 1).

    Notes
    -----
    The t interval and test and the d_z interval assume roughly normal differences; the
    Wilcoxon test is the distribution-free check reported beside them. With ``n < 2`` no
    statistic exists (the SD of one difference is undefined). When all differences are equal
    (zero variance) the mean difference is reported, but the t interval, t-test and d_z are
    not (they would divide by zero).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a_arr = _as_float_vector(a, "a")
    b_arr = _as_float_vector(b, "b")
    if a_arr.shape != b_arr.shape:
        raise ValueError(f"a and b differ in length: {a_arr.size} != {b_arr.size}")

    complete = ~(np.isnan(a_arr) | np.isnan(b_arr))
    n = int(complete.sum())
    n_missing = int(a_arr.size - n)
    a_arr, b_arr = a_arr[complete], b_arr[complete]
    notes: list[str] = []
    if n_missing:
        notes.append(f"{n_missing} pair(s) dropped: missing value in a or b")

    empty = {
        "mean_diff": None, "ci_low": None, "ci_high": None, "d_z": None,
        "d_z_ci_low": None, "d_z_ci_high": None, "p_t": None, "p_wilcoxon": None,
    }
    if n < 2:
        notes.append(f"n = {n} complete pair(s): at least 2 are needed for any statistic")
        return PairedComparison(
            metric=metric, contrast=contrast, n=n, n_missing=n_missing, note="; ".join(notes),
            **empty,
        )

    diff = a_arr - b_arr
    mean_diff = float(np.mean(diff))
    values: dict[str, float | None] = {**empty, "mean_diff": mean_diff}

    spread = float(np.max(np.abs(diff - mean_diff)))
    if spread <= _ZERO_SPREAD_RTOL * float(np.max(np.abs(diff))):
        notes.append(
            "all differences are equal (zero variance): t CI, p_t and d_z are undefined"
        )
    else:
        sd = float(np.std(diff, ddof=1))
        se = sd / math.sqrt(n)
        t_crit = float(stats.t.ppf(0.5 + confidence / 2.0, n - 1))
        # The t-test itself is scipy's, so p_t is identical to ttest_rel by construction.
        t_result = stats.ttest_rel(a_arr, b_arr)
        d_z = mean_diff / sd
        d_low, d_high, d_note = _d_z_interval(d_z * math.sqrt(n), n, confidence)
        if d_note:
            notes.append(d_note)
        values.update(
            ci_low=mean_diff - t_crit * se,
            ci_high=mean_diff + t_crit * se,
            d_z=d_z,
            d_z_ci_low=d_low,
            d_z_ci_high=d_high,
            p_t=float(t_result.pvalue),
        )

    # zero_method="wilcox" (scipy's default) drops zero differences; with none left the
    # statistic is undefined and scipy would warn and return NaN.
    n_nonzero = int(np.count_nonzero(diff))
    if n_nonzero == 0:
        notes.append("all differences are zero: Wilcoxon signed-rank test undefined")
    else:
        values["p_wilcoxon"] = float(stats.wilcoxon(a_arr, b_arr).pvalue)
        if n_nonzero < _WILCOXON_MIN_N_FOR_05:
            notes.append(
                f"Wilcoxon: {n_nonzero} nonzero difference(s); the smallest p of the exact "
                f"test is {2.0 / 2.0**n_nonzero:.4g}"
            )

    return PairedComparison(
        metric=metric, contrast=contrast, n=n, n_missing=n_missing, note="; ".join(notes),
        **values,
    )
