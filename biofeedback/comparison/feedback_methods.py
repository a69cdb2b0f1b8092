"""The methods sentence on feedback: during which phases the participant saw their own heart
rate and HRV, and during which it was hidden.

Watching one's own physiology is itself an intervention, so a report must say where it was
shown. Phases stored before feedback was recorded (and imported recordings) carry None: the
sentence then says it was not recorded, and never guesses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["feedback_sentence", "phase_feedback_counts", "study_feedback_sentence"]

_NOT_RECORDED = "feedback shown/hidden was not recorded"


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def feedback_sentence(
    phases: Iterable[tuple[str, str | None]], who: str = "participants"
) -> str:
    """One or two clauses saying where feedback was shown and where hidden.

    Parameters
    ----------
    phases : iterable of (str, str or None)
        ``(label, feedback)`` per phase, in running order: the label as the sentence names it
        (a phase name, or "the baseline") and ``"shown"``, ``"hidden"`` or None (not
        recorded). A label given several times (one per session) is named once; when its
        phases differ it is said to have been shown in some sessions and hidden in others.
    who : str
        Who watched: "participants" (a study) or "the participant" (a session).

    Returns
    -------
    str
        E.g. "Participants saw their heart rate and HRV during resonance breathing only;
        feedback was hidden during the baseline, the stressor and the recovery." Empty when
        there are no phases.
    """
    seen: dict[str, set[str | None]] = {}
    for label, feedback in phases:
        seen.setdefault(label, set()).add(feedback)
    if not seen:
        return ""
    shown = [k for k, v in seen.items() if v - {None} == {"shown"}]
    hidden = [k for k, v in seen.items() if v - {None} == {"hidden"}]
    mixed = [k for k, v in seen.items() if {"shown", "hidden"} <= v]
    unknown = [k for k, v in seen.items() if None in v]
    if all(v == {None} for v in seen.values()):
        return f"{_NOT_RECORDED[0].upper()}{_NOT_RECORDED[1:]} for these phases."
    they, them = who, "their"
    clauses = []
    if shown:
        if not hidden and not mixed and not unknown:
            clauses.append(f"{they} saw {them} heart rate and HRV during every phase")
        else:
            only = " only" if hidden or mixed else ""
            clauses.append(f"{they} saw {them} heart rate and HRV during {_join(shown)}{only}")
    if hidden:
        if not shown and not mixed and not unknown:
            clauses.append(f"feedback was hidden during every phase: {they} did not see "
                           f"{them} heart rate or HRV")
        else:
            clauses.append(f"feedback was hidden during {_join(hidden)}")
    if mixed:
        clauses.append(f"feedback was shown in some sessions and hidden in others during "
                       f"{_join(mixed)}")
    if unknown:
        partly = [k for k in unknown if seen[k] != {None}]
        whole = [k for k in unknown if seen[k] == {None}]
        if whole:
            clauses.append(f"{_NOT_RECORDED} for {_join(whole)}")
        if partly:
            clauses.append(f"{_NOT_RECORDED} in some sessions for {_join(partly)}")
    text = "; ".join(clauses)
    return f"{text[0].upper()}{text[1:]}."


def _window_label(window: dict[str, Any]) -> str:
    """How the study sentence names a phase: the practice (``resonance breathing``) for a
    practice phase, else its kind (``the baseline``)."""
    if window.get("kind") == "practice" and window.get("practice"):
        return str(window["practice"]).replace("_", " ")
    return f"the {str(window.get('kind', 'phase')).replace('_', ' ')}"


def phase_feedback_counts(windows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per phase label (the practice, or the phase kind), in first-seen order, how many
    windows had feedback shown, hidden and not recorded.

    Parameters
    ----------
    windows : iterable of dict
        Phase windows (``PhaseWindow.to_dict()``: ``kind``, ``practice``, ``feedback``) of
        every compared session.

    Returns
    -------
    list of dict
        ``{"label", "shown", "hidden", "not_recorded"}`` (counts of windows).
    """
    counts: dict[str, dict[str, Any]] = {}
    for window in windows:
        label = _window_label(window)
        entry = counts.setdefault(label, {"label": label, "shown": 0, "hidden": 0,
                                          "not_recorded": 0})
        feedback = window.get("feedback")
        entry[feedback if feedback in ("shown", "hidden") else "not_recorded"] += 1
    return list(counts.values())


def study_feedback_sentence(counts: Iterable[dict[str, Any]]) -> str:
    """:func:`feedback_sentence` of a study from :func:`phase_feedback_counts`."""
    pairs: list[tuple[str, str | None]] = []
    for entry in counts:
        for key, feedback in (("shown", "shown"), ("hidden", "hidden"),
                              ("not_recorded", None)):
            if entry.get(key):
                pairs.append((str(entry["label"]), feedback))
    return feedback_sentence(pairs)
