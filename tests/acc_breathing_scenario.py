"""Test helpers: the virtual strap's chest ACC through a session of known breathing (rest
12/min, paced 6/min, a stressor with fast shallow breathing), and the true rate per span.

Used by tests/core/test_acc_breathing.py and benchmarks/acc_breathing.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.virtual.pmd_signals import BeatTrack, BreathingModel, ChestSignals, MovementBurst
from sensors.virtual.rr_source import SimulatedRRSource

FloatArray = npt.NDArray[np.float64]

PHASES: tuple[tuple[str, float, float], ...] = (("rest", 0.0, 300.0), ("paced", 300.0, 600.0),
                                                ("stressor", 600.0, 900.0))
"""Name, start s and end s of each phase of the scenario."""
CHEST_COUPLING_MG = np.array([2.0, 6.0, 25.0])
"""Breathing amplitude of the virtual strap's x, y, z (ChestSignals.acc_mg), mG per unit of
sin(phase): the stressor's shallow breathing removes part of it."""


def scenario_rate(t_s: FloatArray) -> FloatArray:
    """True breathing rate, breaths/min: rest 12, paced 6, stressor 18-22 (wandering)."""
    t = np.asarray(t_s, dtype=float)
    stress = 20.0 + 2.0 * np.sin(2.0 * math.pi * (t - 600.0) / 90.0)
    return np.where(t < 300.0, 12.0, np.where(t < 600.0, 6.0, stress))


@dataclass
class AccScenario:
    """ACC samples of the scenario and its ground truth."""

    times_s: FloatArray
    acc_mg: npt.NDArray[np.int32]
    breathing: BreathingModel
    bursts: list[MovementBurst]

    def true_rate(self, start_s: float, end_s: float) -> float:
        """Mean true breathing rate over a span, breaths/min (breath cycles / minutes)."""
        phase = self.breathing.phase(np.array([start_s, end_s]))
        return float((phase[1] - phase[0]) / (2.0 * math.pi) / (end_s - start_s) * 60.0)


def acc_scenario(
    seed: int = 0,
    rate_hz: float = 50.0,
    movement_per_min: float = 1.0,
    stressor_depth: float = 0.4,
    duration_s: float = 900.0,
) -> AccScenario:
    """The virtual strap's ACC (x, y, z, mG) through :data:`PHASES`.

    Parameters
    ----------
    seed : int
        Seed of the strap's noise and movement bursts.
    rate_hz : float
        ACC sampling rate, Hz (the H10 offers 25-200).
    movement_per_min : float
        Mean movement bursts per minute.
    stressor_depth : float
        Breathing amplitude during the stressor as a fraction of the strap's usual one
        (shallow breathing); the strap's noise stays as it is, so the signal-to-noise ratio
        falls with it.
    duration_s : float
        Length, s.
    """
    breathing = BreathingModel(scenario_rate)
    signals = ChestSignals(BeatTrack(SimulatedRRSource(seed)), breathing, seed=seed,
                           movement_per_min=movement_per_min)
    t = np.arange(0.0, duration_s, 1.0 / rate_hz)
    acc = signals.acc_mg(t)
    # ChestSignals has one breathing depth: take the shallow part off during the stressor.
    shallow = np.where(t >= PHASES[2][1], 1.0 - stressor_depth, 0.0) * np.sin(breathing.phase(t))
    acc = (acc - np.rint(shallow[:, None] * CHEST_COUPLING_MG)).astype(np.int32)
    return AccScenario(t, acc, breathing, signals.movement_bursts(duration_s))
