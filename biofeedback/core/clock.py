"""The two clocks a session reads: the calendar (once) and a monotonic clock (for intervals).

The system's calendar clock jumps: NTP steps it, a user sets it, a laptop wakes with a wrong
one, daylight-saving rules are applied by hand. The monotonic clock only moves forward at a
steady rate. So a session reads the calendar once, for the ``started_utc`` it stores (what a
person reads as "when"), and times everything else (beats, phases, markers, gaps, durations,
commit and refresh throttles, timeouts) on monotonic or session time, which no clock change
moves (issue 14 item 9).

Sources pace themselves on the event loop's clock (``loop.time()``, ``time.monotonic`` in
asyncio and qasync alike), which is the clock their sleeps run on; :class:`SessionClock` is
what the session pipeline reads, handed in at the composition root
(:mod:`biofeedback.session.launch`) so tests can make the calendar jump.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["SYSTEM_CLOCK", "SessionClock", "system_wall_utc", "utc_iso"]


def system_wall_utc() -> datetime:
    """The system's calendar clock now, in UTC (the one wall-clock read of the pipeline)."""
    return datetime.now(UTC)


def utc_iso(moment: datetime) -> str:
    """``moment`` as the store writes times: ISO 8601 in UTC, to the millisecond.

    Parameters
    ----------
    moment : datetime
        An aware datetime (any zone; converted to UTC).

    Returns
    -------
    str
        E.g. ``2025-03-30T01:00:00.000+00:00``.
    """
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True, slots=True)
class SessionClock:
    """The calendar clock and the monotonic clock of a session, both injectable.

    Attributes
    ----------
    wall : callable
        Returns the calendar time now as an aware datetime (default: the system clock in
        UTC). Read for the start of a session only; it may jump.
    monotonic : callable
        Returns seconds on a clock that never jumps (default ``time.monotonic``); only
        differences between its readings mean anything.
    """

    wall: Callable[[], datetime] = system_wall_utc
    monotonic: Callable[[], float] = time.monotonic

    def wall_utc(self) -> datetime:
        """Calendar time now, aware, in UTC (for what a person reads as "when")."""
        return self.wall().astimezone(UTC)

    def wall_utc_iso(self) -> str:
        """Calendar time now as the store writes it (see :func:`utc_iso`)."""
        return utc_iso(self.wall())

    def monotonic_s(self) -> float:
        """Monotonic time now, s (for intervals: throttles, timeouts, elapsed times)."""
        return self.monotonic()


SYSTEM_CLOCK = SessionClock()
"""The system's clocks, what every session uses unless a test injects others."""
