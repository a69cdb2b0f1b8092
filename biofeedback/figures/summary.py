"""Means with t confidence intervals over participants, and the error every figure raises
when its results hold nothing to draw."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from biofeedback.core.errors import BiofeedbackError

__all__ = ["MeanCI", "NothingToDrawError", "finite_values", "mean_ci"]


class NothingToDrawError(BiofeedbackError):
    """The results given to a figure hold nothing it draws (no stressor phase, no paired
    participant, ...); the message says what is missing."""


@dataclass(frozen=True, slots=True)
class MeanCI:
    """A mean with its t confidence interval (``low``/``high`` None with fewer than 2
    values)."""

    mean: float
    low: float | None
    high: float | None
    n: int


def finite_values(values: Iterable[object]) -> list[float]:
    """The values that are numbers and finite (None and NaN are missing, never zero)."""
    out = []
    for v in values:
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            out.append(float(v))
    return out


def mean_ci(values: Iterable[object], confidence: float = 0.95) -> MeanCI | None:
    """Mean and ``confidence`` t interval of the finite values; None when there are none."""
    from scipy import stats

    xs = finite_values(values)
    if not xs:
        return None
    n = len(xs)
    mean = sum(xs) / n
    if n < 2:
        return MeanCI(mean, None, None, n)
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return MeanCI(mean, mean - half, mean + half, n)
