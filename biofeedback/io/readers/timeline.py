"""From the clock a file keeps to session times: start time, beat times and the file's gaps.

Session time 0 is the start of the first interval, so beat ``i`` ends at the sum of the
intervals up to it. Where the file's clock jumps further than the intervals explain (beats
the tool dropped, a recording paused), the series restarts at the clock time and a gap of
reason ``source`` covers the missing span: analysis never crosses it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.recording import Recording
from biofeedback.core.types import Gap, GapReason, Marker
from biofeedback.io.readers.base import FloatArray
from biofeedback.io.readers.text import shown

EXACT_CLOCK_TOLERANCE_S = 0.1
"""Clock jump beyond the intervals that makes a gap, for clocks stamped at the beat (s)."""

PHONE_CLOCK_TOLERANCE_S = 2.0
"""The same for phone receive times: Bluetooth notifications batch beats and arrive up to
about a second late (ours, from Polar Sensor Logger and HRV Logger files)."""

GAP_WINDOW_BEATS = 16
"""Previous beats whose largest clock lead a new lead is compared with (ours)."""

EPOCH_MS_ABOVE = 1e11
"""An epoch time above this is in milliseconds (1e11 s is the year 5138)."""

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december")
_LONG_DATE = re.compile(
    r"(\d{1,2})\s+([A-Za-z]+)\s+(\d{4})[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
)


def parse_timestamp(path: Path, text: str, line: int, field: str) -> datetime:
    """A date and time as tools write them.

    ISO 8601 (``T`` or a space, fractions, ``Z`` or an offset; no offset means the device's
    local time), Unix epoch seconds or milliseconds (told by magnitude; UTC) and English long
    dates (``08 August 2017 18:51:01``).

    Raises
    ------
    InputFileError
        Naming the file, line and field.
    """
    value = text.strip().strip('"')
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    if re.fullmatch(r"\d{9,14}(\.\d+)?", value):
        seconds = float(value)
        if seconds > EPOCH_MS_ABOVE:
            seconds /= 1000.0
        return datetime.fromtimestamp(seconds, UTC)
    m = _LONG_DATE.fullmatch(value)
    if m is not None and m.group(2).lower() in _MONTHS:
        day, month_name, year, hour, minute, second, frac = m.groups()
        try:
            return datetime(int(year), _MONTHS.index(month_name.lower()) + 1, int(day),
                            int(hour), int(minute), int(second or 0),
                            int((frac or "0")[:6].ljust(6, "0")))
        except ValueError:
            pass
    raise InputFileError(path, f"{shown(value)} is not a date and time", line=line, field=field)


def seconds_between(later: datetime, earlier: datetime) -> float:
    """``later - earlier`` in s (both naive or both aware)."""
    return (later - earlier).total_seconds()


def beat_times(
    rr_ms: FloatArray,
    clock_s: FloatArray | None = None,
    *,
    tolerance_s: float = EXACT_CLOCK_TOLERANCE_S,
) -> tuple[FloatArray, list[Gap]]:
    """Beat times (s since the start of the first interval) and the gaps the clock shows.

    Parameters
    ----------
    rr_ms : ndarray of float
        Raw intervals, ms (implausible ones included).
    clock_s : ndarray of float, optional
        The file's time of each beat (end of its interval), s on any origin. Without it the
        beat times are the running sum of the intervals.
    tolerance_s : float
        How much further than the interval the clock may jump before a gap is made, s.

    Returns
    -------
    time_s : ndarray of float
        End of each interval, s.
    gaps : list of Gap
        One per clock jump, from the previous beat to the start of the next interval.
    """
    rr_s = np.asarray(rr_ms, dtype=np.float64) / 1000.0
    summed = np.cumsum(rr_s)
    if clock_s is None or rr_s.size < 2:
        return summed, []
    clock = np.asarray(clock_s, dtype=np.float64)
    # How far the clock runs ahead of the summed intervals. A gap is a jump of this lead
    # above its maximum over the previous beats: the maximum, not the last value, because
    # notifications batch beats (the lead bounces by up to a second), and over a window so
    # a slow drift between the two clocks never adds up to a gap.
    lead = (clock - clock[0]) - (summed - summed[0])
    padded = np.concatenate([np.full(GAP_WINDOW_BEATS, lead[0]), lead[:-1]])
    before = np.lib.stride_tricks.sliding_window_view(padded, GAP_WINDOW_BEATS).max(axis=1)
    jump = lead - before
    jump[0] = 0.0
    at = np.flatnonzero(jump > tolerance_s)
    shift = np.zeros_like(rr_s)
    shift[at] = jump[at]
    time_s = summed + np.cumsum(shift)
    gaps = [
        Gap(float(time_s[j - 1]), float(time_s[j] - rr_s[j]), GapReason.SOURCE) for j in at
    ]
    return time_s, gaps


def make_recording(
    path: Path,
    fmt: str,
    rr_ms: Sequence[float] | FloatArray,
    *,
    time_s: FloatArray | None = None,
    gaps: list[Gap] | None = None,
    markers: list[Marker] | None = None,
    **metadata: object,
) -> Recording:
    """A :class:`Recording` of imported beats (source ``"import"``)."""
    rr = np.asarray(rr_ms, dtype=np.float64)
    return Recording(
        rr_ms=rr,
        time_s=np.cumsum(rr) / 1000.0 if time_s is None else np.asarray(time_s, np.float64),
        gaps=list(gaps or []),
        markers=list(markers or []),
        name=path.name,
        source="import",
        metadata={"file": str(path), "format": fmt, **metadata},
    )


def start_from_first_beat(first_beat: datetime, first_rr_ms: float) -> datetime:
    """Wall clock at session time 0 from the clock time of the first beat."""
    return first_beat - timedelta(milliseconds=float(first_rr_ms))
