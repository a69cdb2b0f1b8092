"""The synthesized sounds of the guidance: chimes, a bell and the audio breathing pacer.

Calm sounds with a short attack, so that the onset a listener hears (and a test finds) is the
scheduled time: every struck sound starts at full slope within :data:`ATTACK_S` and decays
exponentially. Everything is float32 mono at the caller's sample rate, peak well below 1 so
that a few overlapping cues do not clip.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from protocols.model import PacerSettings
from protocols.pacing import pacer_volume_integral, pacer_volumes

__all__ = [
    "ATTACK_S",
    "BREATH_LEVEL",
    "TONE_HIGH_HZ",
    "TONE_LEVEL",
    "TONE_LOW_HZ",
    "bell",
    "breath_noise",
    "chime",
    "pacer_breath",
    "pacer_tone",
]

Samples = npt.NDArray[np.float32]

ATTACK_S = 0.004
"""Rise time of struck sounds, s (sharp enough to place the onset within a millisecond)."""

TONE_LOW_HZ = 196.0
"""Pitch of the pacer tone with empty lungs (end of exhale), Hz (G3)."""

TONE_HIGH_HZ = 293.7
"""Pitch of the pacer tone with full lungs (end of inhale), Hz (D4: a fifth above)."""

TONE_LEVEL = 0.12
"""Peak level of the pacer tone (quiet under the voice)."""

BREATH_LEVEL = 0.25
"""Peak level of the breath-like pacer noise (at full lungs)."""

_NOISE_LOOP_S = 7.3
"""Length of the looped breath noise, s (not a multiple of usual breath periods)."""


def _struck(partials: list[tuple[float, float, float]], duration_s: float,
            sample_rate: int) -> Samples:
    """Sum of decaying sines ``(frequency Hz, amplitude, decay time constant s)`` with a
    linear attack of :data:`ATTACK_S` and a 50 ms fade at the end."""
    n = round(duration_s * sample_rate)
    t = np.arange(n, dtype=np.float64) / sample_rate
    out = np.zeros(n, dtype=np.float64)
    for freq, amp, decay in partials:
        if freq < sample_rate / 2:
            out += amp * np.exp(-t / decay) * np.sin(2 * np.pi * freq * t)
    attack = np.minimum(1.0, t / ATTACK_S)
    fade = np.clip((duration_s - t) / 0.05, 0.0, 1.0)
    return np.asarray(out * attack * fade, dtype=np.float32)


def chime(sample_rate: int, *, soft: bool = False) -> Samples:
    """A phase chime: a bright struck tone (E5 with a few harmonics), 2.5 s.

    ``soft=True`` gives the phase-end chime: a fourth lower, at half the level.
    """
    f0, level = (587.3, 0.18) if soft else (784.0, 0.36)
    partials = [(f0, 1.0, 0.55), (2.0 * f0, 0.35, 0.3), (3.0 * f0, 0.12, 0.18),
                (4.2 * f0, 0.05, 0.1)]
    return _struck([(f, a * level, d) for f, a, d in partials], 2.5, sample_rate)


def bell(sample_rate: int) -> Samples:
    """The halfway bell: the inharmonic partials of a tuned bell (hum, prime, minor third,
    fifth, nominal...) on A4, the low ones ringing longest, 5 s."""
    f0 = 440.0
    # Partial ratios of a tuned church bell (hum 0.5, prime 1, tierce 1.2, quint 1.5,
    # nominal 2, then the upper partials), as tabulated in bell acoustics (Rossing 2000).
    ratios = [(0.5, 0.5, 2.0), (1.0, 0.8, 1.4), (1.183, 0.45, 1.0), (1.506, 0.3, 0.8),
              (2.0, 0.6, 0.7), (2.514, 0.25, 0.45), (2.662, 0.2, 0.4), (3.011, 0.15, 0.3),
              (4.166, 0.08, 0.2)]
    return _struck([(f0 * r, 0.12 * a, d) for r, a, d in ratios], 5.0, sample_rate)


def pacer_tone(settings: PacerSettings, tau_s: npt.NDArray[np.float64]) -> Samples:
    """The pacer tone at pacer times ``tau_s`` (s since the first inhale): its pitch follows
    the lung volume of :func:`protocols.pacing.pacer_volumes` from :data:`TONE_LOW_HZ` (empty)
    to :data:`TONE_HIGH_HZ` (full), with a soft octave for warmth.

    The phase is computed in closed form from the volume's integral, so any span of times
    joins the span before it without a click.
    """
    span = TONE_HIGH_HZ - TONE_LOW_HZ
    phase = 2 * np.pi * (TONE_LOW_HZ * tau_s + span * pacer_volume_integral(settings, tau_s))
    wave = np.sin(phase) + 0.2 * np.sin(2 * phase)
    return np.asarray(TONE_LEVEL / 1.2 * wave, dtype=np.float32)


def breath_noise(sample_rate: int) -> Samples:
    """A loop of soft, breath-like noise (250-2500 Hz, fixed seed), unit RMS.

    Shaped in the frequency domain of the loop itself, so it repeats without a seam.
    """
    n = round(_NOISE_LOOP_S * sample_rate)
    rng = np.random.default_rng(20260315)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    high = min(2500.0, 0.45 * sample_rate)
    # Smooth band edges (raised-cosine over an octave each side), a gentle tilt towards the
    # low end as breath has.
    lo_edge = np.clip(np.log2(np.maximum(freqs, 1.0) / 125.0), 0.0, 1.0)
    hi_edge = np.clip(np.log2(2.0 * high / np.maximum(freqs, 1.0)), 0.0, 1.0)
    gain = (0.5 - 0.5 * np.cos(np.pi * lo_edge)) * (0.5 - 0.5 * np.cos(np.pi * hi_edge))
    gain /= np.sqrt(np.maximum(freqs, 250.0) / 250.0)
    shaped = np.fft.irfft(spectrum * gain, n)
    return np.asarray(shaped / np.sqrt(np.mean(shaped**2)), dtype=np.float32)


def pacer_breath(settings: PacerSettings, tau_s: npt.NDArray[np.float64],
                 frames: npt.NDArray[np.int64], loop: Samples) -> Samples:
    """The breath-like pacer at pacer times ``tau_s``: the noise ``loop`` (read at the
    absolute sample numbers ``frames``, so re-rendering a span gives the same sound) with a
    loudness following the lung volume (loudest with full lungs, silent when empty)."""
    volume = pacer_volumes(settings, tau_s)
    noise = loop[np.mod(frames, len(loop))]
    return np.asarray(BREATH_LEVEL / 4.0 * volume * noise, dtype=np.float32)
