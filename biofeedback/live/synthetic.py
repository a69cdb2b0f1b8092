"""Synthetic RR series with respiratory sinus arrhythmia and injected artifacts (for tests).

numpy only. The RR generator integrates beat by beat: each interval is
``mean + rsa * sin(2 pi f_rsa t) + lf * sin(2 pi 0.1 t + phase) + N(0, noise)`` at the time
``t`` its beat starts, which gives a realistic RSA oscillation at the breathing frequency.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

__all__ = ["inject_artifacts", "synth_rr"]


def synth_rr(
    duration_s: float = 600.0,
    mean_ms: float = 850.0,
    rsa_hz: float = 0.25,
    rsa_ms: float = 40.0,
    lf_ms: float = 20.0,
    noise_ms: float = 8.0,
    seed: int = 0,
) -> FloatArray:
    """RR intervals, ms, covering ``duration_s`` s (breathing at ``rsa_hz`` Hz)."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0.0, 2.0 * np.pi)
    t = 0.0
    out: list[float] = []
    while t < duration_s:
        rr = (
            mean_ms
            + rsa_ms * np.sin(2.0 * np.pi * rsa_hz * t)
            + lf_ms * np.sin(2.0 * np.pi * 0.1 * t + phase)
            + rng.normal(0.0, noise_ms)
        )
        out.append(float(rr))
        t += rr / 1000.0
    return np.asarray(out)


def inject_artifacts(
    rr: FloatArray,
    fraction: float = 0.02,
    seed: int = 1,
    kinds: tuple[str, ...] = ("missed", "extra", "ectopic"),
    margin: int = 20,
    spacing: int = 6,
) -> tuple[FloatArray, npt.NDArray[np.str_], npt.NDArray[np.int64]]:
    """Inject missed, extra and ectopic beats at random, well separated positions.

    ``fraction`` is the share of clean intervals at which an artifact event is placed
    (kinds in turn). missed: two intervals merged; extra: one interval split at 30-50 %;
    ectopic: a premature beat (the interval shortened by 25-35 %, the next lengthened by the
    same amount).

    Returns
    -------
    rr_out : ndarray of float
        The corrupted series, ms.
    labels : ndarray of str
        Class of each output beat (``"normal"``, ``"missed"``, ``"extra"``, ``"ectopic"``).
    base : ndarray of int
        Index of the clean interval each output beat comes from.
    """
    rng = np.random.default_rng(seed)
    n = rr.size
    candidates = np.arange(margin, n - margin, spacing)
    n_events = min(round(fraction * n), candidates.size)
    pos = np.sort(rng.choice(candidates, n_events, replace=False))
    kind_at = {int(p): kinds[j % len(kinds)] for j, p in enumerate(pos)}
    out: list[float] = []
    labels: list[str] = []
    base: list[int] = []
    i = 0
    while i < n:
        kind = kind_at.get(i)
        if kind == "missed":
            out.append(rr[i] + rr[i + 1])
            labels.append("missed")
            base.append(i)
            i += 2
        elif kind == "extra":
            x = rng.uniform(0.3, 0.5) * rr[i]
            out += [x, rr[i] - x]
            labels += ["extra", "extra"]
            base += [i, i]
            i += 1
        elif kind == "ectopic":
            f = rng.uniform(0.25, 0.35) * rr[i]
            out += [rr[i] - f, rr[i + 1] + f]
            labels += ["ectopic", "ectopic"]
            base += [i, i + 1]
            i += 2
        else:
            out.append(rr[i])
            labels.append("normal")
            base.append(i)
            i += 1
    return np.asarray(out), np.asarray(labels), np.asarray(base, dtype=np.int64)
