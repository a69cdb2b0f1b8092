"""Simulated studies: seeded virtual participants with a known effect, for validation and
power analysis (see :mod:`biofeedback.simulation.study`)."""

from biofeedback.simulation.study import (
    DESIGNS,
    ParticipantTruth,
    SessionTruth,
    SimulatedStudy,
    SimulationSetupError,
    clean_ln_rmssd,
    simulate_study,
)

__all__ = [
    "DESIGNS",
    "ParticipantTruth",
    "SessionTruth",
    "SimulatedStudy",
    "SimulationSetupError",
    "clean_ln_rmssd",
    "simulate_study",
]
