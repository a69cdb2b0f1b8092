"""Min/max decimation of a curve for drawing: keeps every spike, never joins across a gap.

Used by the live plots (:meth:`biofeedback.viewmodels.traces.LiveTraces.view`) and the report's
tachogram (:func:`biofeedback.comparison.report.downsample_minmax`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["decimate_min_max"]

FloatArray = npt.NDArray[np.float64]


def decimate_min_max(
    x: FloatArray, y: FloatArray, max_points: int
) -> tuple[FloatArray, FloatArray]:
    """Reduce a curve to about ``max_points`` points keeping each bucket's min and max.

    Consecutive finite points are grouped into buckets of equal count, never across a NaN
    (a curve break); each bucket becomes its lowest and highest point, in time order, and
    each break stays as one NaN point. Like pyqtgraph's ``'peak'`` downsampling, but gap
    aware and done once on the visible slice.

    Parameters
    ----------
    x, y : ndarray of float
        Sorted times and values; NaN in ``y`` marks a break.
    max_points : int
        Target number of points (breaks come on top).

    Returns
    -------
    tuple of ndarray
        Decimated x and y (new arrays).
    """
    finite = np.isfinite(y)
    idx = np.flatnonzero(finite)
    m = idx.size
    if m == 0:
        return np.empty(0), np.empty(0)
    k = max(1, math.ceil(m / max(1, max_points // 2)))
    # run = number of breaks before each finite point; position within its run
    run = np.cumsum(~finite)[idx]
    new_run = np.empty(m, dtype=bool)
    new_run[0] = True
    new_run[1:] = run[1:] != run[:-1]
    run_first = np.flatnonzero(new_run)
    run_len = np.diff(np.append(run_first, m))
    within = np.arange(m) - np.repeat(run_first, run_len)
    bucket = within // k
    starts_mask = new_run.copy()
    starts_mask[1:] |= bucket[1:] != bucket[:-1]
    starts = np.flatnonzero(starts_mask)
    counts = np.diff(np.append(starts, m))
    yv = y[idx]
    xv = x[idx]
    lo = np.minimum.reduceat(yv, starts)
    hi = np.maximum.reduceat(yv, starts)
    pos = np.arange(m)
    big = m + 1
    at_lo = np.minimum.reduceat(np.where(yv == np.repeat(lo, counts), pos, big), starts)
    at_hi = np.minimum.reduceat(np.where(yv == np.repeat(hi, counts), pos, big), starts)
    first = np.minimum(at_lo, at_hi)
    second = np.maximum(at_lo, at_hi)
    nb = starts.size
    out_x = np.empty((nb, 3))
    out_y = np.empty((nb, 3))
    out_x[:, 0] = xv[first]
    out_y[:, 0] = yv[first]
    out_x[:, 1] = xv[second]
    out_y[:, 1] = yv[second]
    # a break after the last bucket of each run but the final one
    bucket_ends = starts + counts - 1
    run_ends = np.zeros(nb, dtype=bool)
    run_ends[:-1] = new_run[bucket_ends[:-1] + 1]
    out_x[:, 2] = xv[bucket_ends]
    out_y[:, 2] = np.nan
    keep = np.ones((nb, 3), dtype=bool)
    keep[:, 1] = second != first
    keep[:, 2] = run_ends
    # a break before the first point or after the last one (clipped slice) is kept too
    xs, ys = out_x[keep], out_y[keep]
    if not finite[0]:
        xs = np.concatenate(([x[0]], xs))
        ys = np.concatenate(([np.nan], ys))
    if not finite[-1]:
        xs = np.concatenate((xs, [x[-1]]))
        ys = np.concatenate((ys, [np.nan]))
    return xs, ys
