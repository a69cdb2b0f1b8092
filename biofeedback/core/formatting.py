"""How numbers, p-values and clock times are written, everywhere (CLI, window, report).

One missing-value mark (:data:`MISSING`), one number rule, one p-value rule and the clock
rules: nearest second for elapsed time and axes, rounded up for countdowns (so a countdown
shows ``0:00`` only when it is over).
"""

from __future__ import annotations

import math

__all__ = ["MISSING", "format_clock", "format_countdown", "format_number", "format_p"]

MISSING = "–"
"""Shown for a value that is missing, not computed or not finite (an en dash)."""


def format_number(value: float | int | bool | None, decimals: int) -> str:
    """A number with fixed decimals.

    Parameters
    ----------
    value : float, int, bool or None
        The number; a bool prints as ``yes``/``no``.
    decimals : int
        Decimals shown.

    Returns
    -------
    str
        E.g. ``"0.150"``, ``"-0.91"``, ``"1175"``; :data:`MISSING` for None or a non-finite
        value.
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return MISSING
    number = float(value)
    if not math.isfinite(number):
        return MISSING
    return f"{number:.{decimals}f}"


def format_p(p: float | None) -> str:
    """A p-value as published: three decimals, ``< 0.001`` below that.

    Parameters
    ----------
    p : float or None
        The p-value.

    Returns
    -------
    str
        E.g. ``"0.250"``, ``"< 0.001"``; :data:`MISSING` for None or a non-finite value.
    """
    if p is None or not math.isfinite(p):
        return MISSING
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _hms(total: int, hours: bool) -> str:
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h or hours else f"{m}:{s:02d}"


def format_clock(seconds: float, *, hours: bool = False, signed: bool = False) -> str:
    """A time as ``m:ss`` (``h:mm:ss`` from an hour on), to the nearest second.

    Parameters
    ----------
    seconds : float
        Time or duration, s. Non-finite values show as zero.
    hours : bool
        Always show the hours (``0:01:00``), for fields whose width must not change.
    signed : bool
        Show a negative time with a minus sign (plot axes); otherwise it shows as zero.

    Returns
    -------
    str
        E.g. ``3725.4`` -> ``"1:02:05"``, ``59.6`` -> ``"1:00"``, ``-5`` with ``signed`` ->
        ``"-0:05"``.
    """
    if not math.isfinite(seconds):
        seconds = 0.0
    sign = ""
    if seconds < 0:
        if not signed:
            seconds = 0.0
        else:
            sign, seconds = "-", -seconds
    total = round(seconds)
    return sign + _hms(total, hours) if total else _hms(0, hours)


def format_countdown(seconds: float, *, hours: bool = False) -> str:
    """Time left as ``m:ss`` (``h:mm:ss`` from an hour on), rounded *up* to the second.

    Parameters
    ----------
    seconds : float
        Time left, s; negative and non-finite values show as zero.
    hours : bool
        Always show the hours.

    Returns
    -------
    str
        E.g. ``59.2`` -> ``"1:00"``, ``0.1`` -> ``"0:01"``, ``0`` -> ``"0:00"``.
    """
    if not math.isfinite(seconds) or seconds <= 0:
        return _hms(0, hours)
    return _hms(math.ceil(seconds), hours)
