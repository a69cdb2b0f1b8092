"""The breathing pacer as plain numbers: where in the breath a given time falls.

The animated pacer in the window and the protocol runner's ``PacerStage`` events both follow
:func:`protocols.runner.pacer_stages`, so a stage shown on screen starts at the same session
time as the runner's event for it, at any replay or simulation speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from biofeedback.core.errors import BiofeedbackError
from protocols.loader import validate_pacer
from protocols.model import PacerSettings
from protocols.runner import pacer_stages

__all__ = [
    "STAGE_WORDS",
    "PacerSettingsError",
    "PacerState",
    "describe_pacer",
    "free_practice_pacer",
    "pacer_state",
]

STAGE_WORDS = {
    "inhale": "Breathe in",
    "hold_in": "Hold",
    "exhale": "Breathe out",
    "hold_out": "Hold",
}
"""What the pacer says during each stage (stage names as in :func:`pacer_stages`)."""


_EPS_S = 1e-9
"""Tolerance of stage boundaries, s."""


class PacerSettingsError(BiofeedbackError, ValueError):
    """A free-practice pacer that cannot be used (rate or ratio out of range)."""


@dataclass(frozen=True, slots=True)
class PacerState:
    """The pacer at one moment.

    Attributes
    ----------
    stage : str
        ``inhale``, ``hold_in``, ``exhale`` or ``hold_out`` (names of
        :func:`protocols.runner.pacer_stages`).
    fraction : float
        Share of the stage done, 0..1.
    volume : float
        "Lung volume", 0 (empty, end of exhale) .. 1 (full, end of inhale): half-cosine
        easing within inhale and exhale, flat during holds.
    stage_s : float
        Length of the stage, s.
    remaining_s : float
        Time left in the stage, s.
    breath : int
        Number of the breath, 0 for the first one (negative before the pacer's start).
    t_s : float
        Pacer time the state is for, s since the start of the first breath.
    """

    stage: str
    fraction: float
    volume: float
    stage_s: float
    remaining_s: float
    breath: int
    t_s: float

    @property
    def words(self) -> str:
        """What to show: "Breathe in", "Hold" or "Breathe out"."""
        return STAGE_WORDS[self.stage]


def _eased_volume(stage: str, fraction: float) -> float:
    # Half-cosine easing: the ball starts and ends each movement at rest, as breathing does.
    rising = 0.5 - 0.5 * math.cos(math.pi * fraction)
    if stage == "inhale":
        return rising
    if stage == "exhale":
        return 1.0 - rising
    return 1.0 if stage == "hold_in" else 0.0


def pacer_state(settings: PacerSettings, t_s: float) -> PacerState:
    """Where ``t_s`` seconds after the pacer's start falls in the breath.

    Parameters
    ----------
    settings : PacerSettings
        Rate (breaths/min), inhale:exhale ratio and holds (s).
    t_s : float
        Time since the start of the first inhale, s (periodic: any value works).

    Returns
    -------
    PacerState
        Stage, fraction of it done, lung volume 0..1, seconds left in the stage and breath
        number. A stage boundary belongs to the stage that starts there, as in the runner.
    """
    stages = pacer_stages(settings)
    period = settings.period_s
    # Stage ends are sums of float durations (here and in the runner): a time within
    # _EPS_S of a boundary counts as on it, so both sides agree on which stage has begun.
    breath = math.floor((t_s + _EPS_S) / period)
    into = min(max(0.0, t_s - breath * period), period)
    start = 0.0
    for i, (name, duration) in enumerate(stages):
        end = start + duration
        if into < end - _EPS_S or i == len(stages) - 1:
            fraction = min(1.0, max(0.0, (into - start) / duration))
            return PacerState(
                stage=name,
                fraction=fraction,
                volume=_eased_volume(name, fraction),
                stage_s=duration,
                remaining_s=max(0.0, end - into),
                breath=breath,
                t_s=t_s,
            )
        start = end
    raise AssertionError("unreachable: pacer_stages is never empty")  # pragma: no cover


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
