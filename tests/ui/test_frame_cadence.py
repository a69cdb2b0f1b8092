"""Frames are coalesced to ~30 per second; the plots scroll with the data behind a backlog."""

from __future__ import annotations

import time

from biofeedback.ui.frame_cadence import FRAME_S, FrameCadence, plot_time_s


def test_plots_end_at_the_clock_unless_the_pipeline_is_behind():
    assert plot_time_s(12.0, 0, 11.2) == 12.0
    assert plot_time_s(12.0, 1, 11.2) == 12.0  # one queued event is not "behind"
    assert plot_time_s(12.0, 5, 11.2) == 11.2
    assert plot_time_s(12.0, 5, None) == 12.0


def test_a_first_request_draws_at_once_and_a_quick_second_one_waits(qtbot):
    drawn: list[float] = []

    def draw() -> None:
        if cadence.take():
            drawn.append(cadence.drawn(time.perf_counter()))

    cadence = FrameCadence(draw)
    cadence.request()
    assert len(drawn) == 1 and cadence.last_redraw_s >= 0.0
    cadence.request()
    cadence.request()  # coalesced with the one before
    assert len(drawn) == 1
    qtbot.waitUntil(lambda: len(drawn) == 2, timeout=2000)
    assert drawn[1] - drawn[0] >= FRAME_S * 0.9
    assert not cadence.take()  # nothing new since
