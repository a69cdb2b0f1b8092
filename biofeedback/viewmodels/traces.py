"""Plot buffers of the live view: what the window draws, kept without Qt.

:class:`LiveTraces` is fed the session's events (:meth:`LiveTraces.on_event`) and keeps, in
growable numpy arrays (amortised O(1) append), per raw beat its time (s), RR (ms),
instantaneous heart rate (bpm) and artifact class, and per notification a trend of the live
indices (lnRMSSD, HF in ms^2, HR). A gap in the beats is a NaN row in every series, so a plot
drawn with pyqtgraph's ``connect="finite"`` has no line across it. :meth:`LiveTraces.view`
returns the part of a series inside the visible time range (``searchsorted`` on the sorted
times) and, when that holds more points than the plot has room for, a min/max decimation
per bucket that keeps peaks and the gap breaks, so redrawing costs the same with 2 h of data
as with 2 min. While the slice keeps its first row and only grows, the finished buckets of
the previous call are kept (:class:`~biofeedback.core.decimate.AppendDecimator`): with the
whole session on screen a frame decimates only its newest bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from biofeedback.core.decimate import AppendDecimator, decimate_min_max
from biofeedback.core.types import ArtifactClass, Beat, Gap, Marker, PhaseSpan, Seeked
from biofeedback.live.events import BeatsProcessed, SessionEvent

FloatArray = npt.NDArray[np.float64]

__all__ = ["SERIES", "LiveTraces", "decimate_min_max"]

SERIES = (
    "rr",
    "hr",
    "rr_artifacts",
    "hr_artifacts",
    "ln_rmssd",
    "hf",
    "trend_hr",
)
"""Names accepted by :meth:`LiveTraces.view`.

``rr`` (ms) and ``hr`` (bpm) per raw beat; ``rr_artifacts`` and ``hr_artifacts`` the same
values of the beats classed other than normal (points, no breaks); ``ln_rmssd`` (ln ms),
``hf`` (ms^2) and ``trend_hr`` (bpm) per notification, valid values only."""

_BREAK_FACTOR = 1.5
"""A beat later than its predecessor by more than this many times its own RR (plus
:data:`_BREAK_SLACK_S`) follows a jump the source did not report as a gap (a forward seek in a
replay): the curve is broken there too, so no line is ever drawn across missing beats."""
_BREAK_SLACK_S = 2.0

_BULK_BEATS = 16
"""Beats of one event from which they are appended as arrays (fewer: one by one, cheaper)."""

_CLASS_CODES = {c: i for i, c in enumerate(ArtifactClass)}
_PENDING = -1


class _Column:
    """A float64 array that doubles its capacity when full (amortised O(1) append)."""

    __slots__ = ("data", "n")

    def __init__(self, capacity: int = 1024, dtype: npt.DTypeLike = np.float64) -> None:
        self.data = np.empty(capacity, dtype=dtype)
        self.n = 0

    def _grow(self, need: int) -> None:
        capacity = max(2 * self.data.size, need)
        new = np.empty(capacity, dtype=self.data.dtype)
        new[: self.n] = self.data[: self.n]
        self.data = new

    def append(self, value: float) -> None:
        if self.n == self.data.size:
            self._grow(self.n + 1)
        self.data[self.n] = value
        self.n += 1

    def extend(self, values: npt.ArrayLike) -> None:
        arr = np.asarray(values, dtype=self.data.dtype)
        end = self.n + arr.size
        if end > self.data.size:
            self._grow(end)
        self.data[self.n : end] = arr
        self.n = end

    def view(self) -> np.ndarray:
        return self.data[: self.n]

    def last(self) -> float:
        return float(self.data[self.n - 1])

    def truncate(self, n: int) -> None:
        self.n = max(0, min(n, self.n))


class _Series:
    """Sorted times (s) and values of one plotted series; NaN values are curve breaks."""

    __slots__ = ("x", "y")

    def __init__(self, capacity: int = 1024) -> None:
        self.x = _Column(capacity)
        self.y = _Column(capacity)

    def __len__(self) -> int:
        return self.x.n

    def append(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)

    def add_break(self, x: float) -> None:
        """End the curve at ``x`` (one NaN row; never two in a row, never first)."""
        if self.x.n and not math.isnan(self.y.last()):
            self.append(max(x, self.x.last()), math.nan)

    def add_valid(self, x: float, y: float | None) -> None:
        """Append a valid value; None breaks the curve once."""
        if y is None or not math.isfinite(y):
            self.add_break(x)
        else:
            self.append(x, y)

    def truncate_after(self, t_s: float) -> int:
        """Drop rows at or after ``t_s``; returns the new length."""
        cut = int(np.searchsorted(self.x.view(), t_s, side="left"))
        self.x.truncate(cut)
        self.y.truncate(cut)
        # a trailing break would be followed by the next value only
        while self.x.n and math.isnan(self.y.last()):
            self.x.truncate(self.x.n - 1)
            self.y.truncate(self.y.n - 1)
        return self.x.n

    def clear(self) -> None:
        self.x.truncate(0)
        self.y.truncate(0)


class LiveTraces:
    """Growable plot buffers of one session, fed from its events; no Qt.

    Attributes
    ----------
    markers : list of Marker
        Markers received, in arrival order.
    gaps : list of Gap
        Gaps received.
    phases : list of PhaseSpan
        Phases, as last given to :meth:`set_phases`.

    Notes
    -----
    Beats arrive raw in ``BeatsProcessed.batch.beats`` (numbered, ``Beat.seq``); their
    final artifact class arrives later, in ``BeatsProcessed.classified``, and is matched by
    sequence number. Until then a beat counts as normal.
    """

    def __init__(self, capacity: int = 16384) -> None:
        self._capacity = capacity
        self._rr = _Series(capacity)
        self._hr = _Series(capacity)
        # per beat row (break rows included): final class code, _PENDING until known
        self._cls = _Column(capacity, np.int8)
        # session beat sequence number -> row (-1: not in the traces)
        self._seq_base: int | None = None
        self._seq_row = _Column(capacity, np.int64)
        self._art_rows = _Column(256, np.int64)
        self._art_sorted = True
        self._ln_rmssd = _Series(4096)
        self._hf = _Series(4096)
        self._trend_hr = _Series(4096)
        self._last_trend_t = -math.inf
        self.markers: list[Marker] = []
        self.gaps: list[Gap] = []
        self.phases: list[PhaseSpan] = []
        self.version = 0
        """Incremented on every change (a view can skip work when it did not move)."""
        self._rewrites = 0
        # incremented when rows are dropped (not only appended): kept decimations start over
        self._decimators = {name: AppendDecimator() for name in SERIES}

    # ------------------------------------------------------------------ feeding
    def on_event(self, event: SessionEvent) -> None:
        """Take one session event: beats, gaps, markers and replay seeks; others are ignored.

        Parameters
        ----------
        event : SessionEvent
            What :meth:`LiveSession.subscribe` delivers (live or recorded: events are values).
        """
        if isinstance(event, BeatsProcessed):
            self._on_beats(event)
        elif isinstance(event, Gap):
            self.add_gap(event)
        elif isinstance(event, Marker):
            self.markers.append(event)
            self.version += 1
        elif isinstance(event, Seeked):
            # a replay jumped. Backwards: what follows is re-sent from the seek point and
            # continues the beats kept before it. Forwards: no line across the jump.
            seek_s = event.t_s
            last = self.last_time_s
            if last is None:
                return
            if seek_s < last:
                self.truncate_after(seek_s)
            else:
                self._break_all(last)

    def add_beats(
        self, times_s: npt.ArrayLike, rr_ms: npt.ArrayLike, first_seq: int | None = None
    ) -> None:
        """Append raw beats in bulk (e.g. a stored recording before replay), times ascending.

        Parameters
        ----------
        times_s : array of float
            Beat times, s since session start.
        rr_ms : array of float
            Raw RR intervals, ms.
        first_seq : int, optional
            Session sequence number of the first beat (for classes arriving later).
        """
        t = np.asarray(times_s, dtype=np.float64)
        rr = np.asarray(rr_ms, dtype=np.float64)
        if t.size == 0:
            return
        if first_seq is not None:
            self._map_seqs(first_seq, t.size, self._rr.x.n)
        with np.errstate(divide="ignore"):
            hr = 60000.0 / rr
        self._rr.x.extend(t)
        self._rr.y.extend(rr)
        self._hr.x.extend(t)
        self._hr.y.extend(hr)
        self._cls.extend(np.full(t.size, _PENDING, dtype=np.int8))
        self.version += 1

    def add_gap(self, gap: Gap) -> None:
        """Break every curve at ``gap`` (no line is drawn across it)."""
        self.gaps.append(gap)
        self._break_all(gap.start_s)

    def set_phases(self, phases: Sequence[PhaseSpan]) -> None:
        """Replace the phases (the session's :attr:`LiveSession.phases`)."""
        self.phases = list(phases)
        self.version += 1

    def _break_all(self, t_s: float) -> None:
        if self._rr.x.n and not math.isnan(self._rr.y.last()):
            self._rr.add_break(t_s)
            self._hr.add_break(t_s)
            self._cls.append(_PENDING)
        for series in (self._ln_rmssd, self._hf, self._trend_hr):
            series.add_break(t_s)
        self.version += 1

    def _map_seqs(self, first_seq: int, count: int, first_row: int) -> None:
        if self._seq_base is None or first_seq < self._seq_base:
            self._seq_base = first_seq
            self._seq_row.truncate(0)
        offset = first_seq - self._seq_base
        rows = self._seq_row
        if offset < rows.n:
            rows.truncate(offset)  # sequence numbers re-sent: the newer rows win
        elif offset > rows.n:
            rows.extend(np.full(offset - rows.n, -1, dtype=np.int64))
        rows.extend(np.arange(first_row, first_row + count, dtype=np.int64))

    def _on_beats(self, event: BeatsProcessed) -> None:
        beats = event.batch.beats
        rr_series, hr_series = self._rr, self._hr
        if beats:
            first = beats[0]
            if rr_series.x.n:
                prev_t = rr_series.x.last()
                if first.time_s < prev_t:
                    # out of order (a replay re-sending from earlier): keep times sorted
                    self.truncate_after(first.time_s)
                elif (
                    not math.isnan(rr_series.y.last())
                    and first.time_s - prev_t
                    > _BREAK_FACTOR * first.rr_ms / 1000.0 + _BREAK_SLACK_S
                ):
                    self._break_all(prev_t)
            self._map_seqs(first.seq, len(beats), rr_series.x.n)
            cls = self._cls
            if len(beats) < _BULK_BEATS:
                for beat in beats:
                    rr = beat.rr_ms
                    t = beat.time_s
                    rr_series.append(t, rr)
                    hr_series.append(t, 60000.0 / rr if rr > 0 else math.nan)
                    cls.append(_PENDING)
            else:
                self._extend_beats(beats)
        if event.classified:
            self._apply_classes(event)
        if beats:
            self._add_trend(event)
        self.version += 1

    def _extend_beats(self, beats: Sequence[Beat]) -> None:
        """Append many beats as arrays (a replay's run of notifications); the same values
        as one by one (IEEE division either way)."""
        n = len(beats)
        t = np.fromiter((b.time_s for b in beats), dtype=np.float64, count=n)
        rr = np.fromiter((b.rr_ms for b in beats), dtype=np.float64, count=n)
        with np.errstate(divide="ignore", invalid="ignore"):
            hr = np.where(rr > 0, 60000.0 / rr, np.nan)
        self._rr.x.extend(t)
        self._rr.y.extend(rr)
        self._hr.x.extend(t)
        self._hr.y.extend(hr)
        self._cls.extend(np.full(n, _PENDING, dtype=np.int8))

    def _apply_classes(self, event: BeatsProcessed) -> None:
        base = self._seq_base
        if base is None:
            return
        seq_rows = self._seq_row
        n_map = seq_rows.n
        cls = self._cls.data
        for c in event.classified:
            k = c.seq - base
            if k < 0 or k >= n_map:
                continue
            row = int(seq_rows.data[k])
            if row < 0 or row >= self._cls.n:
                continue
            code = _CLASS_CODES.get(c.artifact, 0)
            cls[row] = code
            if c.artifact is not ArtifactClass.NORMAL:
                rows = self._art_rows
                if rows.n and row <= rows.last():
                    self._art_sorted = False
                rows.append(row)

    def _add_trend(self, event: BeatsProcessed) -> None:
        indices = event.indices
        t = indices.time_s
        if indices.n_beats == 0 or t <= self._last_trend_t:
            return  # no newer NN interval: the same values again
        self._last_trend_t = t
        ln_rmssd = indices.ln_rmssd_60 if indices.ln_rmssd_60 is not None else indices.ln_rmssd_30
        self._ln_rmssd.add_valid(t, ln_rmssd)
        self._hf.add_valid(t, indices.hf_ms2)
        self._trend_hr.add_valid(t, indices.hr_bpm)

    # ------------------------------------------------------------------ editing
    def truncate_after(self, t_s: float) -> None:
        """Drop everything at or after ``t_s`` (a replay seeking backwards), s."""
        self._rewrites += 1
        n = self._rr.truncate_after(t_s)
        self._hr.truncate_after(t_s)
        self._cls.truncate(n)
        seq_rows = self._seq_row
        if seq_rows.n:
            valid = seq_rows.view()
            # rows grow with the sequence numbers: the dropped rows are a suffix
            keep = int(np.searchsorted(np.maximum.accumulate(valid), n, side="left"))
            seq_rows.truncate(keep)
        if not self._art_sorted:
            self._sort_artifacts()
        arts = self._art_rows
        arts.truncate(int(np.searchsorted(arts.view(), n, side="left")))
        for series in (self._ln_rmssd, self._hf, self._trend_hr):
            series.truncate_after(t_s)
        self._last_trend_t = self._ln_rmssd.x.last() if len(self._ln_rmssd) else -math.inf
        self._last_trend_t = max(
            self._last_trend_t,
            self._hf.x.last() if len(self._hf) else -math.inf,
            self._trend_hr.x.last() if len(self._trend_hr) else -math.inf,
        )
        self.markers = [m for m in self.markers if m.onset_s < t_s]
        self.gaps = [g for g in self.gaps if g.start_s < t_s]
        self.version += 1

    def clear(self) -> None:
        """Forget everything (a new session)."""
        self._rewrites += 1
        for series in (self._rr, self._hr, self._ln_rmssd, self._hf, self._trend_hr):
            series.clear()
        self._cls.truncate(0)
        self._seq_row.truncate(0)
        self._seq_base = None
        self._art_rows.truncate(0)
        self._art_sorted = True
        self._last_trend_t = -math.inf
        self.markers = []
        self.gaps = []
        self.phases = []
        self.version += 1

    # ------------------------------------------------------------------ reading
    @property
    def n_beats(self) -> int:
        """Raw beats held (break rows not counted)."""
        y = self._rr.y.view()
        return int(y.size - np.count_nonzero(np.isnan(y)))

    @property
    def last_time_s(self) -> float | None:
        """Time of the newest beat or trend value, s; None when empty."""
        candidates = [
            s.x.last() for s in (self._rr, self._ln_rmssd) if len(s)
        ]
        return max(candidates) if candidates else None

    @property
    def trend_end_s(self) -> float:
        """Time of the newest trend row (lnRMSSD, HF or HR), s; -inf when there is none."""
        return self._last_trend_t

    @property
    def rewrites(self) -> int:
        """Times rows were dropped rather than appended (a seek back, a new session)."""
        return self._rewrites

    @property
    def first_time_s(self) -> float | None:
        """Time of the oldest beat, s; None when empty."""
        return float(self._rr.x.data[0]) if len(self._rr) else None

    def beat_arrays(self) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.int8]]:
        """Views of all rows: times (s), RR (ms), HR (bpm), class code (-1 pending / break,
        else the index of the class in :class:`ArtifactClass`). NaN rows are breaks."""
        return self._rr.x.view(), self._rr.y.view(), self._hr.y.view(), self._cls.view()

    def artifact_flags(self) -> npt.NDArray[np.bool_]:
        """Per row: True when the beat's final class is not normal."""
        cls = self._cls.view()
        return cls > _CLASS_CODES[ArtifactClass.NORMAL]

    def markers_in(self, t0_s: float, t1_s: float) -> list[Marker]:
        """Markers whose span overlaps ``[t0_s, t1_s]``, s."""
        return [m for m in self.markers if m.onset_s <= t1_s and m.onset_s + m.duration_s >= t0_s]

    def phases_in(self, t0_s: float, t1_s: float) -> list[PhaseSpan]:
        """Phases overlapping ``[t0_s, t1_s]``, s (an open phase reaches to the newest beat)."""
        last = self.last_time_s or 0.0
        return [
            p for p in self.phases
            if p.start_s <= t1_s and (p.end_s if p.end_s > p.start_s else last) >= t0_s
        ]

    def _sort_artifacts(self) -> None:
        rows = self._art_rows
        data = np.unique(rows.view())
        rows.truncate(0)
        rows.extend(data)
        self._art_sorted = True

    def _series(self, name: str) -> tuple[FloatArray, FloatArray, bool]:
        """(x, y, is_curve) of a series name."""
        if name == "rr":
            return self._rr.x.view(), self._rr.y.view(), True
        if name == "hr":
            return self._hr.x.view(), self._hr.y.view(), True
        if name in ("rr_artifacts", "hr_artifacts"):
            if not self._art_sorted:
                self._sort_artifacts()
            rows = self._art_rows.view()
            source = self._rr if name == "rr_artifacts" else self._hr
            return source.x.data[rows], source.y.data[rows], False
        if name == "ln_rmssd":
            return self._ln_rmssd.x.view(), self._ln_rmssd.y.view(), True
        if name == "hf":
            return self._hf.x.view(), self._hf.y.view(), True
        if name == "trend_hr":
            return self._trend_hr.x.view(), self._trend_hr.y.view(), True
        raise KeyError(f"unknown series {name!r}; known: {', '.join(SERIES)}")

    def view(
        self, name: str, t0_s: float, t1_s: float, max_points: int = 2000
    ) -> tuple[FloatArray, FloatArray]:
        """The part of a series in view, ready for ``setData(x, y, connect="finite")``.

        Parameters
        ----------
        name : str
            One of :data:`SERIES`.
        t0_s, t1_s : float
            Visible time range, s. One point either side is kept so lines reach the edges.
        max_points : int
            Most points to return. Above it, curves are min/max-decimated per bucket (each
            bucket keeps its lowest and highest value, so peaks survive, and gap breaks stay);
            point series keep every k-th point.

        Returns
        -------
        x : ndarray of float
            Times, s (new arrays: safe to hand to a plot).
        y : ndarray of float
            Values in the series' unit; NaN where the curve breaks.
        """
        x, y, is_curve = self._series(name)
        n = x.size
        if n == 0:
            return np.empty(0), np.empty(0)
        i0 = max(int(np.searchsorted(x, t0_s, side="left")) - 1, 0)
        i1 = min(int(np.searchsorted(x, t1_s, side="right")) + 1, n)
        xs = x[i0:i1]
        ys = y[i0:i1]
        if xs.size <= max_points:
            return xs.copy(), ys.copy()
        if not is_curve:
            step = math.ceil(xs.size / max(max_points, 1))
            return xs[::step].copy(), ys[::step].copy()
        # the whole session in view: the same first row every frame, rows only appended,
        # so the finished buckets of the last frame are kept (decimated once per zoom level)
        return self._decimators[name].decimate(xs, ys, max_points, (self._rewrites, i0))
