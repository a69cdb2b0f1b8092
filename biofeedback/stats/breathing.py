"""Breathing-rate confound check for a vagal (HF) contrast between two practice categories.

High-frequency (HF) power, 0.15-0.40 Hz, indexes respiratory sinus arrhythmia and so vagal
outflow only while breathing stays in that band, 9-24 breaths/min (Task Force 1996). Slow
soothing or paced breathing (about 6/min, 0.1 Hz) moves RSA into the LF band, so HF falls while
vagal outflow does not; within the band, RSA amplitude still grows as breathing slows
(Grossman & Taylor 2007). A difference in HF between self-soothing and attention practices is
therefore only interpretable beside the breathing rates of both (Laborde, Mosley & Thayer 2017;
docs/domain.md section 3). :func:`breathing_confound` reports those rates per category, their paired
difference with a 95 % t interval, and a warning when breathing may explain an HF difference:

- the mean paired difference exceeds ``threshold_breaths_per_min`` in absolute value, or its
  95 % CI reaches beyond ``-threshold_breaths_per_min .. +threshold_breaths_per_min`` (a
  difference that large cannot be ruled out);
- either category's mean rate lies outside 9-24 breaths/min (0.15-0.40 Hz, the HF band).

References
----------
Grossman, P., & Taylor, E. W. (2007). Toward understanding respiratory sinus arrhythmia:
relations to cardiac vagal tone, evolution and biobehavioral functions. Biological Psychology,
74(2), 263-285.
Laborde, S., Mosley, E., & Thayer, J. F. (2017). Heart rate variability and cardiac vagal tone
in psychophysiological research: recommendations for experiment planning, data analysis, and
data reporting. Frontiers in Psychology, 8, 213.
Student (1908). The probable error of a mean. Biometrika, 6(1), 1-25.
Task Force of the European Society of Cardiology and the North American Society of Pacing and
Electrophysiology (1996). Heart rate variability: standards of measurement, physiological
interpretation and clinical use. Circulation, 93(5), 1043-1065.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TypedDict

import numpy as np
import numpy.typing as npt
from scipy import stats

from biofeedback.core.formatting import format_number
from biofeedback.core.hrv_indices import HF_BAND_HZ

HF_LOW_HZ, HF_HIGH_HZ = HF_BAND_HZ
HF_LOW_BREATHS_PER_MIN = HF_LOW_HZ * 60.0
"""9 breaths/min: below it RSA falls in LF, so HF no longer indexes vagal activity (Task Force
1996)."""
HF_HIGH_BREATHS_PER_MIN = HF_HIGH_HZ * 60.0
"""24 breaths/min: above it RSA lies beyond the HF band (Task Force 1996)."""

# 95 % is the reporting convention of psychophysiology (docs/domain.md section 6).
_CONFIDENCE = 0.95


@dataclass(frozen=True)
class BreathingCheck:
    """Result of :func:`breathing_confound`. All rates in breaths/min.

    Attributes
    ----------
    label_a, label_b : str
        Names of the two categories (``a`` first in the contrast ``a - b``).
    n : int
        Complete pairs (a breathing rate for both categories).
    n_missing : int
        Pairs dropped because either rate was None or NaN.
    mean_a, sd_a, mean_b, sd_b : float or None
        Mean and SD (``ddof=1``) of each category over the complete pairs; SD None when
        ``n < 2``, means None when ``n == 0``.
    mean_diff : float or None
        Mean of the paired differences ``a - b``.
    ci_low, ci_high : float or None
        95 % t interval of ``mean_diff`` (Student 1908); None when ``n < 2``.
    hf_difference : float or None
        The HF contrast the check is for, as given by the caller (e.g. Δ lnHF, ln(ms^2)).
    threshold_breaths_per_min : float
        Breathing difference taken as large enough to explain an HF difference.
    warning : str or None
        Why an HF difference may be explained by breathing; None when breathing does not
        threaten the contrast. Names both means and the threshold.
    """

    label_a: str
    label_b: str
    n: int
    n_missing: int
    mean_a: float | None
    sd_a: float | None
    mean_b: float | None
    sd_b: float | None
    mean_diff: float | None
    ci_low: float | None
    ci_high: float | None
    hf_difference: float | None
    threshold_breaths_per_min: float
    warning: str | None

    def to_dict(self) -> dict[str, str | int | float | None]:
        """Return every field as a JSON-ready dict (plain ``str``/``int``/``float``/None)."""
        return asdict(self)


def _rates(values: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    """1-D float array of breathing rates; None becomes NaN (a missing estimate)."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    finite = array[~np.isnan(array)]
    if np.isinf(finite).any() or (finite <= 0.0).any():
        # A rate of 0, below 0 or infinite is a bug in the estimator, not a missing value.
        raise ValueError(f"{name} must hold positive, finite breathing rates (breaths/min)")
    return array


def _fmt(value: float) -> str:
    return format_number(value, 1)


class _Known(TypedDict):
    """The fields of :class:`BreathingCheck` known before any rate is summarised."""

    label_a: str
    label_b: str
    n: int
    n_missing: int
    hf_difference: float | None
    threshold_breaths_per_min: float


def breathing_confound(
    breathing_a: npt.ArrayLike,
    breathing_b: npt.ArrayLike,
    *,
    hf_difference: float | None = None,
    threshold_breaths_per_min: float = 2.0,
    labels: tuple[str, str] = ("self-soothing", "attention"),
) -> BreathingCheck:
    """Check whether two categories differ in breathing enough to explain an HF difference.

    Parameters
    ----------
    breathing_a, breathing_b : array-like of float or None
        Per-participant mean breathing rate (breaths/min) during category ``a`` (e.g.
        self-soothing) and ``b`` (e.g. attention) practices, same participants in the same
        order. None or NaN marks a missing estimate; its pair is dropped and counted.
    hf_difference : float, optional
        The HF contrast ``a - b`` being checked (e.g. mean Δ lnHF, ln(ms^2)); quoted in the
        warning.
    threshold_breaths_per_min : float, default 2.0
        Breathing difference (breaths/min) considered large enough to shift HF power. 2/min
        moves a 12/min rhythm by 0.033 Hz, a sizeable part of the 0.25 Hz-wide HF band.
    labels : tuple of str, default ("self-soothing", "attention")
        Names of ``a`` and ``b`` used in the warning.

    Returns
    -------
    BreathingCheck
        Descriptives, the paired difference with its 95 % CI, and ``warning``.

    Raises
    ------
    ValueError
        If the inputs differ in length, are not one-dimensional, hold rates <= 0 or infinite,
        or ``threshold_breaths_per_min`` is not a positive finite number.

    Notes
    -----
    The warning fires when (1) ``|mean_diff| > threshold_breaths_per_min``; (2) the 95 % CI of
    the difference reaches beyond ``+/- threshold_breaths_per_min``, so such a difference is not
    ruled out;
    (3) either category's mean is below 9/min or above 24/min, outside the HF band
    (0.15-0.40 Hz; Task Force 1996), where HF no longer indexes vagal activity (Grossman &
    Taylor 2007; Laborde et al. 2017); or (4) no complete pair exists, so breathing cannot be
    checked at all. With one pair there is no CI and (2) cannot fire.
    """
    threshold = threshold_breaths_per_min
    if not (math.isfinite(threshold) and threshold > 0.0):
        raise ValueError(f"threshold_breaths_per_min must be positive and finite, got {threshold}")
    a = _rates(breathing_a, "breathing_a")
    b = _rates(breathing_b, "breathing_b")
    if a.shape != b.shape:
        raise ValueError(f"breathing_a and breathing_b differ in length: {a.size} != {b.size}")
    label_a, label_b = labels
    complete = ~(np.isnan(a) | np.isnan(b))
    n = int(complete.sum())
    a, b = a[complete], b[complete]
    hf = None if hf_difference is None else float(hf_difference)
    base: _Known = {
        "label_a": label_a, "label_b": label_b, "n": n, "n_missing": int(complete.size - n),
        "hf_difference": hf, "threshold_breaths_per_min": float(threshold),
    }
    if n == 0:
        return BreathingCheck(
            **base, mean_a=None, sd_a=None, mean_b=None, sd_b=None, mean_diff=None,
            ci_low=None, ci_high=None,
            warning=f"no participant has breathing rates for both {label_a} and {label_b}: "
            f"an HF difference cannot be checked against breathing (threshold "
            f"{_fmt(threshold)}/min)",
        )

    diff = a - b
    mean_a, mean_b, mean_diff = float(a.mean()), float(b.mean()), float(diff.mean())
    sd_a = sd_b = ci_low = ci_high = None
    if n >= 2:
        sd_a, sd_b = float(a.std(ddof=1)), float(b.std(ddof=1))
        half = float(stats.t.ppf(0.5 + _CONFIDENCE / 2.0, n - 1)) * float(
            diff.std(ddof=1)
        ) / math.sqrt(n)
        ci_low, ci_high = mean_diff - half, mean_diff + half

    reasons: list[str] = []
    if abs(mean_diff) > threshold:
        reasons.append(
            f"the mean paired difference {mean_diff:+.1f}/min exceeds the "
            f"{_fmt(threshold)}/min threshold"
        )
    elif ci_low is not None and ci_high is not None and max(-ci_low, ci_high) > threshold:
        reasons.append(
            f"the 95 % CI of the difference ({ci_low:+.1f} to {ci_high:+.1f}/min) reaches "
            f"beyond the {_fmt(threshold)}/min threshold"
        )
    for label, mean in ((label_a, mean_a), (label_b, mean_b)):
        if mean < HF_LOW_BREATHS_PER_MIN:
            reasons.append(
                f"{label} breathing ({_fmt(mean)}/min) is below {HF_LOW_BREATHS_PER_MIN:.0f}/min "
                f"({HF_LOW_HZ} Hz, the HF lower edge), so respiratory sinus arrhythmia falls in "
                "LF and HF no longer indexes vagal activity"
            )
        elif mean > HF_HIGH_BREATHS_PER_MIN:
            reasons.append(
                f"{label} breathing ({_fmt(mean)}/min) is above {HF_HIGH_BREATHS_PER_MIN:.0f}/min "
                f"({HF_HIGH_HZ} Hz, the HF upper edge)"
            )

    warning = None
    if reasons:
        hf_text = (
            "an HF difference" if hf is None else f"the HF difference of {hf:+.3g}"
        )
        warning = (
            f"Breathing confound: {label_a} {_fmt(mean_a)}/min vs {label_b} "
            f"{_fmt(mean_b)}/min (threshold {_fmt(threshold)}/min); "
            + "; ".join(reasons)
            + f". {hf_text[0].upper()}{hf_text[1:]} between the categories may be explained "
            "by breathing rather than vagal activity."
        )
    return BreathingCheck(
        **base, mean_a=mean_a, sd_a=sd_a, mean_b=mean_b, sd_b=sd_b, mean_diff=mean_diff,
        ci_low=ci_low, ci_high=ci_high, warning=warning,
    )
