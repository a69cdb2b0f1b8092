"""Frames are coalesced to ~30 per second; the plots scroll with the data behind a backlog;
the periodic work waits for the pacer's next frame."""

from __future__ import annotations

import time

from biofeedback.ui.frame_cadence import (
    FRAME_S,
    FrameCadence,
    RangeStepTimer,
    WorkBetweenFrames,
    plot_time_s,
)
from biofeedback.ui.pacer_widget import PacerWidget
from protocols.model import PacerSettings


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


def test_a_step_that_is_due_asks_for_a_frame_at_once(qtbot):
    asked: list[float] = []
    steps = RangeStepTimer(lambda: asked.append(time.perf_counter()))
    steps.check(40.0, 0.0, 0.25)
    assert len(asked) == 1


def test_a_near_step_is_timed_from_the_clock_rate(qtbot):
    asked: list[float] = []
    steps = RangeStepTimer(lambda: asked.append(time.perf_counter()))
    steps.check(10.0, 2.0, 0.25)  # the first reading: no rate yet, nothing timed
    time.sleep(0.05)
    # the clock ran at 4x (0.2 s in 0.05 s): the step, 0.4 s of session time away, is
    # 0.1 s of wall time away
    steps.check(10.2, 0.4, 0.25)
    timed = time.perf_counter()
    assert not asked
    qtbot.waitUntil(lambda: len(asked) == 1, timeout=2000)
    assert asked[0] - timed >= 0.09


def test_a_far_step_or_a_paused_clock_times_nothing(qtbot):
    asked: list[float] = []
    steps = RangeStepTimer(lambda: asked.append(time.perf_counter()))
    steps.check(10.0, 20.0, 0.25)
    time.sleep(0.02)
    steps.check(10.02, 19.98, 0.25)  # 20 s away: a later check times it
    time.sleep(0.02)
    steps.check(10.02, 0.05, 0.25)  # paused: the clock did not move
    qtbot.wait(200)
    assert not asked
    steps.reset()
    steps.check(10.02, 0.05, 0.25)  # no rate after a reset
    qtbot.wait(150)
    assert not asked


def test_periodic_work_runs_after_a_pacer_frame_and_outside_its_paint(qtbot):
    pacer = PacerWidget()
    qtbot.addWidget(pacer)
    pacer.resize(260, 280)
    pacer.set_pacer(PacerSettings(6.0, 1.0), start_s=0.0)
    between = WorkBetweenFrames(lambda: pacer.animating)
    log: list[str] = []
    # Slots run in the order they were connected: the last one logs that the paint's
    # signal (emitted inside the paint) has returned.
    pacer.canvas.painted.connect(lambda: log.append("painted"))
    pacer.canvas.painted.connect(between.frame_painted)
    pacer.canvas.painted.connect(lambda: log.append("paint returns"))
    pacer.show()
    qtbot.waitExposed(pacer)
    assert pacer.animating
    qtbot.waitUntil(lambda: "painted" in log, timeout=2000)

    def work() -> None:
        log.append("work")

    log.clear()
    between.run(work)
    between.run(work)  # already waiting: not queued twice
    assert "work" not in log  # it waits for the next frame
    qtbot.waitUntil(lambda: "work" in log, timeout=2000)
    qtbot.wait(100)
    assert log.count("work") == 1
    i = log.index("work")
    # After a frame's paint had returned, not inside it; the pacer went on animating.
    assert log[i - 2:i] == ["painted", "paint returns"], log
    assert "painted" in log[i + 1:]


def test_periodic_work_runs_at_once_without_an_animated_pacer_or_after_a_wait(qtbot):
    ran: list[str] = []
    idle = WorkBetweenFrames(lambda: False)
    idle.run(lambda: ran.append("idle"))
    assert ran == ["idle"]
    # Said to animate, but no frame comes (a window that is not painted): the work runs
    # after LATEST_S all the same.
    stuck = WorkBetweenFrames(lambda: True)
    stuck.run(lambda: ran.append("stuck"))
    assert ran == ["idle"]
    qtbot.waitUntil(lambda: ran == ["idle", "stuck"], timeout=2000)
