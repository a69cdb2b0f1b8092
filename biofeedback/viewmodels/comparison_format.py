"""Numbers of a practice comparison as text: metric labels, decimals and CIs.

Qt-free, so the comparison view and any other reader format them the same way. Names, units
and decimals come from the HRV index registry (:data:`biofeedback.core.hrv_indices.
COMPARISON_METRICS`); numbers and p values are written by :mod:`biofeedback.core.formatting`.
"""

from __future__ import annotations

import re
from typing import Any

from biofeedback.comparison.source_methods import BREATHING_SOURCE_NAMES, breathing_sources_text
from biofeedback.core.formatting import MISSING, format_number
from biofeedback.core.hrv_indices import COMPARISON_METRICS

__all__ = [
    "BREATHING_SOURCE_NAMES",
    "breathing_sources_text",
    "decimals",
    "ecg_rr_line",
    "format_ci",
    "metric_label",
    "metric_parts",
    "parse_participants",
    "settings_line",
]

_UNKNOWN_DECIMALS = 3
"""Decimals of a metric the registry does not know (a newer CLI's), so it still shows."""


def metric_parts(metric: str) -> tuple[str, str, int]:
    """Name, unit and decimals of a comparison metric as the window shows them.

    Parameters
    ----------
    metric : str
        JSON ``metric`` of a comparison, e.g. ``"delta_hr_bpm"``.

    Returns
    -------
    tuple of (str, str, int)
        The registry's short name and short unit (the window's plot titles and table cells
        are narrow) and its decimals, e.g. ``("Δ HR", "bpm", 2)``; an unknown metric is
        shown by its name, without a unit, with 3 decimals.
    """
    spec = COMPARISON_METRICS.get(metric)
    if spec is None:
        return metric, "", _UNKNOWN_DECIMALS
    return spec.abbrev, spec.unit_short, spec.decimals


def ecg_rr_line(ecg_rr: dict[str, Any]) -> str:
    """One line on a comparison whose RR came from the raw ECG: how many sessions, which were
    excluded for want of ECG, and the range of their agreement with the strap's RR.

    Parameters
    ----------
    ecg_rr : dict
        ``ecg_rr`` of the comparison's JSON (``sessions``, ``excluded``, ``range``,
        ``neurokit2``, ``method``).
    """
    used = len(ecg_rr.get("sessions") or [])
    versions = ", ".join(ecg_rr.get("neurokit2") or []) or "?"
    text = (f"RR from the raw ECG of {used} session{'' if used == 1 else 's'} (neurokit2 "
            f"{versions} ecg_peaks, method {ecg_rr.get('method')})")
    left_out = ecg_rr.get("excluded") or []
    if left_out:
        which = ", ".join(f"{e.get('session_id')} ({e.get('participant_id') or '?'})"
                          for e in left_out)
        text += f"; {len(left_out)} excluded without usable ECG: {which}"
    spans = ecg_rr.get("range") or {}

    def between(key: str, digits: int) -> str:
        lo_hi = spans.get(key)
        if not lo_hi:
            return MISSING
        lo, hi = (format_number(v, digits) for v in lo_hi)
        return lo if lo == hi else f"{lo}–{hi}"

    return (text + f"; agreement with the strap: median |Δt| {between('ecg_median_abs_dt_ms', 2)}"
            f" ms, {between('ecg_pairs', 0)} beats paired, {between('ecg_unmatched', 0)} ECG "
            f"and {between('strap_unmatched', 0)} strap beats unpaired per session")


def format_ci(low: float | None, high: float | None, decimals: int) -> str:
    """A confidence interval ``low .. high`` (``–`` when both ends are missing)."""
    if low is None and high is None:
        return MISSING
    return f"{format_number(low, decimals)} .. {format_number(high, decimals)}"


def metric_label(metric: str) -> str:
    """``delta_hr_bpm`` -> ``"Δ HR (bpm)"``; an unknown metric is shown by its name."""
    name, unit, _ = metric_parts(metric)
    return f"{name} ({unit})" if unit else name


def decimals(metric: str) -> int:
    """Decimals shown for a metric (3 for an unknown one)."""
    return metric_parts(metric)[2]


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
    if settings.get("rr_source") == "ecg":
        parts.append("RR from the raw ECG")
    return " · ".join(parts)
