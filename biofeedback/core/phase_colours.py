"""Shading colour of each phase kind: one table for the window's plots and the figures."""

from __future__ import annotations

__all__ = ["PHASE_ALPHA", "PHASE_COLOURS", "phase_colour"]

PHASE_COLOURS: dict[str, str] = {
    "baseline": "#7f8c9a",
    "stressor": "#e0524a",
    "practice": "#34a86b",
    "recovery": "#3a8ee6",
    "rest": "#a0a0a0",
    "self_report": "#e0b030",
}
"""Shading colour of each phase kind (drawn translucent)."""

PHASE_ALPHA = 46
"""Opacity of the shading, 0-255 (light enough that the curves over it keep their contrast)."""

_OTHER = "#a0a0a0"


def phase_colour(kind: str) -> str:
    """The shading colour of a phase kind (grey for a kind without its own), ``#rrggbb``."""
    return PHASE_COLOURS.get(kind, _OTHER)
