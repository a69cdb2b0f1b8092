"""Feedback shown vs hidden: the same practice's change from baseline when the participant saw
their heart rate and HRV, against when they did not (``compare --split-by feedback``).

Watching one's own physiology is itself an intervention, so a practice done with the feedback
shown and the same practice done with it hidden are two conditions. Each practice is compared
on its own (a breathing practice with feedback is not a self-soothing practice without it),
paired by participant: a participant's Δ from baseline is averaged over their sessions in each
level, and the comparison takes the participants who have both. Practice windows whose
feedback was not recorded (sessions stored before it was, imports) are listed, never guessed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from biofeedback.comparison.contrasts import METRICS, PracticeResponse, practice_responses
from biofeedback.comparison.dataset import WindowRow
from biofeedback.stats.paired import paired_comparison

__all__ = ["FEEDBACK_CONTRAST", "FEEDBACK_LEVELS", "SPLITS", "feedback_split"]

FEEDBACK_LEVELS = ("shown", "hidden")
"""The two levels compared, in the order of the difference (shown minus hidden)."""

FEEDBACK_CONTRAST = "shown - hidden"
"""The contrast label of every feedback comparison."""

SPLITS = ("feedback",)
"""What ``compare --split-by`` can split the practices by."""


def feedback_split(
    rows: Sequence[WindowRow],
    metrics: Sequence[str] = METRICS,
    *,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Each practice with feedback shown against the same practice with it hidden.

    Parameters
    ----------
    rows : sequence of WindowRow
        Phase windows of the compared sessions (:func:`~biofeedback.comparison.dataset.
        comparison_data`).
    metrics : sequence of str
        Window metrics compared (:data:`~biofeedback.comparison.contrasts.METRICS`): Δ from
        the session's baseline window, in the metric's unit (ln ms, beats/min, ms^2,
        breaths/min).
    confidence : float
        Level of the confidence intervals.

    Returns
    -------
    dict
        ``contrast`` (``"shown - hidden"``); ``practices``: per practice (every category, in
        name order) its ``practice``, ``category``, ``n_shown`` and ``n_hidden`` (practice
        windows), ``n_paired`` (participants with both), ``participants`` (each one's mean Δ
        per metric and level) and ``comparisons`` (:class:`~biofeedback.stats.paired.
        PairedComparison` dicts, one per metric; ``note`` says why a value is missing);
        ``not_recorded``: the practice windows whose feedback was not recorded.
    """
    responses = practice_responses(rows, categories=None)
    not_recorded = [
        {"session_id": r.session_id, "participant_id": r.participant_id,
         "phase_id": r.phase_id, "practice": r.practice}
        for r in responses if r.feedback not in FEEDBACK_LEVELS
    ]
    by_practice: dict[tuple[str, str], list[PracticeResponse]] = defaultdict(list)
    for r in responses:
        if r.feedback in FEEDBACK_LEVELS:
            by_practice[(r.practice, r.category)].append(r)
    practices = []
    for (practice, category), group in sorted(by_practice.items()):
        means = {metric: _participant_means(group, metric) for metric in metrics}
        levels: dict[str, set[str | None]] = defaultdict(set)
        for r in group:
            levels[r.participant_id].add(r.feedback)
        people = sorted(levels)
        paired = [p for p in people if levels[p] == set(FEEDBACK_LEVELS)]
        comparisons = []
        for metric in metrics:
            shown = [_nan(means[metric][p].get("shown")) for p in people]
            hidden = [_nan(means[metric][p].get("hidden")) for p in people]
            result = paired_comparison(shown, hidden, confidence=confidence,
                                       metric=f"delta_{metric}", contrast=FEEDBACK_CONTRAST)
            comparisons.append(result.to_dict() | {"note": result.note})
        practices.append({
            "practice": practice,
            "category": category,
            "n_shown": sum(r.feedback == "shown" for r in group),
            "n_hidden": sum(r.feedback == "hidden" for r in group),
            "n_paired": len(paired),
            "participants": [
                {"participant_id": p, **{
                    f"delta_{metric}_{level}": means[metric][p].get(level)
                    for metric in metrics for level in FEEDBACK_LEVELS}}
                for p in people
            ],
            "comparisons": comparisons,
        })
    return {"contrast": f"feedback {FEEDBACK_CONTRAST} (each as change from the session "
                        "baseline, per practice, paired by participant)",
            "practices": practices, "not_recorded": not_recorded}


def _participant_means(
    responses: Sequence[PracticeResponse], metric: str
) -> dict[str, dict[str, float | None]]:
    """Participant -> feedback level -> mean Δ of ``metric`` over their windows (None when
    they have windows of that level but no usable value; the level is absent without any)."""
    values: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in responses:
        level = values[r.participant_id][str(r.feedback)]
        if (value := r.delta.get(metric)) is not None:
            level.append(value)
    return {p: {level: (sum(v) / len(v) if v else None) for level, v in levels.items()}
            for p, levels in values.items()}


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)
