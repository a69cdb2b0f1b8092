"""Incremental, gap-aware HRV indices for the live display (numpy only).

:class:`LiveHrv` is fed one corrected NN interval at a time (with the time of the beat that
ends it) and keeps Python lists of prefix sums (only as far back as a window can reach, so
a day-long session holds about an hour of them, not the day), so feeding a beat is a few
appends and every time-domain index of a trailing window costs O(log n) (a ``bisect`` from
the window's previous start). :meth:`LiveHrv.snapshot` is lazy and cached: computed on the
first call after beats, beat classes or spectral values changed. Spectral indices are
refreshed on a session-time cadence by :mod:`biofeedback.live.spectral` (incremental spline,
O(new beats) per refresh).

Windows and definitions (``t`` = time of the newest NN interval; a window of ``W`` s holds the
NN intervals of the current gap-free segment whose beat time is in ``(t - W, t]``; an index is
None, "not enough data", until the current segment spans at least its minimum duration,
measured from the start of the segment's first interval):

========================  =========  =========  ================================================
index                     window     minimum    definition
========================  =========  =========  ================================================
``hr_bpm``                10 s       5 s        ``60000 / mean(NN)``; 10 s smooths breathing
                                                without lagging a stressor response much
``rmssd_30_ms``           30 s       30 s       ``sqrt(mean(dNN^2))`` (Munoz et al. 2015:
                                                RMSSD usable from 10 s, near 5-min at 120 s)
``ln_rmssd_30``           30 s       30 s       natural log of RMSSD (ms)
``rmssd_60_ms``           60 s       60 s       as above
``sdnn_ms``               60 s       60 s       ``std(NN, ddof=1)`` (neurokit2 ``HRV_SDNN``)
``pnn50_pct``             60 s       60 s       ``100 * count(|dNN| > 50 ms) / n_diffs``;
                                                neurokit2 divides by the number of intervals
                                                (``n_diffs + 1``) instead
``sd1_ms``                60 s       60 s       ``sqrt(0.5) * std(dNN, ddof=1)`` (neurokit2
                                                ``HRV_SD1``)
``hf_ms2``                120 s      120 s      0.15-0.40 Hz Welch power (spectral.py); HF needs
                                                >= 67 s (Task Force 1996)
``lf_ms2``                300 s      300 s      0.04-0.15 Hz; LF needs >= 250 s (Task Force)
``breaths_per_min``    64 s       64 s       RSA peak frequency (spectral.py), 2 Hz
``coherence_*``           64 s       64 s       spectral.coherence, refreshed every 5 s
``artifact_pct``          60 s       1 beat     non-normal share of the raw beats classified in
                                                the last 60 s of session time, %
========================  =========  =========  ================================================

``dNN`` are successive differences *within* the segment: the first interval after a gap has
no predecessor (:meth:`LiveHrv.mark_gap`). HF, LF, breathing rate and coherence are refreshed
by :meth:`LiveHrv.refresh_spectral_if_due` (or inside :meth:`LiveHrv.add` with
``spectral_inline=True``) once the newest beat reached the next whole second after the last
refresh (coherence: the next multiple of 5 s), so at least one period of session time always
separates refreshes and any calling cadence refreshes; after a gap they are None until the new
segment covers their window again.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_right
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.hrv_indices import HF_BAND_HZ, LF_BAND_HZ, live_window_s
from biofeedback.core.types import Gap
from biofeedback.live import spectral

FloatArray = npt.NDArray[np.float64]

__all__ = ["LiveHrv", "LiveHrvSettings", "LiveIndices"]


@dataclass(frozen=True, slots=True)
class LiveIndices:
    """Snapshot of the live indices (None = not enough data; see the module docstring).

    Attributes
    ----------
    time_s : float
        Time of the newest NN interval used, s since session start.
    n_beats : int
        Corrected NN intervals received in the session.
    hr_bpm : float or None
        Heart rate over the last 10 s, bpm.
    rmssd_30_ms, rmssd_60_ms : float or None
        RMSSD over the last 30 s and 60 s, ms.
    ln_rmssd_30, ln_rmssd_60 : float or None
        Natural log of those RMSSD values (of ms).
    sdnn_ms : float or None
        SDNN over the last 60 s, ms.
    pnn50_pct : float or None
        pNN50 over the last 60 s, % of successive differences.
    sd1_ms : float or None
        Poincare SD1 over the last 60 s, ms.
    hf_ms2, lf_ms2 : float or None
        HF (0.15-0.40 Hz, last 120 s) and LF (0.04-0.15 Hz, last 300 s) power, ms^2.
    breaths_per_min : float or None
        Breathing-rate estimate from the last 64 s, breaths/min.
    coherence_ratio : float or None
        Peak / outside power ratio, last 64 s (spectral.coherence).
    coherence_score : float or None
        Our 0-10 coherence score (not HeartMath's proprietary 0-16 scale).
    artifact_pct : float or None
        Share of non-normal raw beats among those classified in the last 60 s, %.
    """

    time_s: float
    n_beats: int
    hr_bpm: float | None = None
    rmssd_30_ms: float | None = None
    ln_rmssd_30: float | None = None
    rmssd_60_ms: float | None = None
    ln_rmssd_60: float | None = None
    sdnn_ms: float | None = None
    pnn50_pct: float | None = None
    sd1_ms: float | None = None
    hf_ms2: float | None = None
    lf_ms2: float | None = None
    breaths_per_min: float | None = None
    coherence_ratio: float | None = None
    coherence_score: float | None = None
    artifact_pct: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """All fields as a plain dict (None kept)."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LiveHrvSettings:
    """Windows (s), minimum segment spans (s), bands (Hz) and refresh periods (s).

    Defaults are documented in the module docstring; the windows and bands are those of the
    HRV index registry (:mod:`biofeedback.core.hrv_indices`), the one place they are set.
    """

    hr_window_s: float = live_window_s("hr_bpm")
    hr_min_s: float = 5.0
    rmssd_short_s: float = live_window_s("rmssd_30_ms")
    rmssd_long_s: float = live_window_s("rmssd_60_ms")
    stats_window_s: float = live_window_s("sdnn_ms")
    hf_window_s: float = live_window_s("hf_ms2")
    lf_window_s: float = live_window_s("lf_ms2")
    hf_band_hz: tuple[float, float] = HF_BAND_HZ
    lf_band_hz: tuple[float, float] = LF_BAND_HZ
    breathing_window_s: float = live_window_s("breaths_per_min")
    coherence_window_s: float = live_window_s("coherence_score")
    spectral_period_s: float = 1.0
    coherence_period_s: float = 5.0
    artifact_window_s: float = live_window_s("artifact_pct")
    spectral_inline: bool = False
    """True: refresh spectral values inside :meth:`LiveHrv.add` when due. False (default):
    the caller calls :meth:`LiveHrv.refresh_spectral_if_due` (after batches, or from a
    timer), which keeps the per-beat path free of the spectral refresh (~0.2-0.5 ms)."""


_EPS = 1e-9


class LiveHrv:
    """Gap-aware incremental HRV of corrected NN intervals.

    Parameters
    ----------
    settings : LiveHrvSettings, optional
        Windows, bands and cadences.
    capacity : int
        Unused (kept for the interface).
    trim_every : int or None
        The prefix sums and the artifact counts keep only what a window can still reach:
        entries before every window start are dropped in steps of at least this many beats
        (a day is ~100,000 beats; a step of 2048 costs ~0.4 ms on that beat, once in ~30 min
        of session time). None keeps everything (for comparisons).

    Notes
    -----
    Prefix sums are kept of ``NN - offset`` (offset = the session's first interval, which keeps
    the sums small and their differences exact), its square, ``dNN``, ``dNN^2``, the count of
    valid differences and of ``|dNN| > 50 ms``. A window's sums are differences of two prefix
    entries, so each index costs O(1); window starts advance monotonically.
    """

    def __init__(self, settings: LiveHrvSettings | None = None, capacity: int = 8192,
                 trim_every: int | None = 2048) -> None:
        self.settings = settings or LiveHrvSettings()
        del capacity  # kept for the interface: storage is Python lists / arrays
        s = self.settings
        self._trim_every = trim_every
        self._next_trim = math.inf if trim_every is None else 2 * trim_every
        # Window starts of the indices read from the prefix sums lie within this much
        # session time before the newest beat.
        self._prefix_reach_s = max(s.hr_window_s, s.rmssd_short_s, s.rmssd_long_s,
                                   s.stats_window_s)
        self._inline = bool(s.spectral_inline)
        # beat times and NN intervals: lists for scalar reads, array('d') mirrors of the times
        # for cheap numpy copies of a window
        self._t_list: list[float] = []
        self._nn_list: list[float] = []
        self._t_arr = array("d")
        self._nn_arr = array("d")
        # prefix sums (entry k = sum over intervals [0, k)); Python lists of floats: O(1)
        # append and faster scalar reads than numpy on this per-beat path
        self._s1: list[float] = [0.0]
        self._s2: list[float] = [0.0]
        self._d1: list[float] = [0.0]
        self._d2: list[float] = [0.0]
        self._dc: list[float] = [0.0]
        self._p50: list[float] = [0.0]
        self._base = 0
        """Beat index of the first prefix entry kept (entry ``k`` is at ``[k - _base]``)."""
        self._offset: float | None = None
        self._seg_start = 0
        self._seg_t0 = 0.0
        self._new_segment = True
        self._last_nn = 0.0
        self._last_t = -math.inf
        self._lo: dict[float, int] = {}
        # artifact share of raw beats
        self._art_t: list[float] = []
        self._art_c: list[float] = [0.0]
        self._art_lo = 0  # index into the kept lists (their front is dropped as they age)
        # spectral state
        self._next_spectral = -math.inf
        self._next_coherence = -math.inf
        self._hf: float | None = None
        self._lf: float | None = None
        self._br: float | None = None
        self._coh: spectral.CoherenceResult | None = None
        self._resampler: spectral.SegmentResampler | None = None
        # cached snapshot: None when beats or spectral values changed since it was computed
        self._snap: LiveIndices | None = None

    # ------------------------------------------------------------------ feeding
    def mark_gap(self, gap: Gap | None = None) -> None:
        """Start a new gap-free segment with the next interval.

        Parameters
        ----------
        gap : Gap, optional
            The gap (kept for the interface; only its existence matters here).
        """
        del gap
        self._new_segment = True
        self._hf = self._lf = self._br = None
        self._coh = None
        self._snap = None

    def add(self, nn_ms: float, time_s: float) -> None:
        """Add one corrected NN interval, ms, ending at ``time_s``, s."""
        nn = float(nn_ms)
        t = float(time_s)
        if self._offset is None:
            self._offset = nn
        d2 = self._d2
        if self._new_segment or t <= self._last_t:
            self._seg_start = len(self._t_list)
            self._seg_t0 = t - nn / 1000.0
            self._new_segment = False
            self._next_spectral = -math.inf
            self._next_coherence = -math.inf
            self._hf = self._lf = self._br = None
            self._coh = None
            self._resampler = None
            self._d1.append(self._d1[-1])
            d2.append(d2[-1])
            self._dc.append(self._dc[-1])
            self._p50.append(self._p50[-1])
        else:
            d = nn - self._last_nn
            self._d1.append(self._d1[-1] + d)
            d2.append(d2[-1] + d * d)
            self._dc.append(self._dc[-1] + 1.0)
            self._p50.append(self._p50[-1] + (1.0 if (d > 50.0 or d < -50.0) else 0.0))
        self._t_list.append(t)
        self._nn_list.append(nn)
        self._t_arr.append(t)
        self._nn_arr.append(nn)
        x = nn - self._offset
        s1 = self._s1
        s1.append(s1[-1] + x)
        s2 = self._s2
        s2.append(s2[-1] + x * x)
        self._last_nn = nn
        self._last_t = t
        self._snap = None
        if len(s1) > self._next_trim:
            self._trim_prefix()
        if self._inline and t >= self._next_spectral:
            self._refresh_spectral(t)

    def refresh_spectral_if_due(self) -> bool:
        """Refresh HF, LF, breathing rate (and coherence, when its period is due) if due.

        Due means the newest beat reached the next multiple of ``spectral_period_s`` after
        the last refresh (so at least one period of session time has always passed when
        ``False`` is returned twice with a period between: calling at any cadence, e.g.
        every 7 s, refreshes on every call that follows a period's worth of beats).

        Returns
        -------
        bool
            True when a refresh ran.
        """
        if not self._t_list or self._last_t < self._next_spectral:
            return False
        self._refresh_spectral(self._last_t)
        return True

    def add_beat_class(self, time_s: float, is_artifact: bool) -> None:
        """Record the final class of one raw beat for ``artifact_pct``."""
        self._art_t.append(float(time_s))
        c = self._art_c
        c.append(c[-1] + (1.0 if is_artifact else 0.0))
        self._snap = None
        # artifact_pct's window start only advances: what lies before it is never read.
        if self._trim_every is not None and self._art_lo >= self._trim_every:
            del self._art_t[: self._art_lo]
            del c[: self._art_lo]
            self._art_lo = 0

    def _trim_prefix(self) -> None:
        """Drop the prefix entries before every window start still to come.

        A window start is in the current segment (whose beat times increase) and within
        ``_prefix_reach_s`` of the newest beat, which only moves on; a new segment starts
        later still. So no start can come before ``keep``.
        """
        assert self._trim_every is not None
        n = len(self._t_list)
        keep = bisect_right(self._t_list, self._last_t - self._prefix_reach_s,
                            self._seg_start, n)
        drop = keep - self._base
        if drop >= self._trim_every:
            for prefix in (self._s1, self._s2, self._d1, self._d2, self._dc, self._p50):
                del prefix[:drop]
            self._base = keep
        self._next_trim = len(self._s1) + self._trim_every

    # ------------------------------------------------------------------ windows
    @property
    def kept_prefix_entries(self) -> int:
        """Entries of each prefix sum held now (bounded by ``trim_every`` and the windows)."""
        return len(self._s1)

    @property
    def kept_artifact_entries(self) -> int:
        """Raw-beat classes held for ``artifact_pct`` now (bounded like the prefix sums)."""
        return len(self._art_t)

    @property
    def n_beats(self) -> int:
        """Corrected NN intervals received."""
        return len(self._t_list)

    def _window_start(self, width_s: float) -> int:
        """First interval index of the current segment with ``t > t_now - width_s``."""
        n = len(self._t_list)
        lo = self._lo.get(width_s, 0)
        if lo < self._seg_start:
            lo = self._seg_start
        lo = bisect_right(self._t_list, self._last_t - width_s, lo, n)
        self._lo[width_s] = lo
        return lo

    def _covers(self, span_s: float) -> bool:
        return len(self._t_list) > self._seg_start and self._last_t - self._seg_t0 >= span_s - _EPS

    def _rmssd(self, width_s: float) -> float | None:
        if not self._covers(width_s):
            return None
        lo = self._window_start(width_s) - self._base
        hi = len(self._t_list) - self._base
        # differences d_j for j in (lo, hi): prefix entries lo+1 .. hi
        m = self._dc[hi] - self._dc[lo + 1]
        if m < 1:
            return None
        ss = self._d2[hi] - self._d2[lo + 1]
        return math.sqrt(max(float(ss), 0.0) / m)

    # ------------------------------------------------------------------ spectral
    def _refresh_spectral(self, t_now: float) -> None:
        s = self.settings
        self._snap = None
        self._next_spectral = (
            math.floor(t_now / s.spectral_period_s + _EPS) * (s.spectral_period_s)
            + s.spectral_period_s
        )
        need = max(s.breathing_window_s, s.coherence_window_s)
        want_hf = self._covers(s.hf_window_s)
        want_lf = self._covers(s.lf_window_s)
        want_br = self._covers(need)
        if not (want_hf or want_lf or want_br):
            return
        if self._resampler is None:
            self._resampler = spectral.SegmentResampler(
                self._t_list, self._nn_list, self._seg_start, self._t_arr
            )
        widths = []
        if want_hf:
            widths.append(s.hf_window_s)
        if want_lf:
            widths.append(s.lf_window_s)
        share = want_hf and s.hf_window_s >= need
        if want_br and not share:
            widths.append(need)
        series = dict(
            zip(
                widths,
                self._resampler.resample([self._window_start(w) for w in widths]),
                strict=True,
            )
        )
        x4_hf = None
        if want_hf:
            x4_hf = series[s.hf_window_s]
            f, p = spectral.welch_psd(x4_hf, spectral.INTERPOLATION_RATE_HZ)
            self._hf = spectral.band_power(f, p, *s.hf_band_hz)
        if want_lf:
            f, p = spectral.welch_psd(series[s.lf_window_s], spectral.INTERPOLATION_RATE_HZ)
            self._lf = spectral.band_power(f, p, *s.lf_band_hz)
        if want_br:
            # the tail of the HF series when it is long enough: same spline
            x4 = x4_hf if share and x4_hf is not None else series[need]
            # one 2 Hz, 64 s periodogram (nfft 1024) serves breathing rate and coherence
            n_win = round(need * spectral.INTERPOLATION_RATE_HZ)
            f2, p2 = spectral.periodogram(x4[-n_win:][::2], 2.0, 1024)
            self._br = spectral.breathing_rate_from(f2, p2)
            if t_now >= self._next_coherence:
                self._next_coherence = (
                    math.floor(t_now / s.coherence_period_s + _EPS) * (s.coherence_period_s)
                    + s.coherence_period_s
                )
                self._coh = spectral.coherence_from(f2, p2)

    # ------------------------------------------------------------------ snapshot
    def artifact_pct(self) -> float | None:
        """Non-normal share of raw beats classified in the last ``artifact_window_s``, %."""
        t = self._art_t
        n = len(t)
        if n == 0:
            return None
        lo = bisect_right(t, t[n - 1] - self.settings.artifact_window_s, self._art_lo, n)
        self._art_lo = lo
        c = self._art_c
        return 100.0 * (c[n] - c[lo]) / (n - lo)

    def snapshot(self) -> LiveIndices:
        """The current indices, cached until a beat, beat class or spectral refresh arrives."""
        snap = self._snap
        if snap is None:
            snap = self._snap = self.compute_snapshot()
        return snap

    def compute_snapshot(self) -> LiveIndices:
        """The current indices computed afresh (O(log n); :meth:`snapshot` caches this)."""
        s = self.settings
        n = len(self._t_list)
        if n == 0:
            return LiveIndices(time_s=0.0, n_beats=0, artifact_pct=self.artifact_pct())
        hr = None
        base = self._base
        end = n - base  # the prefix entry of all n intervals
        if self._covers(s.hr_min_s):
            lo = self._window_start(s.hr_window_s)
            cnt = n - lo
            mean = float(self._s1[end] - self._s1[lo - base]) / cnt + (self._offset or 0.0)
            hr = 60000.0 / mean if mean > 0 else None
        r30 = self._rmssd(s.rmssd_short_s)
        r60 = self._rmssd(s.rmssd_long_s)
        sdnn = pnn50 = sd1 = None
        if self._covers(s.stats_window_s):
            lo = self._window_start(s.stats_window_s)
            cnt = n - lo
            lo -= base
            if cnt >= 2:
                a = float(self._s1[end] - self._s1[lo])
                b = float(self._s2[end] - self._s2[lo])
                sdnn = math.sqrt(max(b - a * a / cnt, 0.0) / (cnt - 1))
            m = float(self._dc[end] - self._dc[lo + 1])
            if m >= 1:
                pnn50 = 100.0 * float(self._p50[end] - self._p50[lo + 1]) / m
            if m >= 2:
                d1 = float(self._d1[end] - self._d1[lo + 1])
                d2 = float(self._d2[end] - self._d2[lo + 1])
                sd1 = math.sqrt(0.5 * max(d2 - d1 * d1 / m, 0.0) / (m - 1))
        coh = self._coh
        return LiveIndices(
            time_s=float(self._last_t),
            n_beats=n,
            hr_bpm=hr,
            rmssd_30_ms=r30,
            ln_rmssd_30=math.log(r30) if r30 else None,
            rmssd_60_ms=r60,
            ln_rmssd_60=math.log(r60) if r60 else None,
            sdnn_ms=sdnn,
            pnn50_pct=pnn50,
            sd1_ms=sd1,
            hf_ms2=self._hf,
            lf_ms2=self._lf,
            breaths_per_min=self._br,
            coherence_ratio=coh.ratio if coh else None,
            coherence_score=coh.score if coh else None,
            artifact_pct=self.artifact_pct(),
        )

    # ------------------------------------------------------------------ access for tests
    def segment_arrays(self) -> tuple[FloatArray, FloatArray]:
        """Copies of the current segment's beat times (s) and NN intervals (ms)."""
        a, b = self._seg_start, len(self._t_list)
        return np.frombuffer(self._t_arr[a:b]).copy(), np.frombuffer(self._nn_arr[a:b]).copy()
