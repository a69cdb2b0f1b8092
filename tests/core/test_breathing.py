"""Breathing rate from the RR spectrum: respiratory peak unless a slow peak dominates."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.breathing import pick_breathing_peak


def spectrum(peaks: list[tuple[float, float]], width: float = 0.01) -> tuple[np.ndarray, ...]:
    freq = np.arange(0, 1.0, 0.002)
    power = np.full_like(freq, 1e-3)
    for f0, height in peaks:
        power += height * np.exp(-0.5 * ((freq - f0) / width) ** 2)
    return freq, power


def test_respiratory_peak_wins_over_a_taller_mayer_wave():
    # Stress: weak RSA at 15/min, Mayer wave at 0.1 Hz five times taller.
    f, p = spectrum([(0.1, 5.0), (0.25, 1.0)])
    assert pick_breathing_peak(f, p) == pytest.approx(15.0, abs=0.1)


def test_slow_breathing_peak_wins_when_it_dominates():
    f, p = spectrum([(0.1, 400.0), (0.25, 1.0)])
    assert pick_breathing_peak(f, p) == pytest.approx(6.0, abs=0.1)
    # The threshold is what decides: at 20x it is slow, just below it is not.
    f, p = spectrum([(0.1, 19.0), (0.25, 1.0)])
    assert pick_breathing_peak(f, p) == pytest.approx(15.0, abs=0.1)
    assert pick_breathing_peak(f, p, slow_dominance=10.0) == pytest.approx(6.0, abs=0.1)


def test_only_one_kind_of_peak():
    f, p = spectrum([(0.08, 3.0)])
    assert pick_breathing_peak(f, p) == pytest.approx(4.8, abs=0.1)
    f, p = spectrum([(0.3, 3.0)])
    assert pick_breathing_peak(f, p) == pytest.approx(18.0, abs=0.1)


def test_parabolic_refinement_between_bins():
    freq = np.arange(0, 1.0, 0.01)
    power = np.exp(-0.5 * ((freq - 0.2537) / 0.02) ** 2)
    assert pick_breathing_peak(freq, power) == pytest.approx(0.2537 * 60, abs=0.01)


def test_no_peak_in_band():
    freq = np.arange(0, 1.0, 0.01)
    assert pick_breathing_peak(freq, np.exp(-freq * 10)) is None
    assert pick_breathing_peak(freq[:2], np.ones(2)) is None
