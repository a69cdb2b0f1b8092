"""Beat-by-beat agreement of the RR from the strap's ECG with the strap's own RR.

The strap sends RR intervals, not beat times: its beats are placed by cumulative RR
(:func:`strap_beat_times`), which sits on the session clock only up to an unknown offset (the
notification's radio and host latency, up to about a second). So each span (a window or a
phase) first finds the offset that pairs the most beats (:func:`match_beats`: every
difference of an ECG beat and a strap beat within ``max_offset_s`` is a candidate offset; the
one with the most differences within 10 ms of it wins, refined to their median),
then pairs each strap beat with the nearest ECG beat when both are each other's nearest and
within ``tolerance_s``. A long phase is matched in windows of ``window_s`` so that clock drift
between the strap's RR and the ECG timestamps (tens of ppm) never adds up.

Figures per span: median |beat time difference| after the offset (ms), median |RR difference|
of intervals whose both beats are paired (ms), and the beats left unpaired on each side (an
ECG beat the strap missed, a strap beat the ECG detector missed or an extra one). Pure
functions returning plain dataclasses: the caller picks the thread.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.types import Gap, PhaseSpan

__all__ = [
    "AgreementReport",
    "BeatMatch",
    "SpanAgreement",
    "beat_agreement",
    "match_beats",
    "pooled_agreement",
    "strap_beat_times",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

TOLERANCE_S = 0.05
"""Two beats closer than this (after the offset) are the same heartbeat, s: well under the
shortest RR of an adult (~300 ms) and far over the ECG's and the strap's timing error."""
MAX_OFFSET_S = 1.5
"""Largest offset searched between the strap's cumulative-RR times and the ECG's, s."""
WINDOW_S = 60.0
"""Length of the agreement windows, s."""
ECG_EDGE_S = 0.5
"""A strap beat this close to the start or end of a run of ECG may have no R-peak in it (cut
off), s: left unpaired there, it is not counted."""
_OFFSET_BIN_S = 0.01
"""Half-width of the bin that scores a candidate offset, s (at most ``tolerance_s``): the true
offset gathers the pairs within a few ms, an offset off by one beat only those whose
successive RR differ by less than the bin."""
_RUN_BREAK_S = 1.0
"""A beat whose recorded time is this much later than its RR says starts a new run, s (beats
were lost in between)."""


def strap_beat_times(
    rr_ms: FloatArray, time_s: FloatArray, gaps: Sequence[Gap] = ()
) -> FloatArray:
    """The strap's beat times by cumulative RR, run by run.

    Parameters
    ----------
    rr_ms : ndarray of float
        The strap's RR intervals, ms, in order.
    time_s : ndarray of float
        The session's time of each beat, s (anchors each run).
    gaps : sequence of Gap
        Spans with missing beats: a beat after a gap starts a new run.

    Returns
    -------
    ndarray of float
        Beat times, s: within a run ``time_s[first] + cumsum(rr_ms[first + 1 : k + 1])``.
        A new run starts after a gap or where ``time_s`` jumps more than 1 s past the RR.

    Raises
    ------
    ValueError
        ``rr_ms`` and ``time_s`` of different lengths.
    """
    rr = np.asarray(rr_ms, dtype=np.float64)
    t = np.asarray(time_s, dtype=np.float64)
    if rr.shape != t.shape:
        raise ValueError(f"rr_ms has {rr.size} beats but time_s {t.size}")
    if rr.size == 0:
        return np.empty(0)
    start = np.zeros(rr.size, dtype=bool)
    start[0] = True
    start[1:] = np.diff(t) - rr[1:] / 1000.0 > _RUN_BREAK_S
    for gap in gaps:
        after = int(np.searchsorted(t, gap.start_s, side="left"))
        if 0 < after < rr.size and t[after - 1] < gap.end_s:
            start[after] = True
    out = np.empty(rr.size)
    firsts = np.flatnonzero(start)
    for lo, hi in zip(firsts, [*firsts[1:], rr.size], strict=True):
        steps = rr[lo + 1 : hi] / 1000.0
        out[lo] = t[lo]
        out[lo + 1 : hi] = t[lo] + np.cumsum(steps)
    return out


@dataclass(frozen=True)
class BeatMatch:
    """Pairs of ECG and strap beats in one span.

    Attributes
    ----------
    offset_s : float
        Added to the strap's times to bring them onto the ECG's, s (NaN: nothing paired).
    ecg_index, strap_index : ndarray of int64
        Indices (into the arrays given) of each pair.
    diff_ms : ndarray of float
        ECG time minus shifted strap time of each pair, ms.
    rr_diff_ms : ndarray of float
        ECG RR minus strap RR of each interval whose both ends are consecutive pairs, ms.
    ecg_unmatched, strap_unmatched : ndarray of int64
        Indices of the beats left unpaired on each side.
    """

    offset_s: float
    ecg_index: IntArray
    strap_index: IntArray
    diff_ms: FloatArray
    rr_diff_ms: FloatArray
    ecg_unmatched: IntArray
    strap_unmatched: IntArray


def _best_offset(ecg: FloatArray, strap: FloatArray, bin_s: float,
                 max_offset_s: float) -> float:
    lo = np.searchsorted(ecg, strap - max_offset_s, side="left")
    hi = np.searchsorted(ecg, strap + max_offset_s, side="right")
    diffs = np.concatenate([ecg[a:b] - s for s, a, b in zip(strap, lo, hi, strict=True)])
    if diffs.size == 0:
        return math.nan
    diffs.sort()
    # Most candidate offsets within +-bin of one of them (a sliding window on sorted
    # differences); ties go to the smallest |offset|.
    counts = (np.searchsorted(diffs, diffs + bin_s, side="right")
              - np.searchsorted(diffs, diffs - bin_s, side="left"))
    best = counts == counts.max()
    centre = diffs[best][np.argmin(np.abs(diffs[best]))]
    close = diffs[np.abs(diffs - centre) <= bin_s]
    return float(np.median(close))


def match_beats(
    ecg_s: FloatArray,
    strap_s: FloatArray,
    *,
    tolerance_s: float = TOLERANCE_S,
    max_offset_s: float = MAX_OFFSET_S,
) -> BeatMatch:
    """Pair ECG beats with strap beats after the offset that pairs the most of them.

    Parameters
    ----------
    ecg_s : ndarray of float
        ECG R-peak times, s, increasing.
    strap_s : ndarray of float
        The strap's beat times by cumulative RR, s, increasing.
    tolerance_s : float
        Largest |difference| of a pair after the offset, s.
    max_offset_s : float
        Largest offset searched, s.

    Returns
    -------
    BeatMatch
    """
    ecg = np.asarray(ecg_s, dtype=np.float64)
    strap = np.asarray(strap_s, dtype=np.float64)
    offset = (_best_offset(ecg, strap, min(tolerance_s, _OFFSET_BIN_S), max_offset_s)
              if ecg.size and strap.size else math.nan)
    none = np.empty(0, dtype=np.int64)
    if math.isnan(offset):
        return BeatMatch(math.nan, none, none, np.empty(0), np.empty(0),
                         np.arange(ecg.size, dtype=np.int64),
                         np.arange(strap.size, dtype=np.int64))
    shifted = strap + offset
    nearest_ecg = _nearest(ecg, shifted)
    nearest_strap = _nearest(shifted, ecg)
    j = np.arange(strap.size, dtype=np.int64)
    mutual = nearest_strap[nearest_ecg] == j
    close = np.abs(ecg[nearest_ecg] - shifted) <= tolerance_s
    paired = mutual & close
    strap_index = j[paired]
    ecg_index = nearest_ecg[paired]
    diff_s = ecg[ecg_index] - shifted[strap_index]
    consecutive = (np.diff(ecg_index) == 1) & (np.diff(strap_index) == 1)
    rr_diff_s = np.diff(diff_s)[consecutive]
    ecg_unmatched = np.setdiff1d(np.arange(ecg.size, dtype=np.int64), ecg_index)
    return BeatMatch(
        offset_s=offset,
        ecg_index=ecg_index,
        strap_index=strap_index,
        diff_ms=diff_s * 1000.0,
        rr_diff_ms=rr_diff_s * 1000.0,
        ecg_unmatched=ecg_unmatched.astype(np.int64),
        strap_unmatched=j[~paired],
    )


def _nearest(candidates: FloatArray, points: FloatArray) -> IntArray:
    """Index of the candidate nearest each point (candidates non-empty, increasing)."""
    right = np.clip(np.searchsorted(candidates, points), 1, max(candidates.size - 1, 1))
    left = right - 1
    if candidates.size == 1:
        return np.zeros(points.size, dtype=np.int64)
    pick_left = np.abs(points - candidates[left]) <= np.abs(candidates[right] - points)
    return np.where(pick_left, left, right).astype(np.int64)


@dataclass(frozen=True)
class SpanAgreement:
    """Agreement of ECG and strap beats over one span (a window or a phase).

    Attributes
    ----------
    label : str
        Window number (``"0"``, ``"1"``, ...) or phase id.
    start_s, end_s : float
        Half-open span ``[start_s, end_s)`` on the ECG's times, s.
    n_ecg, n_strap : int
        Beats of each side in the span.
    n_matched : int
        Pairs.
    ecg_unmatched, strap_unmatched : int
        Beats of each side left unpaired.
    median_abs_diff_ms : float or None
        Median |ECG time - shifted strap time| of the pairs, ms (None without pairs).
    median_abs_rr_diff_ms : float or None
        Median |ECG RR - strap RR| of intervals with both ends paired, ms.
    offset_s : float or None
        Offset added to the strap's times (the median over the span's windows), s.
    """

    label: str
    start_s: float
    end_s: float
    n_ecg: int
    n_strap: int
    n_matched: int
    ecg_unmatched: int
    strap_unmatched: int
    median_abs_diff_ms: float | None
    median_abs_rr_diff_ms: float | None
    offset_s: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every field."""
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class AgreementReport:
    """Agreement over the whole session, per window and per phase.

    Attributes
    ----------
    overall : SpanAgreement
        Every window pooled (label ``"all"``).
    windows : list of SpanAgreement
        Consecutive windows of ``window_s`` from the first beat.
    phases : list of SpanAgreement
        One per phase given, in order.
    tolerance_s, window_s : float
        Settings used.
    """

    overall: SpanAgreement
    windows: list[SpanAgreement]
    phases: list[SpanAgreement]
    tolerance_s: float
    window_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "overall": self.overall.to_dict(),
            "windows": [w.to_dict() for w in self.windows],
            "phases": [p.to_dict() for p in self.phases],
            "tolerance_s": self.tolerance_s,
            "window_s": self.window_s,
        }


@dataclass
class _Pooled:
    n_ecg: int = 0
    n_strap: int = 0
    n_matched: int = 0
    ecg_unmatched: int = 0
    strap_unmatched: int = 0
    diffs: list[FloatArray] = dataclasses.field(default_factory=list)
    rr_diffs: list[FloatArray] = dataclasses.field(default_factory=list)
    offsets: list[float] = dataclasses.field(default_factory=list)

    def add(self, other: _Pooled) -> None:
        self.n_ecg += other.n_ecg
        self.n_strap += other.n_strap
        self.n_matched += other.n_matched
        self.ecg_unmatched += other.ecg_unmatched
        self.strap_unmatched += other.strap_unmatched
        self.diffs += other.diffs
        self.rr_diffs += other.rr_diffs
        self.offsets += other.offsets

    def result(self, label: str, start_s: float, end_s: float) -> SpanAgreement:
        def median_abs(parts: list[FloatArray]) -> float | None:
            values = np.concatenate(parts) if parts else np.empty(0)
            return float(np.median(np.abs(values))) if values.size else None

        return SpanAgreement(
            label=label, start_s=start_s, end_s=end_s, n_ecg=self.n_ecg,
            n_strap=self.n_strap, n_matched=self.n_matched,
            ecg_unmatched=self.ecg_unmatched, strap_unmatched=self.strap_unmatched,
            median_abs_diff_ms=median_abs(self.diffs),
            median_abs_rr_diff_ms=median_abs(self.rr_diffs),
            offset_s=float(np.median(self.offsets)) if self.offsets else None,
        )


def _covered(times: FloatArray, runs: FloatArray | None) -> npt.NDArray[np.bool_]:
    """Which times lie inside a run of ECG, :data:`ECG_EDGE_S` away from its ends."""
    if runs is None:
        return np.ones(times.size, dtype=bool)
    inside = np.zeros(times.size, dtype=bool)
    for start, end in runs:
        inside |= (times >= start + ECG_EDGE_S) & (times < end - ECG_EDGE_S)
    return inside


def _match_span(ecg: FloatArray, strap: FloatArray, start_s: float, end_s: float,
                tolerance_s: float, max_offset_s: float, fallback_offset_s: float,
                runs: FloatArray | None) -> _Pooled:
    """Match the beats of one span: the ECG's in ``[start, end)``, the strap's around it (so
    an offset never pushes a strap beat out of its span's count)."""
    e_lo, e_hi = np.searchsorted(ecg, [start_s, end_s], side="left")
    s_lo, s_hi = np.searchsorted(strap, [start_s - max_offset_s, end_s + max_offset_s],
                                 side="left")
    e = ecg[e_lo:e_hi]
    s = strap[s_lo:s_hi]
    match = match_beats(e, s, tolerance_s=tolerance_s, max_offset_s=max_offset_s)
    paired = not math.isnan(match.offset_s)
    # Without a pair (no ECG here) the strap's beats are placed by the session's offset.
    offset = match.offset_s if paired else fallback_offset_s
    # A pair belongs to the span of its ECG beat (all of them are inside); an unpaired strap
    # beat to the span its shifted time lies in.
    unpaired = s[match.strap_unmatched] + offset
    strap_left = int(((unpaired >= start_s) & (unpaired < end_s)
                      & _covered(unpaired, runs)).sum())
    n_matched = int(match.strap_index.size)
    return _Pooled(
        n_ecg=e.size, n_strap=n_matched + strap_left, n_matched=n_matched,
        ecg_unmatched=e.size - n_matched, strap_unmatched=strap_left,
        diffs=[match.diff_ms], rr_diffs=[match.rr_diff_ms],
        offsets=[match.offset_s] if paired else [],
    )


def beat_agreement(
    ecg_s: FloatArray,
    strap_s: FloatArray,
    phases: Sequence[PhaseSpan] = (),
    *,
    window_s: float = WINDOW_S,
    tolerance_s: float = TOLERANCE_S,
    max_offset_s: float = MAX_OFFSET_S,
    ecg_runs: Sequence[tuple[float, float]] | None = None,
) -> AgreementReport:
    """Agreement of the ECG's beats with the strap's, per window and per phase.

    Parameters
    ----------
    ecg_s : ndarray of float
        R-peak times from the ECG, s (e.g. ``StreamBeats.r_times_s``).
    strap_s : ndarray of float
        The strap's beat times by cumulative RR (:func:`strap_beat_times`), s.
    phases : sequence of PhaseSpan
        The session's phases; each is matched in windows of at most ``window_s``.
    window_s : float
        Window length, s (positive).
    tolerance_s, max_offset_s : float
        See :func:`match_beats`.
    ecg_runs : sequence of (start_s, end_s), optional
        The spans the ECG covers (``StreamBeats.runs``). When given, a strap beat left
        unpaired counts only inside them (:data:`ECG_EDGE_S` from their ends): a strap's ECG
        starts about 30 s after its heart rate and may lose frames, and a beat where there
        was no ECG is no disagreement.

    Returns
    -------
    AgreementReport
        Windows tile the span from the first to the last beat of either side (the strap's
        widened by ``max_offset_s``).

    Raises
    ------
    ValueError
        A non-positive window or tolerance, or beat times not increasing.
    """
    if not window_s > 0 or not tolerance_s > 0:
        raise ValueError(f"window_s and tolerance_s must be positive, got {window_s} and "
                         f"{tolerance_s}")
    ecg = np.asarray(ecg_s, dtype=np.float64)
    strap = np.asarray(strap_s, dtype=np.float64)
    for name, values in (("ecg_s", ecg), ("strap_s", strap)):
        bad = np.flatnonzero(np.diff(values) <= 0)
        if bad.size:
            raise ValueError(f"{name} must increase: beat {bad[0] + 1} at {values[bad[0] + 1]}"
                             f" s follows {values[bad[0]]} s")
    runs = None if ecg_runs is None else np.asarray(ecg_runs, dtype=np.float64).reshape(-1, 2)
    both = np.concatenate((ecg, strap))
    grid: list[tuple[float, float]] = []
    if both.size:
        # The strap's beats may lie up to max_offset_s either side of where they belong.
        first = min(both.min(), strap.min() - max_offset_s if strap.size else np.inf)
        last = max(both.max(), strap.max() + max_offset_s if strap.size else -np.inf)
        first, last = float(first), float(last)
        n = max(1, math.ceil((last - first) / window_s + 1e-9))
        if first + n * window_s <= last:
            n += 1
        grid = [(first + k * window_s, first + (k + 1) * window_s) for k in range(n)]
    # The session's offset, for spans without a pair: the median of the windows' offsets.
    offsets = [o for lo, hi in grid
               for o in _match_span(ecg, strap, lo, hi, tolerance_s, max_offset_s,
                                    0.0, runs).offsets]
    fallback = float(np.median(offsets)) if offsets else 0.0
    windows: list[SpanAgreement] = []
    overall = _Pooled()
    for k, (lo, hi) in enumerate(grid):
        pooled = _match_span(ecg, strap, lo, hi, tolerance_s, max_offset_s, fallback, runs)
        overall.add(pooled)
        windows.append(pooled.result(str(k), lo, hi))
    rows: list[SpanAgreement] = []
    for phase in phases:
        pooled = _Pooled()
        n = max(1, math.ceil((phase.end_s - phase.start_s) / window_s - 1e-9))
        for k in range(n):
            lo = phase.start_s + k * window_s
            hi = min(phase.end_s, lo + window_s)
            pooled.add(_match_span(ecg, strap, lo, hi, tolerance_s, max_offset_s, fallback,
                                   runs))
        rows.append(pooled.result(phase.phase_id, phase.start_s, phase.end_s))
    start = windows[0].start_s if windows else 0.0
    end = windows[-1].end_s if windows else 0.0
    return AgreementReport(overall=overall.result("all", start, end), windows=windows,
                           phases=rows, tolerance_s=tolerance_s, window_s=window_s)


def pooled_agreement(
    ecg_s: FloatArray,
    strap_s: FloatArray,
    spans: Sequence[tuple[float, float]],
    *,
    label: str = "spans",
    tolerance_s: float = TOLERANCE_S,
    max_offset_s: float = MAX_OFFSET_S,
    ecg_runs: Sequence[tuple[float, float]] | None = None,
) -> SpanAgreement:
    """Agreement pooled over ``spans``, each matched with its own offset.

    For spans whose ECG the source may have placed on the session clock with different
    offsets, such as the runs of ECG of one live window (a strap's first frames are placed
    before its clock offset is measured, and a stream that restarts is placed anew): one offset
    for all of them would leave the beats of all but one unpaired.

    Parameters
    ----------
    ecg_s, strap_s : ndarray of float
        As for :func:`beat_agreement` (increasing).
    spans : sequence of (start_s, end_s)
        Half-open spans on the ECG's times, s, not overlapping (each at most a window long:
        drift is not corrected within a span).
    label : str
        Label of the result.
    tolerance_s, max_offset_s : float
        See :func:`match_beats`.
    ecg_runs : sequence of (start_s, end_s), optional
        See :func:`beat_agreement`.

    Returns
    -------
    SpanAgreement
        From the first span's start to the last span's end (zeros without spans); its offset
        is the median of the spans'.
    """
    ecg = np.asarray(ecg_s, dtype=np.float64)
    strap = np.asarray(strap_s, dtype=np.float64)
    runs = None if ecg_runs is None else np.asarray(ecg_runs, dtype=np.float64).reshape(-1, 2)
    offsets = [o for lo, hi in spans
               for o in _match_span(ecg, strap, lo, hi, tolerance_s, max_offset_s, 0.0,
                                    runs).offsets]
    fallback = float(np.median(offsets)) if offsets else 0.0
    pooled = _Pooled()
    for lo, hi in spans:
        pooled.add(_match_span(ecg, strap, lo, hi, tolerance_s, max_offset_s, fallback, runs))
    start = spans[0][0] if spans else 0.0
    end = spans[-1][1] if spans else 0.0
    return pooled.result(label, start, end)
