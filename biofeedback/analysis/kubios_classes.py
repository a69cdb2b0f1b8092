"""neurokit2's Kubios beat classifier (Lipponen & Tarvainen 2019), vectorised, same classes.

``neurokit2.signal_fixpeaks(method="kubios", iterative=False)`` spends nearly all of its time
in Python loops over every beat (``np.max`` of a two-element list per beat, twice) and in
pandas rolling windows, about 0.1 s per hour of beats; the per-phase analysis classifies each
gap-free run once and again after every correction pass, so this was two thirds of the
analysis. :func:`find_artifacts` computes the same arrays with numpy (the rolling quantiles and
median with pandas' exact order statistics and interpolation formula) and walks the decision
flow of the paper's figure 1 only over the beats whose successive difference exceeds the
threshold (every other beat takes the "normal" branch at once, as in neurokit2's loop), so the
classes are the ones neurokit2 returns, index for index.

It is a transcription of neurokit2 0.2.13's ``_find_artifacts``
(:data:`PORTED_FROM`): :func:`biofeedback.analysis.artifacts.classify_peaks` uses it only when
that version is installed and calls neurokit2 itself otherwise, and
``tests/analysis/test_fast_path.py`` checks the classes against neurokit2's on simulated and
real series.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["PORTED_FROM", "find_artifacts"]

FloatArray = npt.NDArray[np.float64]

PORTED_FROM = "0.2.13"
"""The neurokit2 version whose ``signal_fixpeaks`` classifier :func:`find_artifacts` is."""

_ROWS_PER_BLOCK = 8192
"""Rolling windows sorted at once (bounds the memory of a day-long run: 8192 x 91 floats)."""


def _window_bounds(n: int, width: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Half-open bounds of pandas' centred fixed window (``rolling(width, center=True)``)."""
    offset = (width - 1) // 2
    end = np.arange(1 + offset, n + 1 + offset, dtype=np.int64)
    start = end - width
    return np.clip(start, 0, n), np.clip(end, 0, n)


def _rolling_order_stats(values: FloatArray, width: int) -> tuple[FloatArray, FloatArray]:
    """Each centred window's values (a view, NaN past the series' ends) and its size."""
    n = values.size
    start, end = _window_bounds(n, width)
    offset = (width - 1) // 2
    padded = np.concatenate((np.full(width, np.nan), values, np.full(width, np.nan)))
    # Row k is padded[k + offset + 1 : k + offset + 1 + width], i.e. values[end - width : end]
    # with end = k + offset + 1: entries outside [start, end) are the NaN padding, which
    # np.sort puts last.
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)[offset + 1 : offset + 1 + n]
    counts = (end - start).astype(np.float64)
    return windows, counts


def rolling_quantiles(
    values: FloatArray, width: int, quantiles: tuple[float, ...]
) -> list[FloatArray]:
    """``pd.Series(values).rolling(width, center=True, min_periods=1).quantile(q)`` for each
    ``q`` of ``quantiles`` (the windows are sorted once for all of them).

    Linear interpolation between the order statistics, with pandas' formula
    ``low + (high - low) * (q (n - 1) - floor(q (n - 1)))``, so the result is bit-identical.
    ``values`` must be finite.
    """
    n = values.size
    out = [np.empty(n, dtype=np.float64) for _ in quantiles]
    windows, counts = _rolling_order_stats(values, width)
    for a in range(0, n, _ROWS_PER_BLOCK):
        b = min(n, a + _ROWS_PER_BLOCK)
        block = np.sort(windows[a:b], axis=1)
        nobs = counts[a:b]
        rows = np.arange(b - a)
        for quantile, result in zip(quantiles, out, strict=True):
            position = quantile * (nobs - 1.0)
            low_index = position.astype(np.int64)
            low = block[rows, low_index]
            exact = low_index == position
            high = block[rows, np.where(exact, low_index, low_index + 1)]
            interpolated = low + (high - low) * (position - low_index)
            result[a:b] = np.where(exact, low, interpolated)
    return out


def rolling_median(values: FloatArray, width: int) -> FloatArray:
    """``pd.Series(values).rolling(width, center=True, min_periods=1).median()``: the middle
    order statistic, or the mean of the two middle ones for an even count (pandas' formula).
    ``values`` must be finite."""
    n = values.size
    out = np.empty(n, dtype=np.float64)
    windows, counts = _rolling_order_stats(values, width)
    for a in range(0, n, _ROWS_PER_BLOCK):
        b = min(n, a + _ROWS_PER_BLOCK)
        block = np.sort(windows[a:b], axis=1)
        nobs = counts[a:b].astype(np.int64)
        rows = np.arange(b - a)
        mid = nobs // 2
        upper = block[rows, mid]
        lower = block[rows, np.maximum(mid - 1, 0)]
        out[a:b] = np.where(nobs % 2 == 1, upper, (upper + lower) / 2)
    return out


def _threshold(signal: FloatArray, alpha: float, width: int) -> FloatArray:
    """neurokit2's ``_compute_threshold``: alpha times the quartile deviation of |signal|."""
    q1, q3 = rolling_quantiles(np.abs(signal), width, (0.25, 0.75))
    return alpha * ((q3 - q1) / 2)


def find_artifacts(
    peaks: npt.NDArray[np.int64],
    *,
    sampling_rate: float = 1000.0,
    c1: float = 0.13,
    c2: float = 0.17,
    alpha: float = 5.2,
    window_width: int = 91,
    medfilt_order: int = 11,
) -> dict[str, list[int]]:
    """Kubios classes of beats, as ``neurokit2.signal_fixpeaks(method="kubios",
    iterative=False)`` returns them.

    Parameters
    ----------
    peaks : ndarray of int
        Beat positions, samples at ``sampling_rate`` (Hz), increasing; at least 4.
    sampling_rate : float
        Samples per second of ``peaks``, Hz.
    c1, c2, alpha, window_width, medfilt_order : float, int
        The classifier's constants (Lipponen & Tarvainen 2019; neurokit2's defaults).

    Returns
    -------
    dict
        ``"ectopic"``, ``"missed"``, ``"extra"``, ``"longshort"`` -> peak indices in the
        order the decision flow finds them (peak k closes interval k - 1 -> k).
    """
    peaks = np.asarray(peaks)
    if peaks.size < 4:
        raise ValueError("the vectorised classifier needs at least 4 peaks")
    rr = np.ediff1d(peaks, to_begin=0) / sampling_rate
    rr[0] = np.mean(rr[1:])
    drrs = np.ediff1d(rr, to_begin=0)
    drrs[0] = np.mean(drrs[1:])
    th1 = _threshold(drrs, alpha, window_width)
    np.divide(drrs, th1, out=drrs, where=th1 != 0)
    drrs[th1 == 0] = np.nan

    pad = np.pad(drrs, 2, "reflect")
    before, here, after, after2 = pad[1:-3], pad[2:-2], pad[3:-1], pad[4:]
    # np.max / np.min of two values propagate NaN, as np.maximum / np.minimum do.
    s12 = np.where(here > 0, np.maximum(before, after),
                   np.where(here < 0, np.minimum(before, after), 0.0))
    s22 = np.where(here >= 0, np.minimum(after, after2),
                   np.where(here < 0, np.maximum(after, after2), 0.0))

    medrr = rolling_median(rr, medfilt_order)
    mrrs = rr - medrr
    mrrs[mrrs < 0] = mrrs[mrrs < 0] * 2
    th2 = _threshold(mrrs, alpha, window_width)
    np.divide(mrrs, th2, out=mrrs, where=th2 != 0)
    mrrs[th2 == 0] = np.nan

    classes: dict[str, list[int]] = {"ectopic": [], "missed": [], "extra": [], "longshort": []}
    # neurokit2's loop moves on at once from every beat with |dRR| <= 1 (NaN is not <= 1).
    candidates = np.flatnonzero(~(np.abs(drrs) <= 1))
    d, m, s1, s2 = drrs.tolist(), mrrs.tolist(), s12.tolist(), s22.tolist()
    r, med, t2 = rr.tolist(), medrr.tolist(), th2.tolist()
    last = rr.size - 2
    cursor = 0
    i = 0
    while True:
        while cursor < candidates.size and candidates[cursor] < i:
            cursor += 1
        if cursor == candidates.size or candidates[cursor] >= last:
            break
        i = int(candidates[cursor])
        di = d[i]
        if (di > 1 and s1[i] < (-c1 * di - c2)) or (di < -1 and s1[i] > (-c1 * di + c2)):
            classes["ectopic"].append(i)
            i += 1
            continue
        if not (abs(di) > 1 or abs(m[i]) > 3):
            i += 1
            continue
        pair = [i]
        if abs(d[i + 1]) < abs(d[i + 2]):
            pair.append(i + 1)
        for j in pair:
            eq3 = d[j] > 1 and s2[j] < -1
            eq4 = abs(m[j]) > 3
            eq5 = d[j] < -1 and s2[j] > 1
            if not (eq3 or eq4 or eq5):
                i += 1
                continue
            eq6 = abs(r[j] / 2 - med[j]) < t2[j]
            eq7 = abs(r[j] + r[j + 1] - med[j]) < t2[j]
            if eq5 and eq7:
                classes["extra"].append(j)
            elif eq3 and eq6:
                classes["missed"].append(j)
            else:
                classes["longshort"].append(j)
            i += 1
    return classes
