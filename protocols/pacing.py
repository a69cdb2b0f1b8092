"""The breathing pacer as plain numbers: where in the breath a given time falls.

One implementation for everything that follows the breath: the animated pacer in the window
(through :mod:`biofeedback.viewmodels.pacer`), the audio pacer (:mod:`biofeedback.audio`) and
the protocol runner's ``PacerStage`` events all follow :func:`pacer_stages`,
so a stage shown on screen, heard, and recorded starts at the same session time, at any replay
or simulation speed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from protocols.model import PacerSettings

__all__ = [
    "STAGE_WORDS",
    "PacerState",
    "pacer_stages",
    "pacer_state",
    "pacer_volume_integral",
    "pacer_volumes",
]


def pacer_stages(pacer: PacerSettings) -> list[tuple[str, float]]:
    """The stages of one breath with their durations, s (zero-length holds left out)."""
    stages = [
        ("inhale", pacer.inhale_s),
        ("hold_in", pacer.hold_after_inhale_s),
        ("exhale", pacer.exhale_s),
        ("hold_out", pacer.hold_after_exhale_s),
    ]
    return [(name, d) for name, d in stages if d > 0]


STAGE_WORDS = {
    "inhale": "Breathe in",
    "hold_in": "Hold",
    "exhale": "Breathe out",
    "hold_out": "Hold",
}
"""What the pacer says during each stage (stage names as in :func:`pacer_stages`)."""


_EPS_S = 1e-9
"""Tolerance of stage boundaries, s."""


@dataclass(frozen=True, slots=True)
class PacerState:
    """The pacer at one moment.

    Attributes
    ----------
    stage : str
        ``inhale``, ``hold_in``, ``exhale`` or ``hold_out`` (names of
        :func:`pacer_stages`).
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


def _stage_table(settings: PacerSettings) -> tuple[list[str], np.ndarray, np.ndarray, float]:
    """Stage names, start times within the breath (s), durations (s) and the breath's
    integral of the volume (s)."""
    stages = pacer_stages(settings)
    names = [name for name, _ in stages]
    durations = np.array([d for _, d in stages], dtype=np.float64)
    starts = np.concatenate(([0.0], np.cumsum(durations)[:-1]))
    # Over a whole stage the eased volume averages 1/2 (inhale, exhale), 1 (hold_in) or 0.
    weight = {"inhale": 0.5, "exhale": 0.5, "hold_in": 1.0, "hold_out": 0.0}
    per_breath = float(sum(weight[n] * d for n, d in stages))
    return names, starts, durations, per_breath


def _locate(settings: PacerSettings, t_s: npt.ArrayLike
            ) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    # The same boundary rule as pacer_state: a time within _EPS_S of a boundary is on it.
    t = np.asarray(t_s, dtype=np.float64)
    names, starts, durations, per_breath = _stage_table(settings)
    period = settings.period_s
    breath = np.floor((t + _EPS_S) / period)
    into = np.clip(t - breath * period, 0.0, period)
    ends = starts + durations
    index = np.searchsorted(ends - _EPS_S, into, side="right")
    index = np.minimum(index, len(names) - 1)
    fraction = np.clip((into - starts[index]) / durations[index], 0.0, 1.0)
    return names, index, fraction, durations, breath, per_breath


def pacer_volumes(settings: PacerSettings, t_s: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """:attr:`PacerState.volume` at many times at once (what the audio pacer follows).

    Parameters
    ----------
    settings : PacerSettings
        Rate (breaths/min), inhale:exhale ratio and holds (s).
    t_s : array_like
        Times since the start of the first inhale, s.

    Returns
    -------
    numpy.ndarray
        Lung volume 0..1 at each time, equal to ``pacer_state(settings, t).volume``.
    """
    names, index, fraction, _, _, _ = _locate(settings, t_s)
    rising = 0.5 - 0.5 * np.cos(np.pi * fraction)
    kinds = np.array([("inhale", "hold_in", "exhale", "hold_out").index(n) for n in names])
    kind = kinds[index]
    return np.select([kind == 0, kind == 1, kind == 2], [rising, 1.0, 1.0 - rising], 0.0)


def pacer_volume_integral(settings: PacerSettings, t_s: npt.ArrayLike
                          ) -> npt.NDArray[np.float64]:
    """The integral of the lung volume from the pacer's start to ``t_s``, s.

    A tone whose frequency is ``f0 + df * volume`` has the phase
    ``2 pi (f0 t + df * integral)``: computed in closed form, so a span rendered alone
    continues the one before it without a click.

    Parameters
    ----------
    settings : PacerSettings
        Rate (breaths/min), inhale:exhale ratio and holds (s).
    t_s : array_like
        Times since the start of the first inhale, s (>= 0).
    """
    names, index, fraction, durations, breath, per_breath = _locate(settings, t_s)
    kinds = np.array([("inhale", "hold_in", "exhale", "hold_out").index(n) for n in names])
    weight = np.array([{0: 0.5, 1: 1.0, 2: 0.5, 3: 0.0}[int(k)] for k in kinds])
    done_before = np.concatenate(([0.0], np.cumsum(weight * durations)[:-1]))
    kind = kinds[index]
    d = durations[index]
    x = fraction
    wave = np.sin(np.pi * x) / (2.0 * np.pi)
    # Within the stage: the integral of 0.5 - 0.5 cos(pi x) over [0, x] is x/2 - sin(pi x)/2pi.
    within = np.select(
        [kind == 0, kind == 1, kind == 2],
        [d * (x / 2.0 - wave), d * x, d * (x / 2.0 + wave)],
        0.0,
    )
    return np.asarray(breath * per_breath + done_before[index] + within, dtype=np.float64)
