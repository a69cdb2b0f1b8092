"""Numbers of a practice comparison as text: metric labels, values, p values and CIs.

Qt-free, so the comparison view and any other reader format them the same way.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = [
    "METRIC_LABELS",
    "decimals",
    "format_ci",
    "format_p",
    "format_value",
    "metric_label",
    "parse_participants",
    "settings_line",
]

METRIC_LABELS: dict[str, tuple[str, str, int]] = {
    "delta_ln_rmssd": ("Δ lnRMSSD", "ln ms", 3),
    "delta_hr_bpm": ("Δ HR", "bpm", 2),
    "delta_hf_ms2": ("Δ HF", "ms²", 0),
    "delta_lf_ms2": ("Δ LF", "ms²", 0),
    "delta_breaths_per_min": ("Δ breathing", "/min", 2),
}
"""JSON metric -> (name, unit, decimals shown)."""


def format_value(value: float | None, decimals: int) -> str:
    """A number with ``decimals`` decimals (``–`` for a missing or non-finite one).

    Parameters
    ----------
    value : float or None
        The number.
    decimals : int
        Decimals shown.

    Returns
    -------
    str
        E.g. ``"0.150"``, ``"-0.91"``, ``"1175"`` or ``"–"``.
    """
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.{decimals}f}"


def format_p(p: float | None) -> str:
    """A p value as published: three decimals, ``< 0.001`` below that, ``–`` when missing."""
    if p is None or not math.isfinite(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_ci(low: float | None, high: float | None, decimals: int) -> str:
    """A confidence interval ``low .. high`` (``–`` when both ends are missing)."""
    if low is None and high is None:
        return "–"
    return f"{format_value(low, decimals)} .. {format_value(high, decimals)}"


def metric_label(metric: str) -> str:
    """``delta_hr_bpm`` -> ``"Δ HR (bpm)"``; an unknown metric is shown by its name."""
    name, unit, _ = METRIC_LABELS.get(metric, (metric, "", 3))
    return f"{name} ({unit})" if unit else name


def decimals(metric: str) -> int:
    """Decimals shown for a metric (3 for an unknown one)."""
    return METRIC_LABELS.get(metric, (metric, "", 3))[2]


def parse_participants(text: str) -> list[str]:
    """Participant ids typed by the user: separated by commas and/or spaces, duplicates dropped.

    Examples
    --------
    >>> parse_participants("P1, P2 P1")
    ['P1', 'P2']
    """
    return list(dict.fromkeys(w for w in re.split(r"[\s,;]+", text) if w))


def settings_line(settings: dict[str, Any]) -> str:
    """Windows, exclusion threshold, artifact correction and spectrum behind the numbers."""
    parts = []
    window = settings.get("window") or {}
    if "length_s" in window:
        minutes = float(window["length_s"]) / 60.0
        parts.append(
            f"windows: {minutes:g} min at the {window.get('anchor', 'end')} of each phase"
        )
    if "exclusion_threshold_pct" in window:
        parts.append(f"excluded above {window['exclusion_threshold_pct']:g} % artifacts")
    analysis = settings.get("analysis") or {}
    if "correction" in analysis:
        parts.append(f"artifact correction: {analysis['correction']}")
    if "psd_method" in analysis:
        parts.append(f"spectrum: {analysis['psd_method']}")
    hf = analysis.get("hf_band_hz")
    if isinstance(hf, list | tuple) and len(hf) == 2:
        parts.append(f"HF {hf[0]:g}-{hf[1]:g} Hz")
    if "confidence" in settings:
        parts.append(f"{float(settings['confidence']) * 100:g} % intervals")
    return " · ".join(parts)
