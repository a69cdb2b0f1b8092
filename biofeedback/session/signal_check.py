"""The live check of a strap's raw streams: RR from its ECG against its own beats, and the
breathing rate from its accelerometer, every few wall-clock seconds, off the event loop.

:class:`LiveSignalCheck` keeps the last ~70 s of ECG and ACC chunks and of the strap's beats
as they arrive (O(chunk), no computing). When :meth:`LiveSignalCheck.poll` finds that
``period_s`` of wall-clock time has passed since the last job started, that the last job has
finished and that chunks arrived since, it sends a :class:`SignalCheckJob` to the session's
neurokit2 worker process (:class:`~biofeedback.live.nk_worker.NeuroKitWorker`, which then
runs two kinds of job: one neurokit2 import per session, not two). As for the HRV window, the
cadence follows the wall clock, so a max-speed replay is not slowed, and at most one job of
each kind is in flight. The job (:meth:`SignalCheckJob.run`, in the worker):

1. R-peaks of the ECG with :func:`~biofeedback.analysis.ecg_stream.rr_from_ecg_chunks`
   (neurokit2 ``ecg_peaks``, parabolic refinement; method, keyword arguments and version
   recorded);
2. the strap's beats by cumulative RR (:func:`~biofeedback.analysis.beat_agreement.
   strap_beat_times`) matched with them over the window (:func:`~biofeedback.analysis.
   beat_agreement.pooled_agreement`): the window ends :data:`SETTLE_S` before the older of
   the two streams' newest data, so that the strap's notification of a beat (up to ~1 s
   late) and the ECG frame holding it have both arrived; it starts ``window_s`` (60 s)
   earlier, or :data:`ECG_LEAD_S` after the first ECG sample kept (the ECG filters' start
   transient). Each run of consecutive ECG samples in it is matched with its own offset (a
   source may place a stream anew: its first frames before the clock offset is measured, a
   restart), from :data:`ECG_LEAD_S` after its start (runs shorter than
   :data:`~biofeedback.analysis.ecg_stream.MIN_RUN_S` are not searched, so not compared);
3. the same matching over the part of the window that no earlier job counted (from the
   previous window's end), which is what the session totals add: overlapping windows never
   count a beat twice;
4. the breathing rate of the last ``window_s`` of ACC
   (:func:`~biofeedback.core.acc_breathing.breathing_in_span`) with its quality flag.

The analysis functions are imported inside :meth:`SignalCheckJob.run`, in the worker only:
importing this module costs the session nothing (no scipy.signal, no neurokit2).
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Beat, Gap
from biofeedback.live.nk_worker import JobFailed, NeuroKitWorker
from biofeedback.live.signal_check import (
    AgreementTotals,
    EcgAgreement,
    SignalCheckResult,
    SignalCheckUpdate,
)

if TYPE_CHECKING:
    from biofeedback.analysis.beat_agreement import SpanAgreement
    from biofeedback.core.acc_breathing import AccBreathing

__all__ = ["ECG_LEAD_S", "KIND", "SETTLE_S", "LiveSignalCheck", "SignalCheckJob"]

FloatArray = npt.NDArray[np.float64]

KIND = "signal-check"
"""The job kind in the worker process."""
WINDOW_S = 60.0
"""Length of the checked window, s (the breathing windows' and the agreement windows')."""
SETTLE_S = 2.0
"""The window ends this long before the older of the two streams' newest data, s: more than
the largest offset the matching allows between the strap's beats and the ECG (1.5 s), so a
beat at the window's end has arrived on both sides."""
ECG_LEAD_S = 1.0
"""ECG kept before the window, and skipped after the first sample kept, s: the cleaning
filter's start transient."""
_KEEP_MARGIN_S = 10.0
"""Data kept beyond the window, s (the lead, the settle time, and room for late chunks)."""


@dataclass(frozen=True)
class SignalCheckJob:
    """One check, as sent to the worker process (pickled).

    Attributes
    ----------
    ecg, acc : tuple of SignalChunk
        The chunks kept of each stream, in stream order (empty: no such stream).
    strap_rr_ms, strap_time_s : ndarray of float
        The strap's raw RR intervals (ms) and beat times (s) kept.
    gaps : tuple of Gap
        Gaps among those beats.
    counted_until_s : float or None
        End of the previous window (the session totals hold everything before it).
    window_s : float
        Window length, s.
    """

    ecg: tuple[SignalChunk, ...]
    acc: tuple[SignalChunk, ...]
    strap_rr_ms: FloatArray
    strap_time_s: FloatArray
    gaps: tuple[Gap, ...]
    counted_until_s: float | None
    window_s: float = WINDOW_S

    @property
    def kind(self) -> str:
        """:data:`KIND`."""
        return KIND

    def run(self) -> SignalCheckResult:
        """Compute the check (in the worker process: imports neurokit2 and scipy).

        Returns
        -------
        SignalCheckResult
            A half that raised gives its error text and the other half its values.
        """
        started = time.perf_counter()
        ecg = new = None
        provenance: dict[str, object] = {}
        ecg_error = acc_error = None
        breathing = None
        if self.ecg:
            try:
                ecg, new, provenance = self._agreement()
            except Exception as exc:  # broad: one half must not hide the other
                ecg_error = f"{type(exc).__name__}: {exc}"
        if self.acc:
            try:
                breathing = self._breathing()
            except Exception as exc:  # broad: as above
                acc_error = f"{type(exc).__name__}: {exc}"
        return SignalCheckResult(
            ecg=ecg, ecg_new=new, ecg_provenance=provenance, breathing=breathing,
            ecg_error=ecg_error, acc_error=acc_error,
            compute_s=time.perf_counter() - started,
        )

    def _agreement(self) -> tuple[EcgAgreement | None, EcgAgreement | None, dict[str, object]]:
        from biofeedback.analysis.beat_agreement import pooled_agreement, strap_beat_times
        from biofeedback.analysis.ecg_stream import MIN_RUN_S, rr_from_ecg_chunks

        beats = rr_from_ecg_chunks(self.ecg)
        strap = strap_beat_times(self.strap_rr_ms, self.strap_time_s, self.gaps)
        newest = float(self.ecg[-1].times_s()[-1])
        if strap.size:
            newest = min(newest, float(strap[-1]))
        end = newest - SETTLE_S
        # Each run of ECG is matched with its own offset: a source may place a stream anew
        # (a restart, its first frames before the clock offset was measured). Runs too short
        # to be searched for R-peaks are no ECG to compare with.
        searched = [(lo, hi) for lo, hi in beats.runs if hi - lo >= MIN_RUN_S]
        runs = [(lo + ECG_LEAD_S, hi) for lo, hi in searched]
        start = max(end - self.window_s, runs[0][0]) if runs else end
        if end <= start:
            return None, None, beats.provenance()
        window = _agreement_of(pooled_agreement(
            beats.r_times_s, strap, _clip(runs, start, end), label="window",
            ecg_runs=searched), start, end)
        new_start = start if self.counted_until_s is None else max(start, self.counted_until_s)
        new = None
        if new_start < end:
            new = _agreement_of(pooled_agreement(
                beats.r_times_s, strap, _clip(runs, new_start, end), label="new",
                ecg_runs=searched), new_start, end)
        return window, new, beats.provenance()

    def _breathing(self) -> AccBreathing:
        from biofeedback.core.acc_breathing import breathing_in_span, respiration_from_chunks

        resp = respiration_from_chunks(self.acc)
        end = float(self.acc[-1].times_s()[-1])
        start = max(self.acc[0].t0_s, end - self.window_s)
        return breathing_in_span(resp, start, end)


def _clip(runs: list[tuple[float, float]], start_s: float, end_s: float
          ) -> list[tuple[float, float]]:
    """The parts of ``runs`` inside ``[start_s, end_s)``."""
    return [(max(lo, start_s), min(hi, end_s)) for lo, hi in runs
            if min(hi, end_s) > max(lo, start_s)]


def _agreement_of(row: SpanAgreement, start_s: float, end_s: float) -> EcgAgreement:
    return EcgAgreement(
        start_s=start_s, end_s=end_s, n_ecg=row.n_ecg, n_strap=row.n_strap,
        n_matched=row.n_matched, ecg_unmatched=row.ecg_unmatched,
        strap_unmatched=row.strap_unmatched, median_abs_diff_ms=row.median_abs_diff_ms,
        median_abs_rr_diff_ms=row.median_abs_rr_diff_ms, offset_s=row.offset_s,
    )


class _ChunkBuffer:
    """The chunks of one stream of the last ``keep_s``, in order and never overlapping."""

    def __init__(self, keep_s: float) -> None:
        self.keep_s = keep_s
        self.chunks: deque[SignalChunk] = deque()

    def add(self, chunk: SignalChunk) -> None:
        if chunk.n_samples == 0:
            return
        chunks = self.chunks
        # A stream restarted (its indices went back), or a chunk re-placed earlier than the
        # newest kept (a strap's first frames are mapped before its clock offset is known):
        # the newer placement wins; the index jump then starts a new ECG run.
        if chunks and chunk.first_index < chunks[-1].first_index + chunks[-1].n_samples:
            chunks.clear()
        while chunks and _last_time(chunks[-1]) >= chunk.t0_s:
            chunks.pop()
        chunks.append(chunk)
        horizon = _last_time(chunk) - self.keep_s
        while chunks and _last_time(chunks[0]) < horizon:
            chunks.popleft()

    def span_s(self) -> float:
        if not self.chunks:
            return 0.0
        return _last_time(self.chunks[-1]) - self.chunks[0].t0_s


def _last_time(chunk: SignalChunk) -> float:
    return chunk.t0_s + (chunk.n_samples - 1) / chunk.rate_hz


class LiveSignalCheck:
    """Feeds the live check of ECG and ACC to the worker process on a wall-clock cadence.

    Parameters
    ----------
    worker : NeuroKitWorker
        The session's neurokit2 worker process (shared with the HRV window).
    period_s : float
        Wall-clock seconds between job starts (default 5 s); a job starts only when the
        previous one has finished and chunks arrived since.
    window_s : float
        Checked window, s (default 60 s).
    min_span_s : float
        Least ECG or ACC kept before a first job, s (default 10 s: neurokit2's detector and
        the breath counter need a few beats and breaths).
    clock : callable
        Wall clock, s (``time.monotonic``; injectable for tests).
    """

    def __init__(
        self,
        worker: NeuroKitWorker,
        *,
        period_s: float = 5.0,
        window_s: float = WINDOW_S,
        min_span_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.worker = worker
        self.period_s = float(period_s)
        self.window_s = float(window_s)
        self.min_span_s = float(min_span_s)
        self._clock = clock
        keep = self.window_s + _KEEP_MARGIN_S
        self._ecg = _ChunkBuffer(keep)
        self._acc = _ChunkBuffer(keep)
        self._beats: deque[tuple[float, float]] = deque()
        self._gaps: deque[Gap] = deque()
        self._fresh: set[str] = set()
        """Streams with chunks since the last job: a stream that stopped is not checked again
        on what is left of it."""
        self._next_start = -math.inf
        self._counted_until: float | None = None
        self.totals = AgreementTotals()
        """The session's ECG agreement totals so far."""
        self.latest: SignalCheckUpdate | None = None
        """The newest update (None before the first)."""

    # -- feeding (cheap, per event) -----------------------------------------------------------

    def add_chunk(self, chunk: SignalChunk) -> None:
        """Keep an ECG or ACC chunk (other streams are ignored)."""
        if chunk.stream == "ecg":
            self._ecg.add(chunk)
        elif chunk.stream == "acc":
            self._acc.add(chunk)
        else:
            return
        self._fresh.add(chunk.stream)

    def add_beats(self, beats: Iterable[Beat]) -> None:
        """Keep the strap's beats (raw RR and beat times)."""
        kept = self._beats
        for beat in beats:
            kept.append((beat.rr_ms, beat.time_s))
        self._trim()

    def add_intervals(self, rr_ms: Iterable[float], time_s: Iterable[float]) -> None:
        """Keep the strap's beats given as raw RR (ms) and beat times (s), e.g. a run's."""
        self._beats.extend(zip(rr_ms, time_s, strict=True))
        self._trim()

    def _trim(self) -> None:
        """Forget the beats and gaps older than the window needs."""
        kept = self._beats
        if kept:
            horizon = kept[-1][1] - self.window_s - _KEEP_MARGIN_S
            while kept and kept[0][1] < horizon:
                kept.popleft()
            while self._gaps and self._gaps[0].end_s < horizon:
                self._gaps.popleft()

    def add_gap(self, gap: Gap) -> None:
        """Keep a gap among the strap's beats."""
        self._gaps.append(gap)

    def reset(self) -> None:
        """Forget what is kept (a replay jumped); totals stay, counting restarts at the jump."""
        self._ecg.chunks.clear()
        self._acc.chunks.clear()
        self._beats.clear()
        self._gaps.clear()
        self._fresh.clear()
        self._counted_until = None

    # -- the cadence --------------------------------------------------------------------------

    def poll(self) -> SignalCheckUpdate | None:
        """Take a finished job in and start the next when due; never blocks.

        Returns
        -------
        SignalCheckUpdate or None
            The update a job just brought (once), else None.
        """
        update = self._collect()
        if not self._fresh or self.worker.busy(KIND):
            return update
        now = self._clock()
        if now < self._next_start:
            return update
        if max(self._ecg.span_s(), self._acc.span_s()) < self.min_span_s:
            return update
        job = self.job()
        self._next_start = now + self.period_s
        if self.worker.submit(job):
            self._fresh.clear()
        elif not self.worker.alive and (self.latest is None or self.latest.error is None):
            update = self._failed("the neurokit2 worker process has stopped")
        return update

    def job(self) -> SignalCheckJob:
        """The job for what is kept now (of the streams with chunks since the last job)."""
        beats = np.asarray(self._beats, dtype=np.float64).reshape(-1, 2)
        return SignalCheckJob(
            ecg=tuple(self._ecg.chunks) if "ecg" in self._fresh else (),
            acc=tuple(self._acc.chunks) if "acc" in self._fresh else (),
            strap_rr_ms=beats[:, 0].copy(),
            strap_time_s=beats[:, 1].copy(),
            gaps=tuple(self._gaps),
            counted_until_s=self._counted_until,
            window_s=self.window_s,
        )

    def _collect(self) -> SignalCheckUpdate | None:
        item = self.worker.take(KIND)
        if item is None:
            return None
        if isinstance(item, JobFailed):
            return self._failed(item.error)
        assert isinstance(item, SignalCheckResult)
        self.totals = self.totals.plus(item.ecg_new)
        if item.ecg is not None:
            self._counted_until = item.ecg.end_s
        self.latest = SignalCheckUpdate(item, self.totals)
        return self.latest

    def _failed(self, error: str) -> SignalCheckUpdate:
        self.latest = SignalCheckUpdate(SignalCheckResult(None, None), self.totals, error)
        return self.latest

    def wait(self, timeout_s: float = 60.0) -> SignalCheckUpdate | None:
        """Block until the job in flight (if any) finishes and take it in; for tests and
        benchmarks."""
        self.worker.wait(timeout_s)
        return self._collect()
