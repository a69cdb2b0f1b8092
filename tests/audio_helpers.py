"""Set-up and signal processing shared by the audio tests.

``write_guidance`` writes a recording with tone bursts at known times; ``write_protocol``
a short protocol using it; ``detect_onsets`` finds where sounds start in rendered samples by
their energy (never by reading the schedule back); ``level_crossings`` and
``tone_volume`` recover the audio pacer's breath from its pitch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.core.types import MarkerKind
from biofeedback.session.live_session import LiveSession
from protocols.model import PracticeProtocol
from protocols.runner import ProtocolRunner
from sensors.simulated import SimulatedStrap

BURSTS_S = (0.5, 1.3)
"""Onsets of the tone bursts in the guidance recording, s into the file."""

GUIDANCE_S = 2.0
"""Length of the guidance recording, s."""

PROTOCOL_TOML = """
id = "audio_test"
name = "Audio test"
category = "neutral"
description = "Phases of a few seconds with every kind of cue."

[[phases]]
id = "settle"
name = "Settle"
kind = "baseline"
duration_s = 4
instructions = "Sit still."
[phases.cues]
halfway_bell = true

[[phases]]
id = "guided"
name = "Guided"
kind = "rest"
duration = "audio"
audio = "{audio}"
[phases.cues]
chimes = false

[[phases]]
id = "spoken"
name = "Spoken"
kind = "rest"
duration_s = 5
instructions = "Rest."
[phases.cues]
speak_prompts = true
[[phases.prompts]]
at_s = 2.5
text = "Rest now."
spoken = "Now rest your eyes."
"""
"""Settle 0-4 s (chime 0, bell 2, its end chime 4: no start chime follows), guided 4-6 s
(recording bursts at 4.5 and 5.3, no chimes), spoken 6-11 s (chime 6, prompt 8.5 once the
chime has died away, end chime 11)."""

EXPECTED_ONSETS_S = (0.0, 2.0, 4.0, 4.5, 5.3, 6.0, 8.5, 11.0)
"""Where :data:`PROTOCOL_TOML`'s sounds start, from its own numbers (s)."""


def write_guidance(path: Path, sample_rate: int = 22050) -> Path:
    """A ``GUIDANCE_S`` recording (any suffix soundfile writes) of 1 kHz bursts at
    :data:`BURSTS_S`, each with a 2 ms rise."""
    import soundfile

    x = np.zeros(int(GUIDANCE_S * sample_rate))
    n = int(0.25 * sample_rate)
    t = np.arange(n) / sample_rate
    burst = 0.4 * np.sin(2 * np.pi * 1000 * t) * np.exp(-t / 0.08) * np.minimum(1, t / 0.002)
    for at in BURSTS_S:
        i = round(at * sample_rate)
        x[i:i + n] += burst
    soundfile.write(str(path), x, sample_rate)
    return path


def write_protocol(folder: Path, suffix: str = ".flac") -> Path:
    """:data:`PROTOCOL_TOML` and its guidance recording (``guidance<suffix>``) in ``folder``."""
    write_guidance(folder / f"guidance{suffix}")
    path = folder / "audio_test.toml"
    path.write_text(PROTOCOL_TOML.replace("{audio}", f"guidance{suffix}"), encoding="utf-8")
    return path


def manual_runner(protocol: PracticeProtocol) -> tuple[ProtocolRunner, LiveSession]:
    """A runner recording into a (not running, unstored) live session, ticked by the test."""
    session = LiveSession(SimulatedStrap(seed=1, speed=None, duration_s=600.0), neurokit=False)
    return ProtocolRunner(protocol, session), session


def audio_markers(session_markers: list) -> list:
    """The markers of kind audio among ``session_markers``."""
    return [m for m in session_markers if m.kind is MarkerKind.AUDIO]


def detect_onsets(x: npt.NDArray[np.floating], sample_rate: int, *, ratio: float = 3.0,
                  floor: float = 1e-3, gap_s: float = 0.25) -> list[float]:
    """Times (s) where a sound starts, from the signal alone.

    The amplitude envelope (magnitude of the analytic signal, averaged over 4 ms) is read
    every millisecond; a millisecond is loud when its envelope is ``ratio`` times the median
    of the 20-100 ms before it (and above ``floor``). An onset is a loud millisecond with no
    loud one in the ``gap_s`` before it (the syllables of one utterance are one sound),
    taken back to where its rise began: the first millisecond of the 20 ms up to it whose
    envelope was a fifth louder than that background (and above ``floor``). The rise
    matters when a sound starts over another's tail: a voice over a fading chime passes
    ``ratio`` times the tail only at its first loud syllable, some 15 ms in.
    """
    from scipy.signal import hilbert

    envelope = np.abs(hilbert(np.asarray(x, dtype=np.float64)))
    width = max(1, round(0.004 * sample_rate))
    smooth = np.convolve(envelope, np.ones(width) / width, mode="same")
    step = max(1, round(0.001 * sample_rate))
    env = smooth[::step]
    onsets: list[float] = []
    last_loud = -np.inf
    for k in range(len(env)):
        before = env[max(0, k - 100): max(0, k - 20)]
        background = float(np.median(before)) if len(before) else 0.0
        if env[k] > floor and env[k] > ratio * background:
            t = k * step / sample_rate
            if t - last_loud > gap_s:
                rising = env[max(0, k - 20): k + 1] > max(floor, 1.2 * background)
                onsets.append((k - len(rising) + 1 + int(np.argmax(rising))) * step
                              / sample_rate)
            last_loud = t
    return onsets


def tone_frequency(x: npt.NDArray[np.floating], sample_rate: int, hop_s: float = 0.01,
                   lowpass_hz: float | None = None
                   ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Times (s) and the instantaneous frequency (Hz) of a single tone, from the phase of
    its analytic signal, averaged over ``hop_s`` steps (``lowpass_hz``: the tone's overtones
    removed first, zero-phase)."""
    from scipy.signal import butter, hilbert, sosfiltfilt

    y = np.asarray(x, dtype=np.float64)
    if lowpass_hz is not None:
        y = sosfiltfilt(butter(8, lowpass_hz, fs=sample_rate, output="sos"), y)
    phase = np.unwrap(np.angle(hilbert(y)))
    hop = round(hop_s * sample_rate)
    idx = np.arange(hop, len(x) - hop, hop)
    freq = (phase[idx + hop // 2] - phase[idx - hop // 2]) / (2 * np.pi) * sample_rate / (
        2 * (hop // 2))
    return idx / sample_rate, freq


def level_crossings(t: npt.NDArray[np.float64], y: npt.NDArray[np.float64], level: float,
                    rising: bool) -> npt.NDArray[np.float64]:
    """Times where ``y`` crosses ``level`` upwards (``rising``) or downwards, interpolated."""
    above = y >= level
    k = np.flatnonzero(above[1:] & ~above[:-1]) if rising else np.flatnonzero(
        ~above[1:] & above[:-1])
    frac = (level - y[k]) / (y[k + 1] - y[k])
    return t[k] + frac * (t[k + 1] - t[k])
