"""What the simulated strap's physiology does in each phase of a protocol.

A simulated session should look like a real one: a stressor lowers vagal tone and raises heart
rate, a practice breathes at its pacer rate (or its expected rate), recovery comes back part of
the way. These are simulation defaults chosen to be plausible, not findings; the comparison of
practices is what the app measures, never what the simulator assumes (the self-soothing and
attention defaults are deliberately close).
"""

from __future__ import annotations

from typing import Final

from protocols.model import Phase, PhaseKind, PracticeProtocol, ProtocolCategory
from sensors.simulated.physiology import PhysiologySegment

REST_BREATHS_PER_MIN: Final = 12.0
"""Spontaneous breathing at rest, breaths/min (adult norm about 12-16)."""

VAGAL_LEVEL_BY_KIND: Final = {
    PhaseKind.BASELINE: 0.5,
    PhaseKind.REST: 0.5,
    PhaseKind.SELF_REPORT: 0.5,
    PhaseKind.STRESSOR: 0.3,
    PhaseKind.RECOVERY: 0.45,
    PhaseKind.PRACTICE: 0.55,
}
"""Vagal level (the simulator's 0..1 scale, 0.5 = seated rest) per phase kind."""

VAGAL_LEVEL_BY_CATEGORY: Final = {
    ProtocolCategory.SELF_SOOTHING: 0.56,
    ProtocolCategory.ATTENTION: 0.54,
    ProtocolCategory.BREATHING: 0.58,
}
"""Practice phases by category (a small, equal-sized lift; see the module docstring)."""


def phase_conditions(phase: Phase) -> dict[str, float]:
    """Breathing rate (breaths/min) and vagal level the simulator uses during ``phase``."""
    if phase.pacer is not None:
        breathing = phase.pacer.breaths_per_min
    elif phase.expected_breaths_per_min is not None:
        breathing = phase.expected_breaths_per_min
    else:
        breathing = REST_BREATHS_PER_MIN
    vagal = VAGAL_LEVEL_BY_KIND.get(phase.kind, 0.5)
    if phase.kind is PhaseKind.PRACTICE and phase.category is not None:
        vagal = VAGAL_LEVEL_BY_CATEGORY.get(phase.category, vagal)
    return {"breaths_per_min": float(breathing), "vagal_level": float(vagal)}


def physiology_schedule(
    protocol: PracticeProtocol, start_s: float = 0.0
) -> list[PhysiologySegment]:
    """The simulator's schedule for running ``protocol`` from ``start_s`` without pauses.

    Computed up front so a simulated session is the same at any speed (a change requested
    while running would land a few notifications late at maximum speed).
    """
    segments, t = [], start_s
    for phase in protocol.phases:
        segments.append(PhysiologySegment(start_s=t, **phase_conditions(phase)))
        t += phase.duration_s
    return segments
