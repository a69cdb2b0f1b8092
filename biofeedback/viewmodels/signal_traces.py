"""What the window draws of the raw sensor streams: the ECG strip and the respiration trace.

The ECG strip keeps the last :data:`ECG_SPAN_S` of ECG in a ring buffer (in mV: the Polar
H10 sends µV), filled per :class:`~biofeedback.core.signals.SignalChunk` in O(chunk), and
hands the strip its curve against time before the newest sample, so the strip's axes never
move (a moving axis re-lays its ticks and labels on every frame: most of a frame's cost). The
respiration trace is :func:`biofeedback.core.acc_breathing.respiration_signal` over the last
:data:`RESPIRATION_SPAN_S` of accelerometer samples, recomputed at most once per
:data:`RESPIRATION_PERIOD_S` of session time when asked (the window asks from its clock
timer, never on the beat path): the same filters as the breathing rate, so what is drawn is
what is counted.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from biofeedback.core.acc_breathing import (
    filters_ready,
    import_filters_in_background,
    respiration_signal,
)
from biofeedback.core.signals import SignalChunk

__all__ = [
    "ECG_SPAN_S",
    "RESPIRATION_PERIOD_S",
    "RESPIRATION_SPAN_S",
    "EcgStrip",
    "RespirationTrace",
    "SignalTraces",
]

ECG_SPAN_S = 10.0
"""Time the ECG strip shows, s."""
RESPIRATION_SPAN_S = 60.0
"""Time the respiration trace shows, s."""
RESPIRATION_PERIOD_S = 1.0
"""Session time between two recomputations of the respiration trace, s."""
_RESPIRATION_MARGIN_S = 10.0
"""Extra ACC kept before the shown span, s, so the zero-phase filters' edge transients fall
outside what is drawn."""

FloatArray = npt.NDArray[np.float64]


class EcgStrip:
    """Ring buffer of the last ``span_s`` of ECG, mV, and the curve the strip draws of it.

    The samples are written twice, at ``i`` and ``i + capacity`` of arrays twice the
    capacity, so the newest samples are always one contiguous slice: reading the strip
    copies nothing. :meth:`curve` writes what the strip draws into arrays allocated with
    the buffer, so a frame allocates nothing here either.

    Parameters
    ----------
    span_s : float
        Time kept, s.

    Attributes
    ----------
    version : int
        Incremented whenever samples were added or dropped.
    """

    def __init__(self, span_s: float = ECG_SPAN_S) -> None:
        self.span_s = float(span_s)
        self.version = 0
        self._times = np.empty(0, dtype=np.float64)
        self._mv = np.empty(0, dtype=np.float64)
        self._x_out = np.empty(0, dtype=np.float64)
        self._y_out = np.empty(0, dtype=np.float64)
        self._bins = np.empty(0, dtype=np.intp)
        self._column_out: tuple[FloatArray, ...] = ()
        self._columns_key = (-1, -1)
        self._cap = 0
        self._next = 0  # where the next sample goes, in [0, capacity)
        self._count = 0  # samples held (<= capacity)
        self.rate_hz: float | None = None

    @property
    def capacity(self) -> int:
        """Samples the buffer holds when full (0 before the first chunk)."""
        return self._cap

    def add(self, chunk: SignalChunk) -> None:
        """Take one ECG chunk (µV) in, in O(chunk).

        Raises
        ------
        ValueError
            If the chunk is not ECG in µV with one channel (naming the field).
        """
        if chunk.stream != "ecg":
            raise ValueError(f"ECG strip: stream is {chunk.stream!r}, expected 'ecg'")
        if chunk.unit != "uV":
            raise ValueError(f"ECG strip: unit is {chunk.unit!r}, expected 'uV'")
        if chunk.samples.ndim != 2 or chunk.samples.shape[1] != 1:
            raise ValueError(
                f"ECG strip: samples have shape {chunk.samples.shape}, expected (n, 1)"
            )
        if self.rate_hz is None:
            self._allocate(chunk.rate_hz)
        times = chunk.times_s()
        mv = chunk.samples[:, 0] / 1000.0
        self._drop_from(float(times[0]) if times.size else math.inf)
        cap = self._cap
        if times.size > cap:
            times, mv = times[-cap:], mv[-cap:]
        # In at most two slices (the wrap-around), each written twice (the mirror).
        start, n = self._next, times.size
        first = min(n, cap - start)
        for lo, a, b in ((start, 0, first), (0, first, n)):
            if b > a:
                for offset in (lo, lo + cap):
                    self._times[offset : offset + b - a] = times[a:b]
                    self._mv[offset : offset + b - a] = mv[a:b]
        self._next = (start + n) % cap
        self._count = min(cap, self._count + n)
        self.version += 1

    def _allocate(self, rate_hz: float) -> None:
        self.rate_hz = rate_hz
        # A little more than the span: the measured rate may run a few % fast.
        cap = math.ceil(self.span_s * rate_hz * 1.05) + 1
        self._cap = cap
        self._times = np.full(2 * cap, np.nan)
        self._mv = np.full(2 * cap, np.nan)
        self._x_out = np.empty(cap)
        self._y_out = np.empty(cap)
        self._bins = np.empty(cap, dtype=np.intp)
        self._column_out = tuple(np.empty(cap) for _ in range(3))
        self._columns_key = (-1, -1)

    def _drop_from(self, t_s: float) -> None:
        # A chunk placed before the newest samples held: the source re-placed its stream on
        # the session clock (a strap's first frames are mapped before its clock offset is
        # measured); the newer placement wins, so the times keep increasing.
        cap = self._cap
        while self._count and self._times[(self._next - 1) % cap] >= t_s:
            self._next = (self._next - 1) % cap
            self._count -= 1

    def _held(self) -> tuple[FloatArray, FloatArray]:
        """Views of every sample held, oldest first (no copy)."""
        end = self._next + self._cap
        return self._times[end - self._count : end], self._mv[end - self._count : end]

    def view(self) -> tuple[FloatArray, FloatArray]:
        """The samples of the last :attr:`span_s` before the newest, oldest first.

        Returns
        -------
        times_s, mv : ndarray of float
            Session time, s, and ECG, mV: read-only views into the buffer, valid until the
            next :meth:`add`.
        """
        if self._count == 0:
            return np.empty(0), np.empty(0)
        t, mv = self._held()
        first = int(np.searchsorted(t, t[-1] - self.span_s, side="left"))
        t, mv = t[first:], mv[first:]
        t.flags.writeable = False
        mv.flags.writeable = False
        return t, mv

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        """Copies of :meth:`view` (session time, s, and ECG, mV, oldest first)."""
        t, mv = self.view()
        return t.copy(), mv.copy()

    def curve(self, width_px: int) -> tuple[FloatArray, FloatArray]:
        """What the strip draws: the last :attr:`span_s` against time before the newest
        sample (s, <= 0), in mV, at most two points per pixel column.

        With more samples than two per column, each column's samples become their minimum
        and their maximum, in the order they came (an R peak keeps its height; a line
        between columns joins the right neighbours).

        Parameters
        ----------
        width_px : int
            Width of the strip, pixels (columns of equal sample counts); below 2 (a strip
            not laid out yet) every sample is drawn.

        Returns
        -------
        x_s, mv : ndarray of float
            Views into arrays allocated with the buffer, valid until the next call.
        """
        t, mv = self.view()
        n = t.size
        if n == 0:
            return self._x_out[:0], self._y_out[:0]
        columns = int(width_px)
        if columns < 2 or n <= 2 * columns:
            np.subtract(t, t[-1], out=self._x_out[:n])
            self._y_out[:n] = mv
            return self._x_out[:n], self._y_out[:n]
        return self._min_max(t, mv, columns)

    def _min_max(
        self, t: FloatArray, mv: FloatArray, columns: int
    ) -> tuple[FloatArray, FloatArray]:
        # Both points of a column at its first sample's time (a vertical stroke one pixel
        # wide, as pyqtgraph's "peak" downsampling draws it).
        n = t.size
        if self._columns_key != (n, columns):
            self._columns_key = (n, columns)
            np.floor_divide(np.arange(columns) * n, columns, out=self._bins[:columns])
        starts = self._bins[:columns]
        low, high, at = (b[:columns] for b in self._column_out)
        np.minimum.reduceat(mv, starts, out=low)
        np.maximum.reduceat(mv, starts, out=high)
        np.take(t, starts, out=at)
        at -= t[-1]
        x, y = self._x_out[: 2 * columns], self._y_out[: 2 * columns]
        x[0::2] = at
        x[1::2] = at
        y[0::2] = low
        y[1::2] = high
        return x, y

    def clear(self) -> None:
        """Forget every sample (a replay seek)."""
        self._count = 0
        self._next = 0
        self.version += 1



class RespirationTrace:
    """The respiration signal of the last ``span_s`` of accelerometer samples.

    Parameters
    ----------
    span_s : float
        Time shown, s.
    period_s : float
        Least session time between two recomputations, s.

    Attributes
    ----------
    times_s, values_mg : ndarray of float
        The trace as of the last :meth:`refresh`: session time, s, and the band-passed
        breathing axis, mG (empty before there is enough ACC).
    before_newest_s : ndarray of float
        :attr:`times_s` less its last, s (<= 0): where the trace draws its points.
    version : int
        Incremented whenever the trace was recomputed.
    """

    def __init__(
        self, span_s: float = RESPIRATION_SPAN_S, period_s: float = RESPIRATION_PERIOD_S
    ) -> None:
        self.span_s = float(span_s)
        self.period_s = float(period_s)
        self.times_s: FloatArray = np.empty(0)
        self.values_mg: FloatArray = np.empty(0)
        self.before_newest_s: FloatArray = np.empty(0)
        self.version = 0
        self._chunks: deque[SignalChunk] = deque()
        self._computed_s = -math.inf

    def add(self, chunk: SignalChunk) -> None:
        """Take one ACC chunk (mG, 3 channels) in (cheap: the trace is computed later)."""
        if chunk.stream != "acc" or chunk.unit != "mG" or chunk.samples.shape[1:] != (3,):
            raise ValueError(
                f"respiration trace: expected 'acc' in mG with 3 channels, got "
                f"{chunk.stream!r} in {chunk.unit!r} with shape {chunk.samples.shape}"
            )
        import_filters_in_background()
        # A chunk placed before the newest held replaces what overlaps it (see EcgStrip).
        while self._chunks and self._chunks[-1].t0_s >= chunk.t0_s:
            self._chunks.pop()
        self._chunks.append(chunk)
        newest = chunk.t0_s + chunk.n_samples / chunk.rate_hz
        keep_from = newest - self.span_s - _RESPIRATION_MARGIN_S
        while self._chunks and (
            self._chunks[0].t0_s + self._chunks[0].n_samples / self._chunks[0].rate_hz
            < keep_from
        ):
            self._chunks.popleft()

    @property
    def newest_s(self) -> float | None:
        """Session time just after the newest ACC sample, s (None: no ACC)."""
        if not self._chunks:
            return None
        last = self._chunks[-1]
        return last.t0_s + last.n_samples / last.rate_hz

    def refresh_when_ready(self) -> bool:
        """:meth:`refresh`, or False while ``scipy.signal`` is still imported in the
        background (the first ACC chunk started it): the GUI thread's clock timer calls this,
        and waiting for that import would freeze the window for seconds."""
        return filters_ready() and self.refresh()

    def refresh(self) -> bool:
        """Recompute the trace when the ACC moved on by :attr:`period_s`; True when it did."""
        newest = self.newest_s
        if newest is None or newest - self._computed_s < self.period_s:
            return False
        times = np.concatenate([c.times_s() for c in self._chunks])
        if times.size < 2 or times[-1] - times[0] < 2.0:
            return False
        samples = np.concatenate([c.samples for c in self._chunks]).astype(np.float64)
        # A chunk overlapping the end of the one before (re-placed on the session clock):
        # its samples win, the older ones they overlap are dropped.
        later = np.minimum.accumulate(np.append(times[1:], np.inf)[::-1])[::-1]
        keep = times < later
        resp = respiration_signal(times[keep], samples[keep])
        keep = resp.times_s >= resp.times_s[-1] - self.span_s
        self.times_s = resp.times_s[keep]
        self.values_mg = resp.trace[keep]
        self.before_newest_s = self.times_s - self.times_s[-1]
        self._computed_s = newest
        self.version += 1
        return True

    def clear(self) -> None:
        """Forget every sample and the trace (a replay seek)."""
        self._chunks.clear()
        self.times_s = np.empty(0)
        self.values_mg = np.empty(0)
        self.before_newest_s = np.empty(0)
        self._computed_s = -math.inf
        self.version += 1


class SignalTraces:
    """The ECG strip and the respiration trace of one session, fed its signal chunks.

    Attributes
    ----------
    ecg : EcgStrip
    respiration : RespirationTrace
    """

    def __init__(self) -> None:
        self.ecg = EcgStrip()
        self.respiration = RespirationTrace()
        self.problem = ""
        """Why the last chunk that could not be drawn was dropped ("" if none was)."""

    @property
    def has_ecg(self) -> bool:
        """The session has sent ECG."""
        return self.ecg.rate_hz is not None

    @property
    def has_acc(self) -> bool:
        """The session has sent accelerometer samples."""
        return self.respiration.newest_s is not None or self.respiration.version > 0

    def add(self, chunk: SignalChunk) -> None:
        """Take one chunk in; streams other than ECG and ACC are ignored, and a chunk that
        cannot be drawn (wrong unit or channels: a source's bug) is dropped, its reason kept
        in :attr:`problem`, so the session goes on."""
        try:
            if chunk.stream == "ecg":
                self.ecg.add(chunk)
            elif chunk.stream == "acc":
                self.respiration.add(chunk)
        except ValueError as exc:
            self.problem = str(exc)

    def clear(self) -> None:
        """Forget what was taken in (a replay seek)."""
        self.ecg.clear()
        self.respiration.clear()
