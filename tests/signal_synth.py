"""Deterministic synthetic chest-strap signals for the raw-signal store and export tests.

An ECG shaped beat by beat (P, Q, R, S and T waves as Gaussians, after McSharry et al. 2003,
IEEE Trans Biomed Eng 50:289) with RR variation, R amplitude modulated by breathing, baseline
wander and white noise, as a Polar H10 sends it (µV integers at ~130 Hz), and a chest
accelerometer (mG integers) with gravity, breathing motion and noise. Seeded: the same
arguments give the same integers, so their encoded size is a fixed number.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Beat, BeatBatch, PhaseSpan
from biofeedback.store import SessionStore

# (offset from the R peak s, amplitude uV, width s) of each wave.
_WAVES = ((-0.20, 120.0, 0.025), (-0.035, -150.0, 0.010), (0.0, 1300.0, 0.011),
          (0.035, -300.0, 0.011), (0.26, 330.0, 0.045))


def synthetic_ecg(duration_s: float, rate_hz: float = 130.0, *, seed: int = 1,
                  noise_uv: float = 12.0) -> npt.NDArray[np.int32]:
    """ECG samples, µV, shape ``(n, 1)``: ~65/min with 0.25-Hz breathing."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    breathing = np.sin(2 * np.pi * 0.25 * t)
    ecg = np.zeros(n)
    beat = 0.3
    while beat < duration_s + 0.5:
        lo, hi = np.searchsorted(t, [beat - 0.4, beat + 0.5])
        gain = 1.0 + 0.08 * np.sin(2 * np.pi * 0.25 * beat)
        for offset, amplitude, width in _WAVES:
            wave = np.exp(-0.5 * ((t[lo:hi] - beat - offset) / width) ** 2)
            ecg[lo:hi] += gain * amplitude * wave
        beat += 0.92 + 0.05 * np.sin(2 * np.pi * 0.25 * beat) + rng.normal(0.0, 0.02)
    ecg += 150.0 * breathing + 80.0 * np.sin(2 * np.pi * 0.03 * t) + rng.normal(0.0, noise_uv, n)
    return np.round(ecg).astype(np.int32)[:, None]


def synthetic_acc(duration_s: float, rate_hz: float = 200.0, *, seed: int = 2
                  ) -> npt.NDArray[np.int32]:
    """Chest accelerometer samples, mG, shape ``(n, 3)``: gravity mostly on z, breathing at
    0.25 Hz on x and z, sensor noise of a few mG."""
    rng = np.random.default_rng(seed)
    n = round(duration_s * rate_hz)
    t = np.arange(n) / rate_hz
    breathing = np.sin(2 * np.pi * 0.25 * t)
    x = 40.0 + 12.0 * breathing + rng.normal(0.0, 3.0, n)
    y = -120.0 + 2.0 * breathing + rng.normal(0.0, 3.0, n)
    z = 985.0 + 20.0 * breathing + rng.normal(0.0, 3.0, n)
    return np.round(np.stack([x, y, z], axis=1)).astype(np.int32)


def chunks_of(samples: npt.NDArray[np.int32], stream: str, unit: str, rate_hz: float,
              t0_s: float, per_chunk: int, first_index: int = 0, *,
              rate_jitter: float = 0.0) -> list[SignalChunk]:
    """``samples`` cut as a source hands them on: ``per_chunk`` rows a chunk (73 per PMD ECG
    frame), each placed at ``t0_s + index / rate_hz``. ``rate_jitter`` (relative, e.g. 1e-5)
    gives each chunk its own ``rate_hz`` around the true one, as a decoder that re-measures
    the rate at every frame does, while the first samples stay on the true grid."""
    rng = np.random.default_rng(7)
    return [SignalChunk(stream, t0_s + i / rate_hz,
                        rate_hz * (1.0 + rate_jitter * float(rng.standard_normal())),
                        samples[i:i + per_chunk], unit, first_index + i)
            for i in range(0, samples.shape[0], per_chunk)]


def recorded_with_signals(path: Path, duration_s: float = 8.0
                          ) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """A finished session in the SQLite file ``path``, written as a recording writes it: a
    beat of 900 ms per notification, a rest phase, and ``duration_s`` of ECG (130 Hz, in
    73-sample PMD frames from 0.1 s) and ACC (200 Hz, 36-sample frames from 0.2 s).

    Returns
    -------
    session_id, ecg, acc
        The session and the samples stored (``(n, 1)`` µV and ``(n, 3)`` mG).
    """
    ecg, acc = synthetic_ecg(duration_s), synthetic_acc(duration_s)
    with SessionStore(path) as store:
        sid = store.create_session(source="ble", participant_id="P01")
        for n in range(int(duration_s / 0.9)):
            t = round(0.9 * (n + 1), 6)
            store.append_notification(sid, n, BeatBatch(t, (Beat(900.0, t, t, True, n),),
                                                         66.7))
        store.add_phase(sid, PhaseSpan("rest", "Rest", "rest", 0.0, duration_s - 1.0))
        for chunk in chunks_of(ecg, "ecg", "uV", 130.0, 0.1, 73) + \
                chunks_of(acc, "acc", "mG", 200.0, 0.2, 36):
            store.append_signal(sid, chunk)
        store.finish_session(sid)
    return sid, ecg, acc
