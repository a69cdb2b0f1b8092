"""One formatting module: numbers, p-values, clocks, countdowns and the missing mark."""

from __future__ import annotations

import math

import pytest

from biofeedback.core.formatting import (
    MISSING,
    format_clock,
    format_countdown,
    format_number,
    format_p,
)


def test_missing_mark_is_one_en_dash():
    assert MISSING == "–"
    for value in (None, math.nan, math.inf, -math.inf):
        assert format_number(value, 2) == MISSING
        assert format_p(value) == MISSING


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (0.15, 3, "0.150"),
    (-0.905, 2, "-0.91"),  # -0.905 is -0.90500000000000002665 in binary: rounds away
    (1175.4, 0, "1175"),
    (2.5, 0, "2"),  # round half to even, as Python's format does
    (7, 1, "7.0"),
    (True, 1, "yes"),
    (False, 1, "no"),
])
def test_numbers(value: float, decimals: int, text: str):
    assert format_number(value, decimals) == text


def test_p_values():
    assert format_p(0.0004) == "< 0.001"
    assert format_p(0.001) == "0.001"
    assert format_p(0.25) == "0.250"
    assert format_p(0.04951) == "0.050"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0:00"),
    (59.4, "0:59"),
    (59.6, "1:00"),
    (61, "1:01"),
    (3599.4, "59:59"),
    (3725.4, "1:02:05"),
    (36000, "10:00:00"),
    (-3, "0:00"),
    (math.nan, "0:00"),
])
def test_clock_rounds_to_the_nearest_second(seconds: float, text: str):
    assert format_clock(seconds) == text


def test_clock_variants():
    assert format_clock(59.6, hours=True) == "0:01:00"
    assert format_clock(-3.0, hours=True) == format_clock(math.inf, hours=True) == "0:00:00"
    assert format_clock(-65.2, signed=True) == "-1:05"
    assert format_clock(-3725, signed=True) == "-1:02:05"
    assert format_clock(-0.2, signed=True) == "0:00"  # no "-0:00"
    assert format_clock(5, signed=True) == "0:05"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0:00"),
    (0.01, "0:01"),  # a countdown shows 0:00 only when it is over
    (59.2, "1:00"),
    (60, "1:00"),
    (61, "1:01"),
    (3599.5, "1:00:00"),
    (3725, "1:02:05"),
    (-3, "0:00"),
    (math.nan, "0:00"),
])
def test_countdown_rounds_up(seconds: float, text: str):
    assert format_countdown(seconds) == text


def test_countdown_with_hours():
    assert format_countdown(59.2, hours=True) == "0:01:00"


def test_copies_are_the_shared_functions():
    from biofeedback.cli.progress import format_clock as cli_clock
    from biofeedback.ui.guidance_panel import format_clock as guidance_clock
    from biofeedback.ui.replay_bar import format_hms

    assert cli_clock is format_clock
    assert guidance_clock is format_countdown
    assert format_hms(3725.4) == format_clock(3725.4, hours=True) == "1:02:05"
