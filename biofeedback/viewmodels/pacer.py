"""The breathing pacer as plain numbers: where in the breath a given time falls.

The pure timing (:func:`pacer_state`, :class:`PacerState`) lives in :mod:`protocols.pacing`,
shared with the audio pacer so what is seen and what is heard cannot drift apart; it is
re-exported here with the free-practice helpers of the window.
"""

from __future__ import annotations

from biofeedback.core.errors import BiofeedbackError
from protocols.loader import validate_pacer
from protocols.model import PacerSettings
from protocols.pacing import STAGE_WORDS, PacerState, pacer_state

__all__ = [
    "STAGE_WORDS",
    "PacerSettingsError",
    "PacerState",
    "describe_pacer",
    "free_practice_pacer",
    "pacer_state",
]


class PacerSettingsError(BiofeedbackError, ValueError):
    """A free-practice pacer that cannot be used (rate or ratio out of range)."""


def free_practice_pacer(
    breaths_per_min: float,
    ie_ratio: float = 1 / 1.5,
    hold_after_inhale_s: float = 0.0,
    hold_after_exhale_s: float = 0.0,
) -> PacerSettings:
    """The pacer of free practice, from the user's rate and inhale:exhale ratio.

    Parameters
    ----------
    breaths_per_min : float
        Breathing rate, breaths/min (2-30, as protocol files).
    ie_ratio : float
        Inhale time / exhale time (0.67 = 4 s in, 6 s out at 6/min).
    hold_after_inhale_s, hold_after_exhale_s : float
        Pauses, s, within the breath period.

    Raises
    ------
    PacerSettingsError
        The rate, ratio or holds cannot make a breath; the message says why.
    """
    for name, value in (("rate", breaths_per_min), ("inhale:exhale ratio", ie_ratio)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PacerSettingsError(f"the pacer's {name} must be a number, not {value!r}")
    pacer = PacerSettings(
        breaths_per_min=float(breaths_per_min),
        inhale_exhale_ratio=float(ie_ratio),
        hold_after_inhale_s=float(hold_after_inhale_s),
        hold_after_exhale_s=float(hold_after_exhale_s),
    )
    problem = validate_pacer(pacer)
    if problem:
        raise PacerSettingsError(f"Pacer: {problem}")
    return pacer


def describe_pacer(settings: PacerSettings) -> str:
    """One line for the pacer's caption: ``"6.0 /min · in 4.0 s · out 6.0 s"`` (holds added
    when there are any)."""
    parts = [
        f"{settings.breaths_per_min:.1f} /min",
        f"in {settings.inhale_s:.1f} s",
    ]
    if settings.hold_after_inhale_s > 0:
        parts.append(f"hold {settings.hold_after_inhale_s:.1f} s")
    parts.append(f"out {settings.exhale_s:.1f} s")
    if settings.hold_after_exhale_s > 0:
        parts.append(f"hold {settings.hold_after_exhale_s:.1f} s")
    return " · ".join(parts)
