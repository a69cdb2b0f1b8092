"""Every publication figure by name: what it shows, what it draws from, how to draw it.

Importing this module loads no matplotlib: ``biofeedback plot --list`` and the command
line's parser name the figures without it; :func:`draw` imports the one module it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from biofeedback.analysis.windows import TrajectoryBin
    from biofeedback.core.recording import Recording

__all__ = ["FIGURES", "FigureSpec", "Scope", "SessionResults", "describe", "draw", "figure_names"]

Scope = Literal["session", "study"]


@dataclass(frozen=True, slots=True)
class SessionResults:
    """What a session's figures draw from (the session report computes the same).

    Attributes
    ----------
    recording : Recording
        Beats, phases and markers.
    analysis : dict
        ``AnalysisResult.to_dict()`` of the per-phase analysis.
    bins : list of TrajectoryBin
        The HR and lnRMSSD trajectory bins.
    """

    recording: Recording
    analysis: dict[str, Any]
    bins: list[TrajectoryBin]


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """One figure: its name, whether it draws a session or a study, and what it shows."""

    name: str
    scope: Scope
    description: str
    module: str
    function: str


FIGURES: dict[str, FigureSpec] = {s.name: s for s in (
    FigureSpec("tachogram", "session", "RR intervals over time, phases shaded, markers",
               "session", "tachogram"),
    FigureSpec("trajectories", "session", "heart rate and lnRMSSD per 1-min bin",
               "session", "trajectories"),
    FigureSpec("phase-indices", "session", "heart rate, lnRMSSD and breathing per phase",
               "session", "phase_indices"),
    FigureSpec("forest", "study", "d_z of every contrast with its CI, mean differences",
               "contrasts", "forest"),
    FigureSpec("phase-values", "study", "each practice's mean change with its CI",
               "contrasts", "phase_values"),
    FigureSpec("paired", "study", "each participant's Δ lnRMSSD, self-soothing vs attention",
               "contrasts", "paired_changes"),
    FigureSpec("breathing", "study", "the breathing check: rates per participant and category",
               "contrasts", "breathing_check"),
    FigureSpec("trends", "study", "baseline lnRMSSD and practice responses over sessions",
               "course", "trends"),
    FigureSpec("reactivity", "study", "baseline, stressor and recovery per session",
               "course", "reactivity"),
)}
"""Figure name -> spec, in the order the reports show them."""


def figure_names(scope: Scope) -> list[str]:
    """The names of the session's or the study's figures, in report order."""
    return [name for name, spec in FIGURES.items() if spec.scope == scope]


def draw(name: str, results: SessionResults | dict[str, Any], *,
         width_mm: float = 85.0) -> Figure:
    """Draw figure ``name`` from a session's results or a comparison result.

    Raises
    ------
    KeyError
        No figure is called ``name``.
    NothingToDrawError
        The results hold nothing this figure shows (the message says what).
    """
    spec = FIGURES[name]
    function = getattr(importlib.import_module(f"biofeedback.figures.{spec.module}"),
                       spec.function)
    if spec.scope == "study":
        return function(results, width_mm=width_mm)
    assert isinstance(results, SessionResults)
    if name == "tachogram":
        return function(results.recording, width_mm=width_mm)
    if name == "trajectories":
        return function(results.bins, results.recording,
                        width_mm=width_mm)
    return function(results.analysis["phases"], width_mm=width_mm)


def describe(scope: Scope | None = None) -> Sequence[str]:
    """``name  scope  description`` lines for ``--list``."""
    width = max(len(n) for n in FIGURES)
    return [f"{s.name:<{width}}  {s.scope:<7}  {s.description}" for s in FIGURES.values()
            if scope is None or s.scope == scope]
