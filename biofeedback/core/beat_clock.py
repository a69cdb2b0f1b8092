"""Rebuild beat times from RR intervals that arrive without timestamps.

The Heart Rate Measurement carries no timestamp (docs/domain.md section 1), so beat times are the
cumulative sum of RR anchored to the host receive clock. Two clocks then run side by side:

* the beat clock, advanced by every RR interval;
* the receive clock, the host time at which each notification arrived.

When the receive clock runs ahead of the beat clock by more than ``gap_factor`` x the median
RR, beats were lost (a dropped notification, a link loss): a :class:`Gap` is recorded and the
beat clock jumps forward to the receive clock. When RR arrives faster than the clock (a
buffered burst, a compressed virtual strap) the beat clock is trusted and the anchor moves;
no gap is invented.

Since notifications arrive 0-1 s after their last beat, a beat time can lead the receive time
of its notification by up to that latency spread (the anchor assumes the smallest latency
seen); within a gap-free segment beat times always advance by exactly their RR.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from statistics import median

from biofeedback.core.types import Beat, BeatBatch, Gap, GapReason

DEFAULT_GAP_FACTOR = 1.5
"""Drift beyond 1.5 x the median RR marks a gap (docs/domain.md section 1)."""

_FALLBACK_RR_MS = 1000.0


@dataclass
class BeatClock:
    """Turns (receive time, RR values) notifications into timed beats and gaps.

    Parameters
    ----------
    gap_factor : float
        A gap is recorded when the receive clock leads the beat clock by more than this many
        median RR intervals. Default 1.5 (docs/domain.md section 1).
    median_window : int
        Number of recent RR intervals the median is taken over.
    """

    gap_factor: float = DEFAULT_GAP_FACTOR
    median_window: int = 31
    _offset_s: float | None = None
    _last_beat_s: float | None = None
    _recent: deque[float] = field(default_factory=deque)
    _break_reason: GapReason | None = None

    def median_rr_ms(self) -> float:
        """Median of the recent RR intervals, ms (1000 ms before any beat arrived)."""
        return median(self._recent) if self._recent else _FALLBACK_RR_MS

    def push(
        self,
        received_s: float,
        rr_ms: tuple[float, ...] | list[float],
        *,
        heart_rate_bpm: float | None = None,
        sensor_contact: bool | None = None,
    ) -> tuple[BeatBatch, Gap | None]:
        """Time the RR intervals of one notification.

        Parameters
        ----------
        received_s : float
            Receive time of the notification on the session clock, s.
        rr_ms : sequence of float
            RR intervals in the notification, ms, oldest first.
        heart_rate_bpm : float, optional
            Heart rate the sensor reported, bpm.
        sensor_contact : bool, optional
            Contact flag of the notification.

        Returns
        -------
        batch : BeatBatch
            The timed beats (possibly none).
        gap : Gap or None
            A gap before these beats, if the clocks drifted apart.
        """
        gap: Gap | None = None
        if not rr_ms:
            return BeatBatch(received_s, (), heart_rate_bpm), None
        total_s = sum(rr_ms) / 1000.0
        if self._break_reason is not None and self._last_beat_s is not None:
            # After a link loss continuity cannot be trusted: always a new segment, placed by
            # the receive clock with the anchor it had, and never before the last beat.
            start = self._last_beat_s
            offset = self._offset_s or 0.0
            first_start = max(start, received_s - offset - total_s)
            gap = Gap(start, first_start, self._break_reason)
            self._break_reason = None
        elif self._last_beat_s is None or self._offset_s is None:
            # First notification: its last beat happened when it arrived.
            self._offset_s = 0.0
            first_start = received_s - total_s
        else:
            expected_last = self._last_beat_s + total_s
            drift = (received_s - self._offset_s) - expected_last
            threshold_s = self.gap_factor * self.median_rr_ms() / 1000.0
            if drift > threshold_s:
                start = self._last_beat_s
                # Re-anchor as at the start: the last beat is placed at its receive time. Reusing
                # an offset that earlier bursts pushed below zero would put beats in the future,
                # and each later gap would push them further ahead.
                self._offset_s = 0.0
                first_start = received_s - total_s
                gap = Gap(start, max(start, first_start), GapReason.CLOCK_DRIFT)
            else:
                if drift < 0.0:
                    # RR ran ahead of the clock: trust the beats, move the anchor.
                    self._offset_s += drift
                first_start = self._last_beat_s
        beats = []
        t = first_start
        for rr in rr_ms:
            t += rr / 1000.0
            beats.append(Beat(float(rr), t, received_s, sensor_contact))
            self._recent.append(float(rr))
            if len(self._recent) > self.median_window:
                self._recent.popleft()
        self._last_beat_s = t
        return BeatBatch(received_s, tuple(beats), heart_rate_bpm), gap

    def break_segment(self, reason: GapReason = GapReason.LINK_LOSS) -> None:
        """Make the next notification with beats start a new segment behind a gap.

        Used after a link loss: the strap discards what it could not deliver, so the next
        beats are placed by the receive clock and a gap of ``reason`` is recorded from the
        last beat before the loss (even when its length cannot be told).
        """
        if self._last_beat_s is not None:
            self._break_reason = reason

    @property
    def last_beat_s(self) -> float | None:
        """Time of the last beat timed so far, s."""
        return self._last_beat_s
