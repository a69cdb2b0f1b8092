"""Replay a stored session or an RR file through the live pipeline.

Beats are delivered in the notifications they arrived in (stored sessions) or in 1-s
notifications (files), at real time, N x real time or as fast as the pipeline takes them, with
pause, resume, speed change and seek.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from typing import Any

import numpy as np

from biofeedback.core.recording import Recording
from biofeedback.core.source import HeartRateSource, SourceCapabilities, SourceError
from biofeedback.core.types import (
    Beat,
    BeatBatch,
    Gap,
    Marker,
    PhaseSpan,
    Seeked,
    SourceState,
    StatusChange,
)


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

    Notes
    -----
    Stored gaps are replayed as :class:`~biofeedback.core.types.Gap` events before the first
    beat after them, and stored markers when the replay clock passes their onset. A seek
    emits :class:`~biofeedback.core.types.Seeked`, which tells the consumer to start a new
    segment (indices are never computed across a jump), then a :class:`StatusChange` saying
    so.
    """

    kind = "replay"
    capabilities = SourceCapabilities(live=False, seekable=True)

    def __init__(
        self, recording: Recording, *, speed: float | str | None = 1.0, start_s: float = 0.0
    ) -> None:
        # A short queue keeps the producer close to what the consumer shows, so pause and
        # seek act at once even at maximum speed.
        super().__init__(queue_size=16)
        self.recording = recording
        self._speed = _parse_speed(speed)
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
        self._wake = asyncio.Event()
        self._paused = False
        self._pending_seek: float | None = None
        self._now_s = float(start_s)
        self._consumed_s: float | None = None
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
        """Session time of the last notification, s."""
        return self._notif_time[-1] if self._notif_time else 0.0

    @property
    def paused(self) -> bool:
        """Whether playback is paused."""
        return self._paused

    def set_speed(self, speed: float | str | None) -> None:
        """Change the speed (takes effect at once)."""
        self._speed = _parse_speed(speed)
        self._wake.set()

    def pause(self) -> None:
        """Hold playback where it is."""
        self._paused = True
        self._wake.set()

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        self._paused = False
        self._wake.set()

    def seek(self, t_s: float) -> None:
        """Jump to session time ``t_s`` (clamped to the recording)."""
        self._pending_seek = min(max(float(t_s), 0.0), self.duration_s)
        self._drop_queued_beats()
        self._wake.set()

    def _drop_queued_beats(self) -> None:
        """Discard beats queued from before a seek; keep status changes and the stream end."""
        kept = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if not isinstance(item, BeatBatch | Gap | Marker):
                kept.append(item)
        for item in kept:
            self._queue.put_nowait(item)

    def session_time_s(self) -> float:
        # At maximum speed the producer runs a queue's length ahead of what the consumer has
        # processed; markers and protocol phases must line up with the beats being shown.
        if self._speed is None and self._consumed_s is not None:
            return self._consumed_s
        return self._now_s

    def _on_consumed(self, event: object) -> None:
        if isinstance(event, BeatBatch):
            self._consumed_s = event.received_s

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
        self._now_s = t_s

    async def _run(self) -> None:
        await self._set_state(SourceState.STREAMING, f"Replaying {self.recording.name}")
        loop = asyncio.get_running_loop()
        origin_wall, origin_s = loop.time(), self._now_s
        last_speed = self._speed
        n = len(self._notif_time)
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
            if self._next >= n:
                break
            due = self._notif_time[self._next]
            if self._paused:
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
            if speed is not None:
                now = origin_s + (loop.time() - origin_wall) * speed
                if now < due:
                    self._wake.clear()
                    try:
                        await asyncio.wait_for(self._wake.wait(), (due - now) / speed)
                        # A control changed: re-anchor the clock at the current position.
                        origin_s = min(origin_s + (loop.time() - origin_wall) * speed, due)
                        origin_wall = loop.time()
                        self._now_s = origin_s
                    except TimeoutError:
                        pass
                    continue
            spins = 0
            while self._queue.full():
                # Wait for room here, not inside put(): a seek or pause that arrives meanwhile
                # must win over the notification that was about to be queued. Yield at once
                # first (max-speed replay), then back off so an idle consumer costs no CPU.
                await asyncio.sleep(0 if spins < 100 else 0.005)
                spins += 1
            if self._pending_seek is not None or self._paused:
                continue
            await self._deliver(self._next, due)
            self._next += 1
        # What happened after the last beat (a final disconnection, a gap, a closing marker).
        for gap in self._gaps[self._next_gap :]:
            await self._emit(gap)
        for marker in self._markers[self._next_marker :]:
            await self._emit(marker)
        self._next_gap, self._next_marker = len(self._gaps), len(self._markers)
        self._now_s = max(self.duration_s, self._now_s)

    async def _deliver(self, k: int, due: float) -> None:
        start, end = self._notif_start[k], self._notif_end[k]
        first_beat_start = self._times[start] - self._rr[start] / 1000.0
        while self._next_gap < len(self._gaps) and self._gaps[self._next_gap].start_s <= (
            first_beat_start + 1e-9
        ):
            await self._emit(self._gaps[self._next_gap])
            self._next_gap += 1
        while (
            self._next_marker < len(self._markers)
            and self._markers[self._next_marker].onset_s <= due
        ):
            await self._emit(self._markers[self._next_marker])
            self._next_marker += 1
        contact = self._contact
        beats = tuple(
            Beat(self._rr[i], self._times[i], due, contact[i] if contact else None)
            for i in range(start, end)
        )
        self._now_s = due
        await self._emit(BeatBatch(due, beats))
