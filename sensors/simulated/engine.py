"""The simulated strap's inner workings: beats -> detections -> notifications, incrementally.

Heart Rate Measurement notifications come about once per second (docs/domain.md section 1). The
strap starts its notification clock at its first detected beat: notification ``n``
(n = 1, 2, ...) is sent at ``first_beat + (n - 1) x interval_s`` and received after a link
latency drawn uniformly from 10-40 ms (model choice: one to a few BLE connection intervals of
7.5-50 ms); the first one arrives after the minimum, 10 ms. It carries the RR of every
detection completed (on the strap's 1/1024 s tick clock) since the previous one: 0..n values.

Starting at a beat with the minimal latency means a beat clock anchored on the first
notification (:class:`~biofeedback.core.beat_clock.BeatClock`) places every beat 10 ms after
its true time and never after its receive time, until a lost notification forces it to
re-anchor.

The engine advances by receive time. Whether it is driven one notification at a time (the
strap source) or for a whole day at once (:func:`simulate_recording`), the result is the
same, to the bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.growable import GrowableArray
from sensors.simulated._streams import IndexedStream, Stream, check_seed
from sensors.simulated.artifacts import (
    KIND_NAMES,
    ArtifactInjector,
    ArtifactRates,
)
from sensors.simulated.physiology import (
    BeatGenerator,
    CleanBeats,
    PhysiologyParams,
    PhysiologySegment,
    Schedule,
)
from sensors.simulated.truth import (
    DroppedNotification,
    SimulationGroundTruth,
    build_artifact_events,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DEFAULT_INTERVAL_S = 1.0
"""Notification period of the Heart Rate Measurement, s (docs/domain.md section 1)."""
LATENCY_RANGE_S = (0.010, 0.040)
"""Receive latency after the strap sends a notification, s (model choice, module notes)."""
RR_RESOLUTION_S = 1.0 / 1024.0
"""RR values travel in units of 1/1024 s (docs/domain.md section 1)."""
HR_WINDOW_BEATS = 4
"""The strap's own heart rate is 60000 / mean of its last 4 RR (model choice)."""


class _Unchanged:
    """Marker type of :data:`UNCHANGED`."""

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Any = _Unchanged()
"""Default of :meth:`SimulationEngine.set_conditions` arguments: keep the current value."""


@dataclass(frozen=True, slots=True)
class NotificationBlock:
    """Consecutive notifications, dropped ones included, with their RR values.

    Attributes
    ----------
    index : ndarray of int
        Notification numbers.
    received_s : ndarray of float
        Receive times, s.
    dropped : ndarray of bool
        Lost on the link (the host never sees them).
    heart_rate_bpm : ndarray of float
        The strap's own heart rate, bpm (NaN before its first beat).
    offsets : ndarray of int
        ``rr_ms[offsets[i]:offsets[i+1]]`` are the RR of notification i.
    rr_ms : ndarray of float
        RR values, ms, oldest first.
    """

    index: IntArray
    received_s: FloatArray
    dropped: BoolArray
    heart_rate_bpm: FloatArray
    offsets: IntArray
    rr_ms: FloatArray

    def __len__(self) -> int:
        return int(self.index.size)


class SimulationEngine:
    """Incremental simulation of one strap session.

    Parameters
    ----------
    seed : int
        Seed of every random choice (non-negative).
    schedule : sequence of PhysiologySegment, optional
        Conditions over time; default one resting segment.
    artifacts : ArtifactRates, optional
        Artifact probabilities; default none.
    params : PhysiologyParams, optional
        Model constants.
    interval_s : float
        Notification period, s. Default 1.
    rr_resolution_s : float or None
        Resolution of the delivered RR, s; default 1/1024. None keeps full precision.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        schedule: Sequence[PhysiologySegment] | None = None,
        artifacts: ArtifactRates | None = None,
        params: PhysiologyParams | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        rr_resolution_s: float | None = RR_RESOLUTION_S,
    ) -> None:
        self.seed = check_seed(seed)
        self.params = params or PhysiologyParams()
        self.rates = artifacts or ArtifactRates()
        if not interval_s > 0.2:
            raise ValueError(f"interval_s must exceed 0.2 s, got {interval_s}")
        if rr_resolution_s is not None and not 0 < rr_resolution_s < 0.1:
            raise ValueError(f"rr_resolution_s must be within (0, 0.1) s, got {rr_resolution_s}")
        self.interval_s = float(interval_s)
        self.rr_resolution_s = rr_resolution_s
        self._schedule = Schedule(schedule or [PhysiologySegment()], self.params)
        self._gen = BeatGenerator(self.seed, self._schedule)
        self._inj = ArtifactInjector(self.seed, self.rates)
        self._latency = IndexedStream(self.seed, Stream.NOTIFICATION_LATENCY)
        self._drop = IndexedStream(self.seed, Stream.NOTIFICATION_DROP)
        self._n_next = 1
        self._origin: float | None = None
        self._buf = CleanBeats(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0))
        """Clean beats taken from the generator but not yet sent."""
        self._taken_until = 0.0
        """Every clean beat up to this time has left the generator, s."""
        self._received_until = 0.0
        self._k_first: int | None = None
        self._prev_quant: float | None = None
        self._hr_tail = np.empty(0)
        # The ground truth, appended to per notification block for as long as the session
        # runs: growable arrays (8 bytes a value), not lists of each block's small arrays
        # (~100 bytes of header each, and views that kept whole merged pools alive).
        self._chunks: dict[str, GrowableArray] = {
            name: GrowableArray(dtype)
            for name, dtype in (("clean_t", float), ("clean_rr", float), ("s_t", float),
                                ("s_rr", float), ("s_kind", np.int64), ("s_k", np.int64),
                                ("s_n", np.int64), ("n_t", float), ("n_drop", bool))
        }
        self._truth: SimulationGroundTruth | None = None

    # -- notifications -----------------------------------------------------------------------

    def _quantise(self, time_s: FloatArray) -> FloatArray:
        """Times on the strap's own tick clock (its RR resolution), s."""
        res = self.rr_resolution_s
        return time_s if res is None else np.rint(time_s / res) * res

    def _ensure_origin(self) -> float:
        """Strap-clock time of the first notification: the first beat after session start."""
        horizon = 2.0
        while self._origin is None:
            beats = self._session_beats(self._gen.take(horizon))
            self._taken_until = horizon
            if len(beats):
                self._buf = beats
                self._origin = float(self._quantise(beats.time_s[:1])[0])
            horizon += 2.0
        return self._origin

    def _send_times(self, n0: int, n1: int) -> FloatArray:
        origin = self._ensure_origin()
        return origin + np.arange(n0 - 1, n1 - 1, dtype=float) * self.interval_s

    def _receive_times(self, n0: int, n1: int) -> FloatArray:
        lo, hi = LATENCY_RANGE_S
        latency = lo + (hi - lo) * self._latency.get(n0 - 1, n1 - 1)
        if n0 == 1 and n1 > 1:
            latency[0] = lo  # first notification: see the class notes
        return self._send_times(n0, n1) + latency

    def next_notification_s(self) -> float:
        """Receive time of the next notification, s."""
        return float(self._receive_times(self._n_next, self._n_next + 1)[0])

    @property
    def received_until_s(self) -> float:
        """Receive time of the last notification produced, s (0 before any)."""
        return self._received_until

    @property
    def notifications_sent(self) -> int:
        """Number of notifications produced so far, dropped ones included."""
        return self._n_next - 1

    def advance(self, until_s: float) -> NotificationBlock:
        """Produce every notification received at or before ``until_s`` (s)."""
        n0 = self._n_next
        origin = self._ensure_origin()
        # Receive time >= send time: nothing beyond this notification number.
        n_hi = max(math.floor((until_s - origin) / self.interval_s) + 1, n0 - 1)
        recv = self._receive_times(n0, n_hi + 1)
        count = int(np.searchsorted(recv, until_s, side="right"))
        if count == 0:
            e_i = np.empty(0, dtype=np.int64)
            return NotificationBlock(e_i, np.empty(0), np.empty(0, dtype=bool), np.empty(0),
                                     np.zeros(1, dtype=np.int64), np.empty(0))
        recv = recv[:count]
        idx = np.arange(n0, n0 + count, dtype=np.int64)
        sent = self._send_times(n0, n0 + count)
        last_sent = float(sent[-1])
        # Clean beats whose detection, on the strap's tick clock, is at or before the last
        # send time; the rest wait for the next call.
        margin = self.rr_resolution_s or 0.0
        pool = self._buf
        more = self._gen.take(last_sent + margin)
        self._taken_until = max(self._taken_until, last_sent + margin)
        if len(more):
            pool = CleanBeats(np.concatenate((pool.k, more.k)),
                              np.concatenate((pool.time_s, more.time_s)),
                              np.concatenate((pool.rr_ms, more.rr_ms)))
        n_use = int(np.searchsorted(self._quantise(pool.time_s), last_sent, side="right"))
        clean = CleanBeats(pool.k[:n_use], pool.time_s[:n_use], pool.rr_ms[:n_use])
        self._buf = CleanBeats(pool.k[n_use:], pool.time_s[n_use:], pool.rr_ms[n_use:])
        det = self._inj.process(clean)
        # Each detection goes with the first notification sent at or after its release.
        which = np.searchsorted(sent, self._quantise(det.release_s), side="left")
        rr = self._rr_of(det.time_s)
        dropped = self._drop.get(n0 - 1, n0 - 1 + count) < self.rates.dropped_notification
        offsets = np.searchsorted(which, np.arange(count + 1), side="left").astype(np.int64)
        hr = self._heart_rate(rr, offsets)

        c = self._chunks
        c["clean_t"].extend(clean.time_s)
        c["clean_rr"].extend(clean.rr_ms)
        c["s_t"].extend(det.time_s)
        c["s_rr"].extend(rr)
        c["s_kind"].extend(det.kind)
        c["s_k"].extend(det.clean_k)
        c["s_n"].extend(idx[which])
        c["n_t"].extend(recv)
        c["n_drop"].extend(dropped)
        self._truth = None
        self._n_next = n0 + count
        self._received_until = float(recv[-1])
        return NotificationBlock(idx, recv, dropped, hr, offsets, rr)

    def _session_beats(self, clean: CleanBeats) -> CleanBeats:
        """Drop the pre-roll beats (time <= 0) and remember the last one as predecessor."""
        if self._k_first is not None:
            return clean
        keep = clean.time_s > 0.0
        if not keep.any():
            if len(clean):
                self._inj.set_previous(float(clean.time_s[-1]))
                self._prev_quant = float(clean.time_s[-1])
            return CleanBeats(clean.k[:0], clean.time_s[:0], clean.rr_ms[:0])
        first = int(np.argmax(keep))
        if first == 0:
            raise RuntimeError("pre-roll too short: no beat before session start")
        self._k_first = int(clean.k[first])
        self._inj.set_previous(float(clean.time_s[first - 1]))
        self._prev_quant = float(clean.time_s[first - 1])
        return CleanBeats(clean.k[first:], clean.time_s[first:], clean.rr_ms[first:])

    def _rr_of(self, time_s: FloatArray) -> FloatArray:
        """RR (ms) between successive detection times, at the strap's resolution."""
        if time_s.size == 0:
            return np.empty(0)
        prev = self._prev_quant
        assert prev is not None
        res = self.rr_resolution_s
        if res is None:
            ends = np.concatenate(([prev], time_s))
            self._prev_quant = float(time_s[-1])
            return np.diff(ends) * 1000.0
        ticks = np.rint(np.concatenate(([prev], time_s)) / res)
        self._prev_quant = float(time_s[-1])
        # Whole ticks, converted as a parser would: raw x 1000 / 1024 for 1/1024 s.
        return np.diff(ticks) * (res * 1000.0)

    def _heart_rate(self, rr: FloatArray, offsets: IntArray) -> FloatArray:
        tail = self._hr_tail
        ext = np.concatenate((np.full(HR_WINDOW_BEATS - 1, np.nan), tail, rr))
        win = np.lib.stride_tricks.sliding_window_view(ext, HR_WINDOW_BEATS)
        valid = (~np.isnan(win)).sum(axis=1)
        total = np.nansum(win, axis=1)
        # Window ending at item j of (tail + rr) is win[j]; notification i ends at
        # len(tail) + offsets[i+1] items.
        end = tail.size + offsets[1:] - 1
        hr = np.full(end.size, np.nan)
        ok = end >= 0
        hr[ok] = np.rint(60000.0 * valid[end[ok]] / total[end[ok]])
        self._hr_tail = np.concatenate((tail, rr))[-HR_WINDOW_BEATS:]
        return hr

    # -- conditions --------------------------------------------------------------------------

    @property
    def schedule(self) -> tuple[PhysiologySegment, ...]:
        """Segments in force, run-time changes included."""
        return self._schedule.segments

    def set_conditions(
        self,
        at_s: float,
        *,
        mean_hr_bpm: float | None = UNCHANGED,
        breaths_per_min: float = UNCHANGED,
        vagal_level: float = UNCHANGED,
        transition_s: float = UNCHANGED,
    ) -> PhysiologySegment:
        """Move to new conditions from about ``at_s`` (s) on; omitted values are kept.

        The change starts on the first model grid point beyond both ``at_s`` and every beat
        already delivered (at most ~0.15 s later) and follows the usual smooth transition.
        Scheduled segments after that point are dropped: the caller now drives.
        ``mean_hr_bpm=None`` lets the heart rate follow the vagal level.

        Returns
        -------
        PhysiologySegment
            The segment added, with its actual ``start_s``.
        """
        changes = {
            name: value
            for name, value in (
                ("mean_hr_bpm", mean_hr_bpm),
                ("breaths_per_min", breaths_per_min),
                ("vagal_level", vagal_level),
                ("transition_s", transition_s),
            )
            if value is not UNCHANGED
        }
        grid_hz = self.params.grid_hz
        earliest = max(float(at_s), self._taken_until) + self.params.max_jitter_s
        from_s = math.ceil(earliest * grid_hz + 1e-9) / grid_hz
        new = self._schedule.with_change(from_s, **changes)
        self._schedule = new
        self._gen.change_schedule(new, from_s)
        self._truth = None
        return new.segments[-1]

    def respiration(self, time_s: FloatArray) -> tuple[FloatArray, FloatArray]:
        """The breathing behind the RSA at session times ``time_s`` (s): its phase (rad, the
        RR is shortest at pi/2) and rate (breaths/min, the scheduled rate with its slow
        wander), so a chest-motion signal can breathe with the very rhythm the RR shows.

        Raises
        ------
        ValueError
            A time more than about 20 minutes before the newest computed (not kept).
        """
        phase, hz = self._gen.respiration(time_s)
        return phase, hz * 60.0

    # -- ground truth ------------------------------------------------------------------------

    def ground_truth(self) -> SimulationGroundTruth:
        """Everything produced so far (cached until the next :meth:`advance`)."""
        if self._truth is not None:
            return self._truth
        c = self._chunks

        def cat(name: str) -> Any:
            return c[name].copy()

        s_n = cat("s_n")
        n_drop = cat("n_drop")
        n_t = cat("n_t")
        s_rr = cat("s_rr")
        delivered = ~n_drop[s_n - 1] if s_n.size else np.empty(0, dtype=bool)
        s_k = cat("s_k")
        k_first = self._k_first if self._k_first is not None else 0
        s_clean = np.where(s_k >= 0, s_k - k_first, -1)
        s_kind = cat("s_kind")
        s_t = cat("s_t")
        dropped = []
        if n_drop.any():
            starts = np.searchsorted(s_n, np.arange(1, n_drop.size + 2), side="left")
            for n in (np.flatnonzero(n_drop) + 1).tolist():
                rr = tuple(s_rr[starts[n - 1] : starts[n]].tolist())
                dropped.append(DroppedNotification(n, float(n_t[n - 1]), rr))
        self._truth = SimulationGroundTruth(
            clean_rr_ms=cat("clean_rr"),
            clean_time_s=cat("clean_t"),
            sensor_rr_ms=s_rr,
            sensor_time_s=s_t,
            sensor_artifact=KIND_NAMES[s_kind],
            sensor_clean_index=s_clean,
            sensor_notification=s_n,
            sensor_delivered=delivered,
            notification_received_s=n_t,
            notification_dropped=n_drop,
            artifacts=build_artifact_events(s_kind, s_t, delivered),
            dropped=tuple(dropped),
            schedule=self._schedule.segments,
            rates=self.rates,
            _schedule=self._schedule,
        )
        return self._truth

    def settings(self) -> dict[str, Any]:
        """JSON-serialisable description of the simulation."""
        return {
            "seed": self.seed,
            "schedule": [s.to_dict() for s in self._schedule.segments],
            "artifacts": self.rates.to_dict(),
            "params": self.params.to_dict(),
            "notification_interval_s": self.interval_s,
            "rr_resolution_s": self.rr_resolution_s,
        }
