"""Causal, per-beat artifact detection and correction (Lipponen & Tarvainen 2019, streaming).

The detector follows the decision flow of Lipponen & Tarvainen (2019), "A robust algorithm
for heart rate variability time series artefact correction using novel beat classification",
J Med Eng Technol 43(3):173-181 (the method behind Kubios and neurokit2's
``signal_fixpeaks(method="kubios")``), made causal with a look-ahead of two beats:

* ``dRR_i = RR_i - RR_{i-1}`` on the raw series, as in the paper (for the first beat of a
  segment, ``RR_{i-1}`` is replaced by the reference median); the look-ahead differences
  ``dRR_{i+1}`` and ``dRR_{i+2}`` need the two following beats.
* ``mRR_i = RR_i - med_i`` with ``med_i`` the median of the newest 11 known raw intervals
  (the 8 before beat *i*, beat *i* and its two look-ahead beats: a causal stand-in for the
  paper's centred 11-beat median filter, which lags less at real rate changes than a purely
  trailing one); negative ``mRR`` is doubled, as in the paper.
* ``Th1 = alpha * QD(|dRR|)`` and ``Th2 = alpha * QD(|mRR|)`` over the trailing 91 beats,
  ``alpha = 5.2``, ``QD = (Q3 - Q1) / 2`` (paper values; quartiles with numpy's default
  linear interpolation). Our additions for causality: the QD is the larger of the 91-beat
  one and the one over the trailing 31 beats (a trailing window lags behind a rise in
  variability, which the paper's centred window does not, and real bursts of sinus
  arrhythmia were then flagged), and both thresholds are at least ``min_threshold_frac * med``
  (3 % of the median, about 25 ms at 60 bpm) so an unusually regular stretch does not
  shrink them to nothing.
* Rules (scaled ``d = dRR / Th1``, ``m = mRR / Th2``):

  - ``|d_i| <= 1`` and the interval is possible: **normal**.
  - **extra**: ``d_i < -1``, ``max(d_{i+1}, d_{i+2}) > 1`` (S22) and
    ``|RR_i + RR_{i+1} - med| < Th2``; the short spurious interval is removed (corrected to
    ``()``) and the next one becomes ``(RR_i + RR_{i+1},)``; both are classed extra.
  - **ectopic** pair: the paper's S11/S12 rule tested on the second interval of the pair,
    ``d_{i+1} > 1`` and ``max(d_i, d_{i+2}) < -c1 d_{i+1} - c2`` (short then long), or
    ``d_{i+1} < -1`` and ``min(d_i, d_{i+2}) > -c1 d_{i+1} + c2`` (long then short), with
    ``c1 = 0.13``, ``c2 = 0.17``; both intervals are classed ectopic and corrected to the pair
    mean (neurokit2 likewise moves the ectopic peak to the neighbours' midpoint).
  - **missed**: ``d_i > 1``, ``min(d_{i+1}, d_{i+2}) < -1`` (S21/S22) and
    ``|RR_i / k - med| < Th2`` with ``k = round(RR_i / med) >= 2`` (the paper's test is
    ``k = 2``); corrected to ``k`` equal parts.
  - **long_short**: any other beat with ``|d_i| > 1`` that also meets S21/S22 or has
    ``|m_i| > 3``; corrected to ``med``.
  - Physiologically impossible intervals, ``RR < 250 ms`` (240 bpm) or ``RR > 3000 ms``
    (20 bpm), are long_short (corrected to ``med``) unless the extra or missed rule explains
    them. The bounds are ours, chosen well outside adult resting and exercise ranges.

* Warm-up: with fewer than ``min_history`` (15) beats since the start or the last gap there are
  no stable quartiles; thresholds fall back to ``Th1 = 0.25 * med`` (a beat more than 25 %
  away from the previous one is suspect) and ``Th2 = 0.10 * med``, with ``med`` the median of
  the raw intervals so far (or of the first three intervals when fewer than three are final).

A beat's class is final once the two following beats are known (``push`` returns it then);
``flush`` finalises the pending beats with whatever look-ahead exists and starts a new segment,
so no decision ever looks across a gap. Raw intervals are never changed: every
:class:`ClassifiedBeat` carries the raw value beside the corrected intervals it stands for.

Pure Python (no numpy on the per-beat path); the per-beat cost is a few microseconds: the
quartile windows are kept sorted (``bisect``) and read by index, and the reference median in
:meth:`StreamingArtifactDetector.push` is that of the newest 11 raw values pushed.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from biofeedback.core.types import ArtifactClass

__all__ = ["ArtifactSettings", "ClassifiedBeat", "StreamingArtifactDetector", "corrected_times"]


@dataclass(frozen=True, slots=True)
class ClassifiedBeat:
    """One raw beat with its final artifact class and the corrected intervals it stands for.

    Attributes
    ----------
    seq : int
        Session beat sequence number.
    rr_ms : float
        Raw RR interval, ms (unchanged).
    time_s : float
        Time of the beat that ends the interval, s since session start.
    artifact : ArtifactClass
        Final class.
    corrected_ms : tuple of float
        Corrected NN intervals, ms, this raw beat stands for: ``(rr,)`` when normal, ``k``
        equal parts when missed, ``()`` for a removed extra beat, the merged interval for the
        beat after it, the pair mean for an ectopic pair, the local median for long_short.
    """

    seq: int
    rr_ms: float
    time_s: float
    artifact: ArtifactClass
    corrected_ms: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ArtifactSettings:
    """Parameters of :class:`StreamingArtifactDetector` (defaults: Lipponen & Tarvainen 2019).

    Attributes
    ----------
    alpha : float
        Threshold multiplier of the quartile deviation (5.2, paper).
    c1, c2 : float
        Slope and offset of the ectopic decision boundary (0.13, 0.17, paper).
    threshold_window : int
        Trailing beats for the quartile deviations (91, paper).
    fast_threshold_window : int
        Shorter trailing window whose quartile deviation is also computed; the larger of the
        two is used (31, ours: a trailing window lags when variability rises, which the
        paper's centred window does not).
    median_window : int
        Trailing beats of the reference median (11, paper's median filter length).
    min_history : int
        Beats of history below which the warm-up fallback is used (15, ours).
    warmup_th1_frac, warmup_th2_frac : float
        Warm-up thresholds as a fraction of the median (0.25 and 0.10, ours).
    min_threshold_frac : float
        Lower bound of Th1 and Th2 as a fraction of the median (0.03, ours).
    min_rr_ms, max_rr_ms : float
        Plausible RR range, ms (250-3000, i.e. 240-20 bpm, ours).
    """

    alpha: float = 5.2
    c1: float = 0.13
    c2: float = 0.17
    threshold_window: int = 91
    fast_threshold_window: int = 31
    median_window: int = 11
    min_history: int = 15
    warmup_th1_frac: float = 0.25
    warmup_th2_frac: float = 0.10
    min_threshold_frac: float = 0.03
    min_rr_ms: float = 250.0
    max_rr_ms: float = 3000.0


_Pending = tuple[int, float, float]  # seq, rr_ms, time_s


def _percentile_sorted(v: list[float], q: float) -> float:
    """Percentile ``q`` (0-1) of sorted values, numpy's default linear interpolation."""
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


def _quantile_table(size: int, q: float) -> list[tuple[int, int, float]]:
    """``(lo, hi, frac)`` of :func:`_percentile_sorted` for every length ``0 .. size``."""
    out = [(0, 0, 0.0)]
    for n in range(1, size + 1):
        pos = q * (n - 1)
        lo = int(pos)
        out.append((lo, min(lo + 1, n - 1), pos - lo))
    return out


class _SortedWindow:
    """The last ``size`` values in arrival order and sorted (O(log size) search + memmove).

    Quartiles are read by index from precomputed positions, with the same arithmetic as
    :func:`_percentile_sorted` (numpy's linear interpolation), so results are bit-identical.
    """

    __slots__ = ("_q1", "_q3", "order", "size", "sorted")

    def __init__(self, size: int) -> None:
        self.size = size
        self.order: deque[float] = deque()
        self.sorted: list[float] = []
        self._q1 = _quantile_table(size, 0.25)
        self._q3 = _quantile_table(size, 0.75)

    def push(self, value: float) -> None:
        order = self.order
        order.append(value)
        srt = self.sorted
        insort(srt, value)
        if len(order) > self.size:
            del srt[bisect_left(srt, order.popleft())]

    def clear(self) -> None:
        self.order.clear()
        self.sorted.clear()

    def quartile_deviation(self) -> float:
        """``(Q3 - Q1) / 2`` (0 when empty)."""
        v = self.sorted
        n = len(v)
        if not n:
            return 0.0
        lo, hi, fr = self._q3[n]
        q3 = v[lo] + (v[hi] - v[lo]) * fr
        lo, hi, fr = self._q1[n]
        q1 = v[lo] + (v[hi] - v[lo]) * fr
        return 0.5 * (q3 - q1)


def _median(values: list[float]) -> float:
    """Median of the values (pure Python: faster than numpy for a dozen values)."""
    return _percentile_sorted(sorted(values), 0.5)


def _median_of(values: Iterable[float]) -> float:
    """Median, same arithmetic as :func:`_median`."""
    v = sorted(values)
    n = len(v)
    pos = 0.5 * (n - 1)
    lo = int(pos)
    hi = lo + 1 if lo + 1 < n else n - 1
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)


_NORMAL = ArtifactClass.NORMAL
_EXTRA = ArtifactClass.EXTRA
_ECTOPIC = ArtifactClass.ECTOPIC
_MISSED = ArtifactClass.MISSED
_LONG_SHORT = ArtifactClass.LONG_SHORT


class StreamingArtifactDetector:
    """Classify and correct RR intervals one at a time, with a two-beat look-ahead.

    Parameters
    ----------
    settings : ArtifactSettings, optional
        Thresholds and windows; defaults per Lipponen & Tarvainen (2019).

    Examples
    --------
    >>> det = StreamingArtifactDetector()
    >>> out = []
    >>> for k, rr in enumerate([800.0] * 20 + [1600.0] + [800.0] * 5):
    ...     out += det.push(k, rr, 0.8 * (k + 1))
    >>> out += det.flush()
    >>> [b.artifact.value for b in out if b.seq == 20]
    ['missed']
    """

    def __init__(self, settings: ArtifactSettings | None = None) -> None:
        self.settings = settings or ArtifactSettings()
        s = self.settings
        self._pending: list[_Pending] = []
        self._raw_hist: deque[float] = deque(maxlen=s.median_window)
        # the newest ``median_window`` raw values pushed in the segment: in ``push`` the
        # reference window is exactly these (8 history + 3 pending beats)
        self._recent: deque[float] = deque(maxlen=max(s.median_window, 1))
        self._fast_median = s.median_window >= 3
        self._med_pos = _quantile_table(max(s.median_window, 1), 0.5)
        self._abs_d = _SortedWindow(s.threshold_window)
        self._abs_m = _SortedWindow(s.threshold_window)
        self._abs_d_fast = _SortedWindow(s.fast_threshold_window)
        self._abs_m_fast = _SortedWindow(s.fast_threshold_window)
        self._n_final = 0
        self._last_rr: float | None = None
        # settings as plain attributes (read on every beat)
        self._alpha = s.alpha
        self._c1 = s.c1
        self._c2 = s.c2
        self._min_history = s.min_history
        self._w1 = s.warmup_th1_frac
        self._w2 = s.warmup_th2_frac
        self._floor_frac = s.min_threshold_frac
        self._min_rr = s.min_rr_ms
        self._max_rr = s.max_rr_ms

    # ------------------------------------------------------------------ public API
    def push(self, seq: int, rr_ms: float, time_s: float) -> list[ClassifiedBeat]:
        """Add one raw beat; return the beats whose class became final, oldest first.

        Parameters
        ----------
        seq : int
            Session beat sequence number.
        rr_ms : float
            Raw RR interval, ms.
        time_s : float
            Time of the beat ending the interval, s.

        Returns
        -------
        list of ClassifiedBeat
            Usually one beat (the one two beats back), two when a pair was resolved, none
            during the first two beats of a segment.
        """
        rr = float(rr_ms)
        p = self._pending
        p.append((seq, rr, float(time_s)))
        recent = self._recent
        recent.append(rr)
        if len(p) < 3:
            return []
        # exactly three pending beats: one resolution (a pair leaves one pending)
        if not self._fast_median:
            return self._resolve_first(self._reference())
        # reference median of the newest 11 raw values (same arithmetic as _median)
        v = sorted(recent)
        lo, hi, fr = self._med_pos[len(v)]
        med = v[lo] + (v[hi] - v[lo]) * fr
        if self._n_final < self._min_history or self._last_rr is None:
            return self._resolve_first(med)
        # Th1, Th2 inline (see _thresholds; bit-identical)
        floor = self._floor_frac * med
        qd_d = self._abs_d.quartile_deviation()
        qf = self._abs_d_fast.quartile_deviation()
        if qf > qd_d:
            qd_d = qf
        th1 = self._alpha * qd_d
        if th1 <= floor:
            th1 = floor
        seq0, rr0, t0 = p[0]
        drr = rr0 - self._last_rr
        d0 = drr / th1
        if not (-1.0 <= d0 <= 1.0) or rr0 < self._min_rr or rr0 > self._max_rr:
            return self._resolve_first(med)
        # normal beat: the common case
        mrr = rr0 - med
        if mrr < 0:
            mrr *= 2.0
        self._accept(rr0, d0 * th1, mrr)
        del p[0]
        return [ClassifiedBeat(seq0, rr0, t0, _NORMAL, (rr0,))]

    def push_many(
        self,
        first_seq: int,
        rr_ms: Sequence[float],
        time_s: Sequence[float],
        start: int,
        end: int,
        out: list[ClassifiedBeat],
    ) -> None:
        """:meth:`push` for beats ``start .. end - 1`` of the sequences, appending the beats
        that became final to ``out``: the same arithmetic, without a call per beat.

        Parameters
        ----------
        first_seq : int
            Session sequence number of beat 0 of the sequences (beat ``i`` is
            ``first_seq + i``).
        rr_ms, time_s : sequence of float
            Raw RR intervals (ms) and beat times (s).
        start, end : int
            The beats to push.
        out : list of ClassifiedBeat
            Where the final beats go, oldest first.
        """
        p = self._pending
        recent = self._recent
        med_pos = self._med_pos
        abs_d, abs_d_fast = self._abs_d, self._abs_d_fast
        alpha, floor_frac = self._alpha, self._floor_frac
        min_rr, max_rr, min_history = self._min_rr, self._max_rr, self._min_history
        fast_median = self._fast_median
        accept, resolve = self._accept, self._resolve_first
        append = out.append
        for i in range(start, end):
            # The body of push(), line for line.
            rr = float(rr_ms[i])
            p.append((first_seq + i, rr, float(time_s[i])))
            recent.append(rr)
            if len(p) < 3:
                continue
            if not fast_median:
                out.extend(resolve(self._reference()))
                continue
            v = sorted(recent)
            lo, hi, fr = med_pos[len(v)]
            med = v[lo] + (v[hi] - v[lo]) * fr
            last_rr = self._last_rr
            if self._n_final < min_history or last_rr is None:
                out.extend(resolve(med))
                continue
            floor = floor_frac * med
            qd_d = abs_d.quartile_deviation()
            qf = abs_d_fast.quartile_deviation()
            if qf > qd_d:
                qd_d = qf
            th1 = alpha * qd_d
            if th1 <= floor:
                th1 = floor
            seq0, rr0, t0 = p[0]
            drr = rr0 - last_rr
            d0 = drr / th1
            if not (-1.0 <= d0 <= 1.0) or rr0 < min_rr or rr0 > max_rr:
                out.extend(resolve(med))
                continue
            mrr = rr0 - med
            if mrr < 0:
                mrr *= 2.0
            accept(rr0, d0 * th1, mrr)
            del p[0]
            append(ClassifiedBeat(seq0, rr0, t0, _NORMAL, (rr0,)))

    def flush(self) -> list[ClassifiedBeat]:
        """Finalise every pending beat and start a fresh segment (call at a gap or the end).

        Returns
        -------
        list of ClassifiedBeat
            The pending beats, classified with the look-ahead that exists.
        """
        out: list[ClassifiedBeat] = []
        while self._pending:
            out.extend(self._resolve_first(self._reference()))
        self.reset()
        return out

    def reset(self) -> None:
        """Forget all history and pending beats (a new gap-free segment starts)."""
        self._pending.clear()
        self._raw_hist.clear()
        self._recent.clear()
        for w in (self._abs_d, self._abs_m, self._abs_d_fast, self._abs_m_fast):
            w.clear()
        self._n_final = 0
        self._last_rr = None

    @property
    def n_pending(self) -> int:
        """Number of beats waiting for their look-ahead."""
        return len(self._pending)

    # ------------------------------------------------------------------ internals
    def _reference(self) -> float:
        """Median of the newest ``median_window`` known raw intervals, ms.

        The window ends at the newest beat received (the look-ahead), so it is as centred on
        the beat being classified as the two-beat look-ahead allows, and it never reaches
        before the start of the segment.
        """
        n_la = min(len(self._pending), 3)
        n_hist = max(self.settings.median_window - n_la, 0)
        hist = list(self._raw_hist)[-n_hist:] if n_hist else []
        return _median(hist + [p[1] for p in self._pending[:n_la]])

    def _thresholds(self, med: float) -> tuple[float, float]:
        """Th1 and Th2, ms: alpha times the larger of the 91-beat and the recent QD."""
        if self._n_final < self._min_history:
            return self._w1 * med, self._w2 * med
        floor = self._floor_frac * med
        qd_d = self._abs_d.quartile_deviation()
        qf = self._abs_d_fast.quartile_deviation()
        if qf > qd_d:
            qd_d = qf
        qd_m = self._abs_m.quartile_deviation()
        qf = self._abs_m_fast.quartile_deviation()
        if qf > qd_m:
            qd_m = qf
        th1 = self._alpha * qd_d
        th2 = self._alpha * qd_m
        return (th1 if th1 > floor else floor), (th2 if th2 > floor else floor)

    def _resolve_first(self, med: float) -> list[ClassifiedBeat]:
        p = self._pending
        n_p = len(p)
        seq, rr, t = p[0]
        rr1 = p[1][1] if n_p > 1 else None
        rr2 = p[2][1] if n_p > 2 else None
        th1, th2 = self._thresholds(med)
        prev = self._last_rr if self._last_rr is not None else med

        drr = rr - prev
        d0 = drr / th1
        mrr = rr - med
        if mrr < 0:
            mrr *= 2.0
        impossible = rr < self._min_rr or rr > self._max_rr

        if -1.0 <= d0 <= 1.0 and not impossible:
            # normal (the common case)
            self._accept(rr, d0 * th1, mrr)
            del p[0]
            return [ClassifiedBeat(seq, rr, t, _NORMAL, (rr,))]

        d1 = (rr1 - rr) / th1 if rr1 is not None else 0.0
        d2 = (rr2 - rr1) / th1 if (rr2 is not None and rr1 is not None) else 0.0
        m0 = mrr / th2
        cls = _NORMAL
        pair = False
        corrected: tuple[float, ...] = (rr,)
        corrected_next: tuple[float, ...] = ()
        s22_hi = max(d1, d2) if rr1 is not None else 0.0
        s22_lo = min(d1, d2) if rr1 is not None else 0.0
        k = round(rr / med) if med > 0 else 0
        if rr1 is not None and d0 < -1.0 and s22_hi > 1.0 and abs(rr + rr1 - med) < th2:
            cls, pair = _EXTRA, True
            corrected, corrected_next = (), (rr + rr1,)
        elif rr1 is not None and self._is_ectopic(d0, d1, d2, rr2 is not None):
            cls, pair = _ECTOPIC, True
            mean = 0.5 * (rr + rr1)
            corrected, corrected_next = (mean,), (mean,)
        elif d0 > 1.0 and (rr1 is None or s22_lo < -1.0) and k >= 2 and (abs(rr / k - med) < th2):
            cls = _MISSED
            corrected = (rr / k,) * k
        elif (
            impossible
            or abs(m0) > 3.0
            or (d0 > 1.0 and s22_lo < -1.0)
            or (d0 < -1.0 and s22_hi > 1.0)
        ):
            cls = _LONG_SHORT
            corrected = (med,)

        out = [ClassifiedBeat(seq, rr, t, cls, corrected)]
        self._accept(rr, d0 * th1, mrr)
        del p[0]
        if pair:
            seq1, rr1v, t1 = p.pop(0)
            out.append(ClassifiedBeat(seq1, rr1v, t1, cls, corrected_next))
            mrr1 = rr1v - med
            self._accept(rr1v, rr1v - rr, 2.0 * mrr1 if mrr1 < 0 else mrr1)
        return out

    def _is_ectopic(self, d0: float, d1: float, d2: float, have_d2: bool) -> bool:
        """S11/S12 rule of the paper, tested on the second interval of the pair."""
        c1, c2 = self._c1, self._c2
        if not have_d2:
            d2 = -d1  # no look-ahead: assume the series returns to its level
        if d1 > 1.0 and d0 < -1.0:
            return max(d0, d2) < -c1 * d1 - c2
        if d1 < -1.0 and d0 > 1.0:
            return min(d0, d2) > -c1 * d1 + c2
        return False

    def _accept(self, rr: float, drr: float, mrr: float) -> None:
        # The four sorted-window updates are written out rather than looped or called: this
        # runs once per beat and the call overhead was a measurable share of it.
        self._raw_hist.append(rr)
        a = drr if drr >= 0.0 else -drr
        w = self._abs_d
        order = w.order
        order.append(a)
        insort(w.sorted, a)
        if len(order) > w.size:
            del w.sorted[bisect_left(w.sorted, order.popleft())]
        w = self._abs_d_fast
        order = w.order
        order.append(a)
        insort(w.sorted, a)
        if len(order) > w.size:
            del w.sorted[bisect_left(w.sorted, order.popleft())]
        a = mrr if mrr >= 0.0 else -mrr
        w = self._abs_m
        order = w.order
        order.append(a)
        insort(w.sorted, a)
        if len(order) > w.size:
            del w.sorted[bisect_left(w.sorted, order.popleft())]
        w = self._abs_m_fast
        order = w.order
        order.append(a)
        insort(w.sorted, a)
        if len(order) > w.size:
            del w.sorted[bisect_left(w.sorted, order.popleft())]
        self._n_final += 1
        self._last_rr = rr


def corrected_times(beat: ClassifiedBeat, first_of_pair: bool = False) -> tuple[float, ...]:
    """Beat times, s, of the corrected intervals a raw beat stands for.

    The corrected intervals end at the raw beat's time, laid back to back (a missed beat split
    in ``k`` gets ``k`` evenly spaced interpolated times). The first beat of an ectopic pair
    (``first_of_pair=True``) is moved to where its corrected (pair-mean) interval ends, half
    way between its neighbours, as neurokit2 does for ectopic beats. A removed beat has no
    time.

    Parameters
    ----------
    beat : ClassifiedBeat
        A classified beat.
    first_of_pair : bool
        True for the first beat of an ectopic pair.

    Returns
    -------
    tuple of float
        One time per corrected interval, s.
    """
    c = beat.corrected_ms
    if not c:
        return ()
    if first_of_pair and len(c) == 1:
        return (beat.time_s - beat.rr_ms / 1000.0 + c[0] / 1000.0,)
    out = []
    remaining = sum(c)
    for v in c:
        remaining -= v
        out.append(beat.time_s - remaining / 1000.0)
    return tuple(out)
