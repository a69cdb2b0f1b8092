"""Replay a stored session or an RR file through the live pipeline.

Beats are delivered in the notifications they arrived in (stored sessions) or in 1-s
notifications (files), at real time, N x real time or as fast as the pipeline takes them, with
pause, resume, speed change and seek. The recording's raw ECG and accelerometer
(``Recording.ecg``, ``Recording.acc``) are delivered beside them as
:class:`~biofeedback.core.signals.SignalChunk` events, in time order with the beats, as a
strap streaming them does: the window's ECG strip and respiration trace fill as they did live.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from typing import Any

import numpy as np

from biofeedback.core.recording import Recording
from biofeedback.core.signals import SignalChunk
from biofeedback.core.source import HeartRateSource, SourceCapabilities, SourceError
from biofeedback.core.types import (
    Beat,
    BeatBatch,
    Gap,
    Marker,
    NotificationRun,
    PhaseSpan,
    Seeked,
    SourceState,
    StatusChange,
)

SIGNAL_PIECE_S = 0.5
"""Longest chunk of raw samples a replay delivers, s. The store merges a strap's frames
(~0.56 s of ECG each) into blocks of up to 2 s; replaying those whole would move the ECG
strip in 2-s jumps at real time, so they are handed on in pieces about a frame long."""


class _SignalCursor:
    """Where a replay is in one raw stream: its stored blocks, in pieces of at most
    :data:`SIGNAL_PIECE_S`, each due at the time of its last sample (when a strap would have
    sent it)."""

    def __init__(self, chunks: list[SignalChunk]) -> None:
        self._chunks = [c for c in chunks if c.n_samples]
        self._rows = [max(1, round(SIGNAL_PIECE_S * c.rate_hz)) for c in self._chunks]
        last = [c.t0_s + (c.n_samples - 1) / c.rate_hz for c in self._chunks]
        # Running maximum: a stream's first blocks may overlap (placed before the strap's
        # clock offset was measured); the search for a seek needs times that never decrease.
        self._last_s: list[float] = np.maximum.accumulate(last).tolist() if last else []
        self._block = 0
        self._row = 0

    @property
    def end_s(self) -> float:
        """Time of the stream's last sample, s (0 for an empty stream)."""
        return self._last_s[-1] if self._last_s else 0.0

    def due(self) -> float | None:
        """When the next piece is due, s (None: the stream is over)."""
        if self._block >= len(self._chunks):
            return None
        chunk = self._chunks[self._block]
        end = min(self._row + self._rows[self._block], chunk.n_samples)
        return chunk.t0_s + (end - 1) / chunk.rate_hz

    def take(self) -> SignalChunk:
        """The next piece (the stream must not be over)."""
        chunk = self._chunks[self._block]
        start = self._row
        end = min(start + self._rows[self._block], chunk.n_samples)
        if end >= chunk.n_samples:
            self._block, self._row = self._block + 1, 0
        else:
            self._row = end
        if start == 0 and end == chunk.n_samples:
            return chunk
        return SignalChunk(chunk.stream, chunk.t0_s + start / chunk.rate_hz, chunk.rate_hz,
                           chunk.samples[start:end], chunk.unit, chunk.first_index + start)

    def seek(self, t_s: float) -> None:
        """Go to the first piece due at or after ``t_s``."""
        self._block = bisect.bisect_left(self._last_s, t_s)
        self._row = 0
        if self._block < len(self._chunks):
            chunk, rows = self._chunks[self._block], self._rows[self._block]
            # Whole pieces of the block that ended before t_s (its last piece never does).
            self._row = rows * max(0, min(
                math.ceil(((t_s - chunk.t0_s) * chunk.rate_hz + 1) / rows) - 1,
                (chunk.n_samples - 1) // rows))

RUN_NOTIFICATIONS = 16
"""Most notifications a replay at maximum speed hands over at once (one
:class:`~biofeedback.core.types.NotificationRun`): the pipeline shares its per-notification
work across them. Longer runs were no faster (benchmarks/replay_24h.py)."""

AHEAD_NOTIFICATIONS = 16
"""Most notifications queued and not yet taken (as many as the queue holds one by one): the
producer stays this close to what the consumer shows, so pause and seek act at once also
when the notifications go in runs."""


def _parse_speed(speed: float | str | None) -> float | None:
    if speed is None or speed == "max":
        return None
    value = float(speed)
    if not math.isfinite(value) or value <= 0:
        raise SourceError(f"replay speed must be a positive number or 'max', not {speed!r}")
    return value


class ReplaySource(HeartRateSource):
    """A recording played back as a heart-rate source.

    Parameters
    ----------
    recording : Recording
        What to play (from :meth:`SessionStore.load_recording` or an RR file reader).
    speed : float, "max" or None
        Multiple of real time (1.0 = as recorded); ``"max"``/None = as fast as consumed.
    start_s : float
        Session time to start from, s.
    max_run : int
        At maximum speed, most notifications handed over at once as one
        :class:`~biofeedback.core.types.NotificationRun` (1: one :class:`BeatBatch` each,
        as at a finite speed).

    Notes
    -----
    Stored gaps are replayed as :class:`~biofeedback.core.types.Gap` events before the first
    beat after them, and stored markers when the replay clock passes their onset. The raw
    ECG and ACC chunks are replayed, sample for sample, each when the replay clock passes
    its last sample (in pieces of at most :data:`SIGNAL_PIECE_S`). A seek
    emits :class:`~biofeedback.core.types.Seeked`, which tells the consumer to start a new
    segment (indices are never computed across a jump), then a :class:`StatusChange` saying
    so; beats and chunks queued before it are dropped.
    """

    kind = "replay"
    capabilities = SourceCapabilities(live=False, seekable=True)

    def __init__(
        self, recording: Recording, *, speed: float | str | None = 1.0, start_s: float = 0.0,
        max_run: int = RUN_NOTIFICATIONS,
    ) -> None:
        # A short queue keeps the producer close to what the consumer shows, so pause and
        # seek act at once even at maximum speed.
        super().__init__(queue_size=16)
        self.recording = recording
        self._speed = _parse_speed(speed)
        self._max_run = max(1, int(max_run))
        self._ahead = 0  # notifications queued, not yet taken
        rec = recording
        if rec.received_s is not None and rec.n_beats and np.all(np.isfinite(rec.received_s)):
            received = np.asarray(rec.received_s, dtype=np.float64)
        else:
            # Files carry no receive times: deliver each second's beats at the end of it.
            received = np.ceil(np.asarray(rec.time_s, dtype=np.float64))
        if rec.n_beats:
            starts = np.flatnonzero(np.r_[True, received[1:] != received[:-1]])
            notif_end = np.r_[starts[1:], rec.n_beats]
            notif_time = received[starts]
        else:
            starts = notif_end = np.zeros(0, dtype=np.int64)
            notif_time = np.zeros(0)
        # Plain lists: indexing numpy arrays per notification costs more than the work itself.
        self._notif_start: list[int] = starts.tolist()
        self._notif_end: list[int] = notif_end.tolist()
        self._notif_time: list[float] = notif_time.tolist()
        self._gaps = sorted(rec.gaps, key=lambda g: g.start_s)
        self._markers = sorted(rec.markers, key=lambda m: m.onset_s)
        contact = rec.sensor_contact
        self._contact: list[bool | None] | None = (
            None if contact is None
            else [None if np.isnan(c) else bool(c) for c in contact]
        )
        self._rr = rec.rr_ms.tolist()
        self._times = rec.time_s.tolist()
        self._signals = [_SignalCursor(chunks) for chunks in (rec.ecg, rec.acc) if chunks]
        self._wake = asyncio.Event()
        self._paused = False
        self._pending_seek: float | None = None
        self._now_s = float(start_s)
        self._consumed_s: float | None = None
        self._clock: tuple[float, float, float, float] | None = None
        """While waiting at a set speed: loop time and session time of the clock's origin,
        the speed and when the next item is due (the clock stops there)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._next = 0
        self._next_gap = 0
        self._next_marker = 0
        self._position(start_s)

    # -- controls --------------------------------------------------------------------------

    @property
    def speed(self) -> float | None:
        """Current speed (None = maximum)."""
        return self._speed

    @property
    def duration_s(self) -> float:
        """Session time of the last notification or raw sample, s."""
        return max([self._notif_time[-1] if self._notif_time else 0.0,
                    *(cursor.end_s for cursor in self._signals)])

    @property
    def paused(self) -> bool:
        """Whether playback is paused."""
        return self._paused

    def set_speed(self, speed: float | str | None) -> None:
        """Change the speed (takes effect at once)."""
        self._hold_clock()
        self._speed = _parse_speed(speed)
        self._wake.set()

    def pause(self) -> None:
        """Hold playback where it is."""
        self._hold_clock()
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        self._hold_clock()
        self._paused = False
        self._wake.set()

    def seek(self, t_s: float) -> None:
        """Jump to session time ``t_s`` (clamped to the recording)."""
        self._hold_clock()
        self._pending_seek = min(max(float(t_s), 0.0), self.duration_s)
        self._drop_queued_data()
        self._wake.set()

    def _drop_queued_data(self) -> None:
        """Discard beats and samples queued from before a seek; keep status changes and the
        stream end."""
        self._dropped += 1
        self._ahead = 0
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, BeatBatch | NotificationRun | Gap | Marker | SignalChunk):
                kept.append(item)
        for item in kept:
            self._queue.put_nowait(item)

    def session_time_s(self) -> float:
        """Replayed session time, s.

        At a set speed the clock runs between notifications, as a strap's does (the window
        steps its plots' range when the clock gets there, not at the next beat), and stops
        at the next item due until it is delivered, and while paused. At maximum speed, the
        receive time of the last notification the consumer has taken.
        """
        # At maximum speed the producer runs a queue's length ahead of what the consumer has
        # processed; markers and protocol phases must line up with the beats being shown.
        if self._speed is None and self._consumed_s is not None:
            return self._consumed_s
        clock, loop = self._clock, self._loop
        if clock is None or loop is None:
            return self._now_s
        wall, origin_s, speed, due_s = clock
        return max(self._now_s, min(origin_s + (loop.time() - wall) * speed, due_s))

    def _hold_clock(self) -> None:
        """Stop the running clock where it is now (a control changes what comes next)."""
        if self._clock is not None:
            self._now_s = self.session_time_s()
            self._clock = None

    def _on_consumed(self, event: object) -> None:
        if isinstance(event, BeatBatch):
            self._consumed_s = event.received_s
            self._ahead = max(0, self._ahead - 1)
        elif isinstance(event, NotificationRun):
            self._consumed_s = event.received_s[-1]
            self._ahead = max(0, self._ahead - event.n_notifications)
        elif isinstance(event, SignalChunk) and event.n_samples:
            last = event.t0_s + (event.n_samples - 1) / event.rate_hz
            self._consumed_s = last if self._consumed_s is None else max(self._consumed_s, last)

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "replay_of": self.recording.name,
            "speed": "max" if self._speed is None else self._speed,
        }

    @property
    def phases(self) -> tuple[PhaseSpan, ...]:
        return tuple(self.recording.phases)

    @property
    def device_info(self) -> dict[str, Any]:
        info = self.recording.metadata.get("session", {}).get("device_info", {})
        return dict(info) if isinstance(info, dict) else {}

    # -- playback --------------------------------------------------------------------------

    def _position(self, t_s: float) -> None:
        self._next = bisect.bisect_left(self._notif_time, t_s)
        self._next_gap = next(
            (i for i, g in enumerate(self._gaps) if g.end_s >= t_s), len(self._gaps)
        )
        self._next_marker = next(
            (i for i, m in enumerate(self._markers) if m.onset_s >= t_s), len(self._markers)
        )
        for cursor in self._signals:
            cursor.seek(t_s)
        self._now_s = t_s
        self._clock = None

    def _next_due(self) -> tuple[float, _SignalCursor | None] | None:
        """When the next item is due and which: a notification (None) or a stream's piece
        (its cursor); None when everything was delivered. A notification goes before
        samples due at the same time."""
        best: tuple[float, _SignalCursor | None] | None = None
        if self._next < len(self._notif_time):
            best = (self._notif_time[self._next], None)
        for cursor in self._signals:
            due = cursor.due()
            if due is not None and (best is None or due < best[0]):
                best = (due, cursor)
        return best

    async def _run(self) -> None:
        await self._set_state(SourceState.STREAMING, f"Replaying {self.recording.name}")
        loop = self._loop = asyncio.get_running_loop()
        origin_wall, origin_s = loop.time(), self._now_s
        last_speed = self._speed
        while True:
            if self._pending_seek is not None:
                target, self._pending_seek = self._pending_seek, None
                self._position(target)
                self._consumed_s = None
                origin_wall, origin_s = loop.time(), target
                await self._emit(Seeked(target))
                await self._emit(
                    StatusChange(
                        SourceState.PAUSED if self._paused else SourceState.STREAMING,
                        f"Jumped to {target:.1f} s",
                        target,
                    )
                )
            upcoming = self._next_due()
            if upcoming is None:
                break
            due, cursor = upcoming
            if self._paused:
                self._clock = None
                self._wake.clear()
                await self._set_state(SourceState.PAUSED, "Paused")
                await self._wake.wait()
                if not self._paused:
                    origin_wall, origin_s = loop.time(), self._now_s
                    await self._set_state(SourceState.STREAMING, "Playing")
                continue
            speed = self._speed
            if speed != last_speed:
                # Coming from max speed (or another speed) the old origin is meaningless:
                # continue from where playback is.
                origin_wall, origin_s = loop.time(), self._now_s
                last_speed = speed
            if speed is None:
                self._clock = None
            else:
                now = origin_s + (loop.time() - origin_wall) * speed
                if now < due:
                    self._clock = (origin_wall, origin_s, speed, due)
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), (due - now) / speed)
                        # A control changed (it held the clock): go on from there.
                        self._hold_clock()
                        origin_wall, origin_s = loop.time(), self._now_s
                    except TimeoutError:
                        pass  # the clock stands at `due` until the item is delivered
                    continue
            spins = 0
            while self._queue.full() or self._ahead >= AHEAD_NOTIFICATIONS:
                # Wait for room here, not inside put(): a seek or pause that arrives meanwhile
                # must win over the notification that was about to be queued. Yield at once
                # first (max-speed replay), then back off so an idle consumer costs no CPU.
                await asyncio.sleep(0 if spins < 100 else 0.005)
                spins += 1
            if self._pending_seek is not None or self._paused:
                continue
            if cursor is None and speed is None and self._max_run > 1:
                await self._deliver_run(due)
            elif cursor is None:
                await self._deliver(self._next, due)
                self._next += 1
            else:
                await self._emit_markers_until(due)
                # max(): a stream's first blocks may overlap; the clock never runs back.
                self._now_s = max(self._now_s, due)
                await self._emit(cursor.take())
        # What happened after the last beat (a final disconnection, a gap, a closing marker).
        for gap in self._gaps[self._next_gap :]:
            await self._emit(gap)
        for marker in self._markers[self._next_marker :]:
            await self._emit(marker)
        self._next_gap, self._next_marker = len(self._gaps), len(self._markers)
        self._clock = None
        self._now_s = max(self.duration_s, self._now_s)

    async def _deliver(self, k: int, due: float) -> None:
        start, end = self._notif_start[k], self._notif_end[k]
        await self._emit_gaps_before(start)
        await self._emit_markers_until(due)
        contact = self._contact
        beats = tuple(
            Beat(self._rr[i], self._times[i], due, contact[i] if contact else None)
            for i in range(start, end)
        )
        self._now_s = due
        self._ahead += 1
        await self._emit(BeatBatch(due, beats))

    async def _deliver_run(self, due: float) -> None:
        """Deliver the next notification and those after it that nothing else (a gap, a
        marker, a raw-signal piece) comes before, up to ``max_run``, as one run: the same
        events in the same order as :meth:`_deliver` one by one."""
        k = self._next
        start = self._notif_start[k]
        await self._emit_gaps_before(start)
        await self._emit_markers_until(due)
        times, rr, notif_time = self._times, self._rr, self._notif_time
        notif_start = self._notif_start
        limit = min(len(notif_time), k + self._max_run)
        # The next raw piece goes before a notification due after it (ties: the notification).
        signal_due = min(
            (d for d in (cursor.due() for cursor in self._signals) if d is not None),
            default=math.inf,
        )
        marker_due = (
            self._markers[self._next_marker].onset_s
            if self._next_marker < len(self._markers) else math.inf
        )
        gap_start = (
            self._gaps[self._next_gap].start_s if self._next_gap < len(self._gaps) else math.inf
        )
        j = k + 1
        while j < limit:
            t = notif_time[j]
            if t > signal_due or t >= marker_due:
                break
            first = notif_start[j]
            if gap_start <= times[first] - rr[first] / 1000.0 + 1e-9:
                break
            j += 1
        end = self._notif_end[j - 1]
        contact = self._contact
        run = NotificationRun(
            notif_time[k:j],
            [e - start for e in self._notif_end[k:j]],
            rr[start:end],
            times[start:end],
            None if contact is None else contact[start:end],
        )
        self._next = j
        self._now_s = notif_time[j - 1]
        self._ahead += j - k
        await self._emit(run)

    async def _emit_gaps_before(self, start: int) -> None:
        """Replay the stored gaps that begin before beat ``start``'s interval does."""
        first_beat_start = self._times[start] - self._rr[start] / 1000.0
        while self._next_gap < len(self._gaps) and self._gaps[self._next_gap].start_s <= (
            first_beat_start + 1e-9
        ):
            await self._emit(self._gaps[self._next_gap])
            self._next_gap += 1

    async def _emit_markers_until(self, due: float) -> None:
        """Replay the stored markers whose onset the replay clock has reached."""
        while (
            self._next_marker < len(self._markers)
            and self._markers[self._next_marker].onset_s <= due
        ):
            await self._emit(self._markers[self._next_marker])
            self._next_marker += 1
