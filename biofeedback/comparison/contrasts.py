"""From phase windows to contrasts: practice responses, reactivity and recovery, and the
self-soothing vs attention comparison across participants.

Every value that cannot be used (an excluded window, HF outside its valid breathing range, a
missing baseline) is counted with its reason, never dropped silently.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from biofeedback.comparison.dataset import WindowRow
from biofeedback.stats.paired import PairedComparison, paired_comparison

__all__ = [
    "CATEGORIES",
    "METRICS",
    "PracticeResponse",
    "category_comparisons",
    "participant_means",
    "practice_responses",
    "same_source_breathing",
]

METRICS = ("ln_rmssd", "hr_bpm", "hf_ms2", "lf_ms2", "breaths_per_min")
"""Window metrics compared: lnRMSSD (ln ms), HR (bpm), HF and LF (ms^2), breathing (/min)."""

CATEGORIES = ("self_soothing", "attention")
"""The two practice categories compared (Δ self-soothing minus Δ attention)."""


@dataclass(frozen=True, slots=True)
class PracticeResponse:
    """A practice window's change from its session's baseline window.

    Attributes
    ----------
    participant_id, session_id, practice, category, phase_id : identification
    position : int or None
        Position of the session's condition in the participant's order (order effects).
    delta : dict
        Metric -> practice minus baseline (None where not computable; see ``missing``).
    breaths_per_min : float or None
        Breathing during the practice window, breaths/min (reported beside every contrast).
    missing : dict
        Metric -> why its delta is None (excluded window, HF not valid, no value).
    feedback : str or None
        ``"shown"`` or ``"hidden"``: whether the participant saw their physiology during the
        practice (None when that was not recorded).
    breathing_source : str or None
        Where ``breaths_per_min`` came from: ``"acc"`` (chest accelerometer) or ``"rr"``.
    breaths_per_min_rr : float or None
        The practice window's RR-spectrum breathing rate, breaths/min (the common source
        when another window lacks a reliable ACC rate).
    breathing_change_source : str or None
        The one source both rates of ``delta["breaths_per_min"]`` came from
        (:func:`same_source_breathing`); None when the change could not be computed.
    """

    participant_id: str
    session_id: int
    session_started_utc: str
    practice: str
    category: str
    phase_id: str
    position: int | None
    delta: dict[str, float | None]
    breaths_per_min: float | None
    missing: dict[str, str] = field(default_factory=dict)
    feedback: str | None = None
    breathing_source: str | None = None
    breaths_per_min_rr: float | None = None
    breathing_change_source: str | None = None


def same_source_breathing(
    first: dict[str, Any], second: dict[str, Any]
) -> tuple[float | None, float | None, str]:
    """The breathing rates of two windows, both from one source, for a change between them.

    A change from a rate counted on the chest accelerometer to one read off the RR spectrum
    would mix two instruments (the RR-based one fails exactly when RSA is weak), so the
    accelerometer's rates are used only when BOTH windows have a reliable one
    (``breathing_source == "acc"``); otherwise both windows' RR-spectrum rates are.

    Parameters
    ----------
    first, second : dict
        :meth:`~biofeedback.analysis.windows.PhaseWindow.to_dict` records (``breaths_per_min``,
        ``breathing_source``, ``breaths_per_min_rr``).

    Returns
    -------
    (rate_first, rate_second, source)
        Breaths/min of each window (None where that source has no rate) and ``"acc"`` or
        ``"rr"``.
    """
    if first.get("breathing_source") == "acc" and second.get("breathing_source") == "acc":
        return _number(first.get("breaths_per_min")), _number(second.get("breaths_per_min")), \
            "acc"
    return _rr_breathing(first), _rr_breathing(second), "rr"


def _rr_breathing(window: dict[str, Any]) -> float | None:
    """A window's RR-spectrum breathing rate (``breaths_per_min`` itself unless the ACC
    decided it)."""
    if window.get("breathing_source") == "acc" or "breaths_per_min_rr" in window:
        return _number(window.get("breaths_per_min_rr"))
    return _number(window.get("breaths_per_min"))


def practice_responses(
    rows: Iterable[WindowRow], categories: Collection[str] | None = CATEGORIES
) -> list[PracticeResponse]:
    """Δ from baseline of every practice window (baseline = that session's baseline window).

    Parameters
    ----------
    rows : iterable of WindowRow
        Phase windows of the sessions.
    categories : collection of str or None
        Practice categories taken (default: the two compared, :data:`CATEGORIES`); None
        takes every practice window with a category (breathing and neutral practices too).
    """
    by_session: dict[int, list[WindowRow]] = defaultdict(list)
    for row in rows:
        by_session[row.session_id].append(row)
    responses = []
    for session_rows in by_session.values():
        baseline = next((r for r in session_rows if r.window["kind"] == "baseline"), None)
        for row in session_rows:
            window = row.window
            category = window.get("category")
            if window["kind"] != "practice" or category is None or (
                    categories is not None and category not in categories):
                continue
            delta: dict[str, float | None] = {}
            missing: dict[str, str] = {}
            for metric in METRICS:
                delta[metric], why = _delta(metric, window, None if baseline is None
                                            else baseline.window)
                if why:
                    missing[metric] = why
            change_source = None
            if delta["breaths_per_min"] is not None and baseline is not None:
                change_source = same_source_breathing(window, baseline.window)[2]
            responses.append(PracticeResponse(
                row.participant_id, row.session_id, row.session_started_utc,
                str(window.get("practice") or window["phase_id"]), str(window["category"]),
                str(window["phase_id"]), row.position, delta,
                _number(window.get("breaths_per_min")), missing, window.get("feedback"),
                window.get("breathing_source"), _rr_breathing(window), change_source,
            ))
    return responses


def _delta(
    metric: str, practice: dict[str, Any], baseline: dict[str, Any] | None
) -> tuple[float | None, str]:
    if baseline is None:
        return None, "no baseline window in the session"
    for name, window in (("baseline", baseline), ("practice", practice)):
        if window.get("excluded"):
            return None, f"{name} window excluded ({window.get('exclusion_reason')})"
        if metric == "hf_ms2" and not window.get("hf_valid"):
            return None, f"HF not valid in the {name} window (breathing outside the HF band)"
    if metric == "breaths_per_min":
        # Like with like: both rates from the accelerometer, or both from the RR spectrum.
        a, b, source = same_source_breathing(practice, baseline)
        if a is None or b is None:
            where = "practice" if a is None else "baseline"
            what = ("chest-accelerometer" if source == "acc" else "RR-spectrum")
            return None, f"no {what} breathing rate in the {where} window"
        return a - b, ""
    a, b = _number(practice.get(metric)), _number(baseline.get(metric))
    if a is None or b is None:
        return None, f"no {metric} value"
    return a - b, ""


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def participant_means(
    responses: Sequence[PracticeResponse], metric: str, *, practice: str | None = None
) -> dict[str, dict[str, float | None]]:
    """Participant -> category -> mean Δ of ``metric`` over all their sessions (and over
    ``practice`` only, when given); None where no usable value exists."""
    sums: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    seen: dict[str, set[str]] = defaultdict(set)
    for r in responses:
        if practice is not None and r.practice != practice and r.category != practice:
            continue
        seen[r.participant_id].add(r.category)
        value = r.delta.get(metric)
        if value is not None:
            sums[r.participant_id][r.category].append(value)
    means: dict[str, dict[str, float | None]] = {}
    for participant in sorted(seen):
        means[participant] = {
            category: (sum(v) / len(v) if (v := sums[participant].get(category)) else None)
            for category in CATEGORIES
        }
    return means


def category_comparisons(
    responses: Sequence[PracticeResponse],
    metrics: Sequence[str] = METRICS,
    *,
    confidence: float = 0.95,
) -> list[PairedComparison]:
    """Self-soothing vs attention (Δ from baseline), paired by participant, per metric.

    A participant without a usable value in one category counts as a missing pair.
    """
    comparisons = []
    for metric in metrics:
        means = participant_means(responses, metric)
        a = [m["self_soothing"] for m in means.values()]
        b = [m["attention"] for m in means.values()]
        comparisons.append(paired_comparison(
            [math.nan if v is None else v for v in a],
            [math.nan if v is None else v for v in b],
            confidence=confidence, metric=f"delta_{metric}",
            contrast="self_soothing - attention",
        ))
    return comparisons
