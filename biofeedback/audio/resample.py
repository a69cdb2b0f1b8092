"""Band-limited resampling with numpy alone (windowed-sinc interpolation).

``scipy.signal`` would do it, but importing it costs seconds on a slow machine (it pulls in
``scipy.stats``), paid by every session that plays audio. Each output frame here is the sum
of the input frames within :data:`HALF_WIDTH` input periods of its position, weighted by a
Kaiser-windowed sinc whose cut-off is below the lower of the two Nyquist frequencies; any
span of output frames can be computed alone (a block of a long recording) and joins its
neighbours exactly, since every frame sees its true neighbours.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import numpy.typing as npt

__all__ = ["HALF_WIDTH", "input_span", "resample_span"]

HALF_WIDTH = 16
"""Half-length of the interpolation kernel, in periods of the lower rate."""

_BETA = 8.0
"""Kaiser window shape (side lobes about 80 dB down)."""

_CUTOFF = 0.45
"""Cut-off as a share of the lower rate (0.5 = its Nyquist frequency): a little room for
the transition band."""

_CHUNK = 8192
"""Output frames computed at once (bounds the temporary arrays)."""


def _half_width_in(source_rate: int, target_rate: int) -> int:
    """Kernel half-width in input frames."""
    return int(np.ceil(HALF_WIDTH * max(1.0, source_rate / target_rate)))


@functools.lru_cache(maxsize=16)
def _kernel_table(up: int, down: int, k: int) -> npt.NDArray[np.float64]:
    """Weights of the 2k input frames around each of the ``up`` fractional positions."""
    fc = _CUTOFF * min(1.0, up / down)  # cycles per input frame
    taps = np.arange(-k + 1, k + 1)
    t = (np.arange(up) / up)[:, None] - taps[None, :]
    window = np.i0(_BETA * np.sqrt(np.clip(1.0 - (t / k) ** 2, 0.0, 1.0))) / np.i0(_BETA)
    table = 2.0 * fc * np.sinc(2.0 * fc * t) * window
    table.setflags(write=False)
    return table


def input_span(source_rate: int, target_rate: int, first: int, count: int) -> tuple[int, int]:
    """Input frames ``[start, stop)`` that output frames ``first .. first + count`` need."""
    k = _half_width_in(source_rate, target_rate)
    lo = int(np.floor(first * source_rate / target_rate)) - k
    hi = int(np.floor((first + count - 1) * source_rate / target_rate)) + k + 2
    return lo, hi


def resample_span(x: npt.NDArray[np.floating], x_first: int, source_rate: int,
                  target_rate: int, first: int, count: int) -> npt.NDArray[np.float64]:
    """Output frames ``first .. first + count`` (at ``target_rate``) of the signal whose input
    frames ``x_first .. x_first + len(x)`` (at ``source_rate``) are ``x`` (zero elsewhere).

    Parameters
    ----------
    x : numpy.ndarray
        Mono input samples.
    x_first : int
        Input frame number of ``x[0]``.
    source_rate, target_rate : int
        Rates, Hz.
    first, count : int
        The output frames wanted.
    """
    out = np.zeros(max(0, count), dtype=np.float64)
    if count <= 0 or len(x) == 0:
        return out
    if source_rate == target_rate:
        lo, hi = max(first, x_first), min(first + count, x_first + len(x))
        if lo < hi:
            out[lo - first:hi - first] = x[lo - x_first:hi - x_first]
        return out
    g = math.gcd(source_rate, target_rate)
    up, down = target_rate // g, source_rate // g
    k = _half_width_in(source_rate, target_rate)
    table = _kernel_table(up, down, k)
    taps = np.arange(-k + 1, k + 1)
    padded = np.concatenate([np.zeros(k + 2), np.asarray(x, dtype=np.float64), np.zeros(k + 2)])
    for c0 in range(0, count, _CHUNK):
        n = np.arange(first + c0, first + min(count, c0 + _CHUNK), dtype=np.int64)
        # Output frame n sits at input position n * down / up: frame base, phase frac / up.
        base, frac = np.divmod(n * down, up)
        idx = base[:, None] + taps[None, :] - x_first + k + 2
        valid = (idx >= 0) & (idx < len(padded))
        samples = np.where(valid, padded[np.clip(idx, 0, len(padded) - 1)], 0.0)
        out[c0:c0 + len(n)] = np.einsum("ij,ij->i", samples, table[frac])
    return out
