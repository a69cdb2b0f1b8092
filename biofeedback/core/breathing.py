"""Breathing rate from the spectrum of RR intervals (respiratory sinus arrhythmia).

Shared by the live indices and the per-phase analysis so both report the same estimate.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from biofeedback.core.hrv_indices import BREATHING_BAND_HZ, HF_BAND_HZ

FloatArray = npt.NDArray[np.float64]

__all__ = ["BREATHING_BAND_HZ", "RESPIRATORY_SPLIT_HZ", "SLOW_PEAK_DOMINANCE",
           "pick_breathing_peak"]

RESPIRATORY_SPLIT_HZ = HF_BAND_HZ[0]
"""Lower edge of HF (Task Force 1996): breathing at or above 9/min shows up above it."""

SLOW_PEAK_DOMINANCE = 20.0
"""A peak below 0.15 Hz is taken as breathing only when it is this many times higher than the
highest peak above 0.15 Hz. Our heuristic, not a published value. Slow breathing (about
6/min) moves RSA into LF and resonance inflates its peak by orders of magnitude (Vaschillo et
al. 2002; Lehrer et al. 2000): in our simulations the slow peak was 360-1800 x the highest
faster peak at 6-8 breaths/min, while at 12-18 breaths/min, even with RSA nearly abolished,
Mayer waves (~0.1 Hz) reached at most 11 x; in the PhysioNet nsr2db Holter windows
(ambulatory, breathing unknown) the ratio's median was 6.5 and its 90th percentile 16."""


def pick_breathing_peak(
    freq_hz: FloatArray,
    power: FloatArray,
    *,
    band_hz: tuple[float, float] = BREATHING_BAND_HZ,
    split_hz: float = RESPIRATORY_SPLIT_HZ,
    slow_dominance: float = SLOW_PEAK_DOMINANCE,
) -> float | None:
    """Breathing rate from an RR power spectrum, breaths/min.

    The highest local maximum above ``split_hz`` is the breathing peak unless the highest
    local maximum below it is ``slow_dominance`` times higher (slow or paced breathing). The
    chosen bin is refined by parabolic interpolation of the log power.

    Parameters
    ----------
    freq_hz : ndarray of float
        Uniform frequency grid, Hz.
    power : ndarray of float
        Power (any unit: only ratios and positions are used).
    band_hz : tuple of float
        Search band, Hz (default 0.05-0.5 Hz = 3-30 breaths/min).
    split_hz : float
        Boundary between slow and respiratory-band peaks, Hz (default 0.15, HF's lower edge).
    slow_dominance : float
        How much higher a slow peak must be to win (default 20, see
        :data:`SLOW_PEAK_DOMINANCE`).

    Returns
    -------
    float or None
        Breaths/min; None when the band holds no local maximum.
    """
    freq_hz = np.asarray(freq_hz, dtype=np.float64)
    power = np.asarray(power, dtype=np.float64)
    n = power.size
    if n < 3:
        return None
    inner = np.flatnonzero((freq_hz >= band_hz[0]) & (freq_hz <= band_hz[1]))
    inner = inner[(inner > 0) & (inner < n - 1)]
    if inner.size == 0:
        return None
    is_peak = (power[inner] > power[inner - 1]) & (power[inner] >= power[inner + 1])
    peaks = inner[is_peak & (power[inner] > 0)]
    if peaks.size == 0:
        return None
    fast = peaks[freq_hz[peaks] >= split_hz]
    slow = peaks[freq_hz[peaks] < split_hz]
    best_fast = int(fast[np.argmax(power[fast])]) if fast.size else None
    best_slow = int(slow[np.argmax(power[slow])]) if slow.size else None
    if best_fast is None:
        k = best_slow
    elif best_slow is None or power[best_slow] < slow_dominance * power[best_fast]:
        k = best_fast
    else:
        k = best_slow
    assert k is not None
    f = float(freq_hz[k])
    la, lb, lc = np.log(power[k - 1 : k + 2].clip(min=np.finfo(float).tiny))
    den = la - 2.0 * lb + lc
    if den < 0:
        f += 0.5 * (la - lc) / den * float(freq_hz[k + 1] - freq_hz[k])
    return 60.0 * f
