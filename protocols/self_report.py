"""0-10 self-report answers: validation, storage as markers, and simulated answers.

A ``self_report`` phase asks its :class:`~protocols.model.SelfReportItem` questions (e.g.
"How calm do you feel right now?", 0 = not at all, 10 = completely). The answers are stored
with the session as :class:`~biofeedback.core.types.Marker` objects of kind
``MarkerKind.SELF_REPORT``, one per item, so they sit on the same time line as the beats and
the phases, and are read back with :func:`markers_to_answers`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import Marker, MarkerKind
from protocols.model import PhaseKind, SelfReportItem

SCALE_MIN = 0
SCALE_MAX = 10


class SelfReportError(BiofeedbackError, ValueError):
    """Self-report answers that do not fit the questions asked."""


@dataclass(frozen=True, slots=True)
class SelfReportAnswer:
    """One answer to one 0-10 item.

    Attributes
    ----------
    item_id : str
        :attr:`SelfReportItem.id` of the question.
    value : int
        The answer, 0..10.
    at_s : float
        Session-clock time of the answer, s.
    phase_id : str or None
        Phase it was asked in (when read back from markers).
    """

    item_id: str
    value: int
    at_s: float
    phase_id: str | None = None


def _check_value(item_id: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SelfReportError(
            f"self-report item {item_id!r}: answer must be a whole number from {SCALE_MIN} "
            f"to {SCALE_MAX}, not {value!r}"
        )
    if not SCALE_MIN <= int(value) <= SCALE_MAX:
        raise SelfReportError(
            f"self-report item {item_id!r}: answer {value} is outside {SCALE_MIN}-{SCALE_MAX}"
        )
    return int(value)


def validate_answers(
    items: Sequence[SelfReportItem], answers: Mapping[str, object]
) -> dict[str, int]:
    """Check a phase's answers against its items.

    Parameters
    ----------
    items : sequence of SelfReportItem
        The questions asked.
    answers : mapping of str to int
        Item id -> answer.

    Returns
    -------
    dict of str to int
        The answers, in the order of ``items``.

    Raises
    ------
    SelfReportError
        An answer to an unknown item, an item left unanswered, a value that is not a whole
        number, or one outside 0-10. The message names the item.
    """
    known = [item.id for item in items]
    unknown = [key for key in answers if key not in known]
    if unknown:
        raise SelfReportError(
            f"unknown self-report item(s) {', '.join(map(repr, unknown))}; "
            f"the items are {', '.join(map(repr, known)) or '(none)'}"
        )
    missing = [key for key in known if key not in answers]
    if missing:
        raise SelfReportError(f"self-report item(s) not answered: {', '.join(map(repr, missing))}")
    return {key: _check_value(key, answers[key]) for key in known}


def answers_to_markers(
    phase_id: str, answers: Mapping[str, int], at_s: float
) -> list[Marker]:
    """One ``MarkerKind.SELF_REPORT`` marker per answer.

    Label ``"self-report calm=7"``; ``extra = {"phase": phase_id, "item": "calm", "value": 7}``.
    Validate the answers first with :func:`validate_answers`.
    """
    return [
        Marker(
            float(at_s),
            0.0,
            f"self-report {item}={_check_value(item, value)}",
            MarkerKind.SELF_REPORT,
            {"phase": phase_id, "item": item, "value": int(value)},
        )
        for item, value in answers.items()
    ]


def markers_to_answers(markers: Iterable[Marker]) -> list[SelfReportAnswer]:
    """The self-report answers among ``markers`` (others are skipped), in marker order."""
    out: list[SelfReportAnswer] = []
    for m in markers:
        if m.kind != MarkerKind.SELF_REPORT:
            continue
        item, value = m.extra.get("item"), m.extra.get("value")
        if not isinstance(item, str) or isinstance(value, bool) or not isinstance(value, int):
            continue
        phase = m.extra.get("phase")
        phase_id = phase if isinstance(phase, str) else None
        out.append(SelfReportAnswer(item, value, m.onset_s, phase_id))
    return out


def answers_by_phase(markers: Iterable[Marker]) -> dict[str, dict[str, int]]:
    """Answers read back from markers, grouped: phase id -> item id -> value (last wins)."""
    table: dict[str, dict[str, int]] = {}
    for a in markers_to_answers(markers):
        table.setdefault(a.phase_id or "", {})[a.item_id] = a.value
    return table


# Typical answers of a calm-type item by phase kind (mean, SD on 0-10); "tense"-type items
# (stress, tension, anxiety, self-criticism) mirror them. Invented plausible values for
# simulated sessions, not data.
_CALM_BY_KIND: dict[str, tuple[float, float]] = {
    PhaseKind.BASELINE: (6.5, 1.5),
    PhaseKind.STRESSOR: (3.0, 1.8),
    PhaseKind.PRACTICE: (7.0, 1.5),
    PhaseKind.RECOVERY: (6.0, 1.6),
    PhaseKind.REST: (6.5, 1.5),
    PhaseKind.SELF_REPORT: (6.0, 1.8),
}
_NEGATIVE_WORDS = ("stress", "tens", "anx", "worr", "critic", "nerv", "upset", "threat", "fear")


def _is_negative(item: SelfReportItem) -> bool:
    text = f"{item.id} {item.question}".lower()
    return any(word in text for word in _NEGATIVE_WORDS)


def simulated_answers(
    items: Sequence[SelfReportItem],
    phase_kind: PhaseKind | str,
    rng: np.random.Generator,
) -> dict[str, int]:
    """Plausible 0-10 answers for a simulated participant.

    ``phase_kind`` is the kind of the phase the questions are about (the one just before a
    self-report phase): calm-type items are low after a stressor and high after a practice;
    items about stress, tension, anxiety, worry or self-criticism go the other way.
    """
    mean, sd = _CALM_BY_KIND.get(str(phase_kind), (5.0, 2.0))
    out: dict[str, int] = {}
    for item in items:
        m = SCALE_MAX - mean if _is_negative(item) else mean
        out[item.id] = int(np.clip(round(float(rng.normal(m, sd))), SCALE_MIN, SCALE_MAX))
    return out

