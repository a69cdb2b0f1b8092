"""Min/max decimation of a curve for drawing: keeps every spike, never joins across a gap.

Used by the live plots (:meth:`biofeedback.viewmodels.traces.LiveTraces.view`) and the report's
tachogram figure (:func:`biofeedback.figures.session.tachogram`). :class:`AppendDecimator`
gives the same points for a curve that only grows at its end, redoing only its last bucket.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["AppendDecimator", "bucket_size", "decimate_min_max"]

FloatArray = npt.NDArray[np.float64]


def bucket_size(n_finite: int, max_points: int) -> int:
    """Points per bucket when ``n_finite`` finite points are decimated to ``max_points``.

    The least count that makes at most ``max_points // 2`` buckets, rounded up to the ladder
    1, 2, 3, 4, 6, 8, 12, 16... (powers of two and one and a half times them). A curve that
    grows at its end keeps its bucket size, its zoom level, until it has grown by a third at
    least: the whole of a day-long session is decimated again every few hours instead of every
    few hundred beats (a frame that redraws every piece of the curve, 40-75 ms at 24 h). The
    curve then has between two thirds of ``max_points`` and ``max_points`` points.
    """
    need = max(1, math.ceil(n_finite / max(1, max_points // 2)))
    if need <= 2:
        return need
    power = 1 << (need - 1).bit_length()  # the least power of two >= need
    return power * 3 // 4 if power * 3 // 4 >= need else power


def decimate_min_max(
    x: FloatArray, y: FloatArray, max_points: int
) -> tuple[FloatArray, FloatArray]:
    """Reduce a curve to at most about ``max_points`` points keeping each bucket's min and max.

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
    n_finite = int(np.count_nonzero(np.isfinite(y)))
    if n_finite == 0:
        return np.empty(0), np.empty(0)
    xs, ys, _, _ = _decimate(x, y, bucket_size(n_finite, max_points))
    return xs, ys


class AppendDecimator:
    """:func:`decimate_min_max` of a curve that grows at its end, finished buckets kept.

    Between two calls with the same ``key`` (the caller's promise that no point before the
    previous call's end changed: the same first row, appends only) and the same bucket size,
    only the last bucket of the previous call and what follows it are decimated again; the
    result is the same as :func:`decimate_min_max` on the whole curve. A new bucket size (a
    zoom level: the curve grew by a third or a half, :func:`bucket_size`) starts over.
    """

    __slots__ = ("_cut", "_k", "_key", "_prefix_x", "_prefix_y")

    def __init__(self) -> None:
        self._key: object = None
        self._k = 0
        self._cut = 0
        self._prefix_x = np.empty(0)
        self._prefix_y = np.empty(0)

    def decimate(
        self, x: FloatArray, y: FloatArray, max_points: int, key: object
    ) -> tuple[FloatArray, FloatArray]:
        """Decimated ``x`` and ``y`` (new arrays), as :func:`decimate_min_max` gives them.

        Parameters
        ----------
        x, y : ndarray of float
            Sorted times and values; NaN in ``y`` marks a break.
        max_points : int
            Target number of points (breaks come on top).
        key : hashable
            Equal between calls only while ``x`` and ``y`` grew by appending.
        """
        n_finite = int(np.count_nonzero(np.isfinite(y)))
        if n_finite == 0:
            self._key = None
            return np.empty(0), np.empty(0)
        k = bucket_size(n_finite, max_points)
        cut = self._cut
        if key == self._key and k == self._k and x.size > cut:
            tail_x, tail_y, tail_start, tail_rows = _decimate(x[cut:], y[cut:], k)
            out_x = np.concatenate((self._prefix_x, tail_x))
            out_y = np.concatenate((self._prefix_y, tail_y))
            last_start, rows_before = cut + tail_start, self._prefix_x.size + tail_rows
        else:
            out_x, out_y, last_start, rows_before = _decimate(x, y, k)
        # everything before the last bucket is final while the curve only grows
        self._key, self._k, self._cut = key, k, last_start
        self._prefix_x = out_x[:rows_before].copy()
        self._prefix_y = out_y[:rows_before].copy()
        return out_x, out_y

    def reset(self) -> None:
        """Forget the kept buckets (the curve changed other than at its end)."""
        self._key = None


def _decimate(
    x: FloatArray, y: FloatArray, k: int
) -> tuple[FloatArray, FloatArray, int, int]:
    """Min/max decimation in buckets of ``k`` finite points (``y`` has one at least).

    Returns the decimated x and y, the row of ``x`` the last bucket starts at, and how many
    of the returned points come before that bucket's.
    """
    finite = np.isfinite(y)
    idx = np.flatnonzero(finite)
    m = idx.size
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
    rows_before = int(np.count_nonzero(keep[:-1]))
    # a break before the first point or after the last one (clipped slice) is kept too
    xs, ys = out_x[keep], out_y[keep]
    if not finite[0]:
        xs = np.concatenate(([x[0]], xs))
        ys = np.concatenate(([np.nan], ys))
        rows_before += 1
    if not finite[-1]:
        xs = np.concatenate((xs, [x[-1]]))
        ys = np.concatenate((ys, [np.nan]))
    return xs, ys, int(idx[starts[-1]]), rows_before
