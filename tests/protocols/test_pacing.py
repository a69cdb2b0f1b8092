"""The breathing pacer's timing: the vectorized lung volume and its integral (what the audio
pacer follows) are :func:`pacer_state`'s, the one timing of the visual pacer."""

from __future__ import annotations

import numpy as np

from biofeedback.viewmodels import pacer as viewmodel_pacer
from protocols.model import PacerSettings
from protocols.pacing import pacer_state, pacer_volume_integral, pacer_volumes


def test_the_view_model_re_exports_the_one_implementation():
    assert viewmodel_pacer.pacer_state is pacer_state


def test_the_vectorized_volume_and_its_integral_are_pacer_state():
    pacer = PacerSettings(5.5, 0.7, hold_after_inhale_s=1.2, hold_after_exhale_s=0.8)
    t = np.linspace(-3.0, 40.0, 4001)
    assert np.allclose(pacer_volumes(pacer, t), [pacer_state(pacer, float(s)).volume
                                                 for s in t], atol=1e-9)
    grid = np.linspace(0.0, 40.0, 400_001)
    numeric = np.concatenate(([0.0], np.cumsum(
        0.5 * (pacer_volumes(pacer, grid[1:]) + pacer_volumes(pacer, grid[:-1])) * np.diff(grid))))
    assert np.allclose(pacer_volume_integral(pacer, grid), numeric, atol=1e-6)
