"""What the guidance shows, as plain data: the page of a phase, whether the participant may see
their physiology, and the sentences the operator's panel mirrors from the participant screen.

The operator's guidance panel and the participant screen (:mod:`biofeedback.ui.guidance_panel`,
:mod:`biofeedback.ui.participant_screen`) both draw these, so the two cannot disagree about
which page a phase shows or when feedback is hidden.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from protocols.model import FeedbackVisibility, Phase, PhaseKind

__all__ = [
    "FEEDBACK_HIDDEN_TITLE",
    "FINISHED_TEXT",
    "PEEK_KEY_NAME",
    "WAITING_TEXT",
    "GuidancePage",
    "feedback_hidden_hint",
    "feedback_visible",
    "page_for",
    "self_report_progress",
    "stressor_progress",
]

PEEK_KEY_NAME = "F9"
"""The key the operator holds to look at the physiology of a hidden-feedback phase (no
shortcut of the window uses it; Qt's key name without ``Key_``)."""

FEEDBACK_HIDDEN_TITLE = "Feedback is hidden during this phase"
"""Heading of the panel that covers the physiology of a hidden-feedback phase."""

WAITING_TEXT = "Please wait. The next part will begin shortly."
"""What the participant screen says between phases and before the protocol starts."""

FINISHED_TEXT = "The session is over. Thank you."
"""What the participant screen says once the protocol has ended."""


class GuidancePage(enum.IntEnum):
    """What the body of a guidance view shows during a phase (the values are the pages'
    indices in the operator's guidance panel)."""

    PACER = 0
    STRESSOR = 1
    SELF_REPORT = 2
    NATURAL = 3


def page_for(phase: Phase) -> GuidancePage:
    """The page shown during ``phase``.

    Parameters
    ----------
    phase : Phase
        The running phase.

    Returns
    -------
    GuidancePage
        Self-report questions (a self-report phase with items), the serial-subtraction task (a
        stressor phase running it), the pacer (a phase with one), or "breathe naturally".
    """
    if phase.kind is PhaseKind.SELF_REPORT and phase.self_report:
        return GuidancePage.SELF_REPORT
    if phase.kind is PhaseKind.STRESSOR and phase.stressor is not None and (
        phase.stressor.task == "serial_subtraction"
    ):
        return GuidancePage.STRESSOR
    if phase.pacer is not None:
        return GuidancePage.PACER
    return GuidancePage.NATURAL


def feedback_visible(
    phase: Phase | None, participant_screen_open: bool, operator_peeking: bool
) -> bool:
    """Whether the operator window shows the physiology (values, plots, spectrum) now.

    Parameters
    ----------
    phase : Phase or None
        The running phase (None: free practice, or no phase running).
    participant_screen_open : bool
        A participant screen is open: the participant looks there (it never shows physiology),
        so the operator window always shows it.
    operator_peeking : bool
        The operator holds the peek key (:data:`PEEK_KEY_NAME`).

    Returns
    -------
    bool
        False only in a phase whose feedback is hidden, on a window the participant shares
        with the operator, while the operator does not hold the key.
    """
    if phase is None or phase.feedback is FeedbackVisibility.SHOWN:
        return True
    return participant_screen_open or operator_peeking


def feedback_hidden_hint(key_name: str = PEEK_KEY_NAME) -> str:
    """The line under :data:`FEEDBACK_HIDDEN_TITLE`: why, and how the operator can look."""
    return (
        "The participant does not see heart rate or HRV now (the recording goes on). "
        f"Operator: hold {key_name} to look."
    )


def self_report_progress(answered: int, total: int, submitted: bool) -> str:
    """What the operator's panel says while the participant answers the questions elsewhere.

    Parameters
    ----------
    answered : int
        Questions the participant has answered so far.
    total : int
        Questions of the phase.
    submitted : bool
        The answers were accepted (stored).

    Returns
    -------
    str
        E.g. ``"Answering on the participant screen: question 2 of 4"``.
    """
    if submitted:
        return "The participant submitted the answers on the participant screen."
    if total > 0 and answered >= total:
        return (f"Answering on the participant screen: all {total} questions answered, "
                "not yet submitted")
    return f"Answering on the participant screen: question {answered + 1} of {total}"


def stressor_progress(summary: Mapping[str, object] | None) -> str:
    """What the operator's panel says while the participant does the task elsewhere.

    Parameters
    ----------
    summary : mapping or None
        :meth:`protocols.stressor.SerialSubtractionTask.summary` of the running task (None
        before it starts).

    Returns
    -------
    str
        E.g. ``"Answering on the participant screen: 4 answers, 3 correct, 1 error"``.
    """
    if summary is None:
        return "The task runs on the participant screen."
    answers, correct, errors = (summary.get(k, 0) for k in ("answers", "correct", "errors"))
    plural = "" if errors == 1 else "s"
    return (f"Answering on the participant screen: {answers} answers, {correct} correct, "
            f"{errors} error{plural}")
