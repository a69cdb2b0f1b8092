"""The session clock: the calendar as the store writes it, and the system's clocks by default."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from biofeedback.core.clock import SYSTEM_CLOCK, SessionClock, utc_iso


def test_a_moment_in_any_zone_is_written_in_utc_to_the_millisecond() -> None:
    # 03:00:00.123456 summer time in Berlin is 01:00:00.123 UTC, the night the clocks go on.
    berlin = datetime(2025, 3, 30, 3, 0, 0, 123456, tzinfo=ZoneInfo("Europe/Berlin"))
    assert utc_iso(berlin) == "2025-03-30T01:00:00.123+00:00"
    minus_five = datetime(2025, 1, 1, 19, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert utc_iso(minus_five) == "2025-01-02T00:30:00.000+00:00"


def test_an_injected_calendar_is_what_the_clock_tells() -> None:
    moment = datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=ZoneInfo("Asia/Tokyo"))
    clock = SessionClock(wall=lambda: moment, monotonic=lambda: 42.5)
    assert clock.wall_utc() == moment
    assert clock.wall_utc().tzinfo is UTC
    assert clock.wall_utc_iso() == "2024-02-29T14:59:59.999+00:00"
    assert clock.monotonic_s() == 42.5


def test_the_system_clock_reads_the_calendar_in_utc_and_a_monotonic_clock() -> None:
    before = datetime.now(UTC)
    now = SYSTEM_CLOCK.wall_utc()
    after = datetime.now(UTC)
    assert before <= now <= after
    assert now.tzinfo is UTC
    first = SYSTEM_CLOCK.monotonic_s()
    assert time.monotonic() >= first
    assert SYSTEM_CLOCK.monotonic_s() >= first
