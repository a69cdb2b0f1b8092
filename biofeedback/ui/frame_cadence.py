"""When the window redraws its plots: coalesced to ~30 frames per second, a beat drawn at once.

A beat that arrives when no frame was drawn for a frame's time is drawn at once, which keeps
the beat-to-screen latency low at a live rate; beats that arrive faster are drawn together
at the next frame, so the window does not redraw per beat at max speed.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer

__all__ = ["FRAME_S", "FrameCadence", "RangeStepTimer", "WorkBetweenFrames", "plot_time_s"]

FRAME_S = 1 / 30
"""Least time between two redraws of the plots, s (about 30 frames per second)."""


class FrameCadence(QObject):
    """Coalesces redraw requests into frames at most :data:`FRAME_S` apart.

    Parameters
    ----------
    draw : callable
        Draws one frame; called on the GUI thread when a requested frame is due. It calls
        :meth:`take` first (a frame without news is not drawn) and reports the time its
        plot redraw took with :meth:`drawn`.
    parent : QObject, optional
        Owner of the timer.
    """

    def __init__(self, draw: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._dirty = False
        self._last_frame = 0.0
        self.last_redraw_s = 0.0
        """Time the last redraw of the plots took, s (benchmarks read it)."""
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(draw)
        self._draw = draw

    def request(self) -> None:
        """Draw now if no frame was drawn for a frame's time, else at the next frame."""
        self._dirty = True
        if self._timer.isActive():
            return
        wait = FRAME_S - (time.perf_counter() - self._last_frame)
        if wait <= 0:
            self._draw()
        else:
            self._timer.start(int(wait * 1000) + 1)

    def take(self) -> bool:
        """Whether a frame was requested since the last one (and forget the request)."""
        dirty, self._dirty = self._dirty, False
        return dirty

    def drawn(self, started: float) -> float:
        """Note a frame whose plot redraw began at ``started`` (``time.perf_counter()``, s).

        Returns
        -------
        float
            ``time.perf_counter()`` after the frame, s.
        """
        self._last_frame = time.perf_counter()
        self.last_redraw_s = self._last_frame - started
        return self._last_frame


class RangeStepTimer(QObject):
    """Asks for the frame that steps the plots' time range when the clock reaches the step.

    The plots' range stands still and then jumps (every 30 s over a 5-min span): the frame
    that jumps draws every plot again, several times a beat's frame. Drawn at the next beat,
    that beat waited for all of it; asked for when the clock reaches the step, the step has
    a frame of its own and the beats that follow append to the curves as usual.

    Parameters
    ----------
    request : callable
        Asks for a frame (:meth:`FrameCadence.request`).
    parent : QObject, optional
        Owner of the timer.
    """

    def __init__(self, request: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._request = request
        self._last: tuple[float, float] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # a coarse timer may fire up to 5 % early, before the step
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(request)

    def check(self, clock_s: float, to_step_s: float, within_s: float) -> None:
        """Ask for a frame now when the step is due, or time one for it if it is near.

        Parameters
        ----------
        clock_s : float
            The plots' clock now, s (session time).
        to_step_s : float
            Session time until the range steps, s (0 or less: the range drawn is stale).
        within_s : float
            Time a frame for the step when it is due within this much wall time, s (the
            interval between two checks: a later step is timed by a later check).
        """
        wall = time.perf_counter()
        last, self._last = self._last, (wall, clock_s)
        if to_step_s <= 0:
            self._request()
            return
        if last is None or wall <= last[0] or self._timer.isActive():
            return
        # session seconds per wall second, from the last two checks (0 while paused; a
        # replay's speed without asking the source what it is)
        rate = (clock_s - last[1]) / (wall - last[0])
        if rate <= 0:
            return
        wait_s = to_step_s / rate
        if wait_s <= within_s:
            self._timer.start(int(wait_s * 1000.0) + 2)

    def reset(self) -> None:
        """Forget the clock and any frame timed (a session ended or started)."""
        self._last = None
        self._timer.stop()


class WorkBetweenFrames(QObject):
    """Runs the window's periodic work (the spectrum, the respiration trace) just after a
    frame of the animated pacer, so that it ends before the next one is due.

    The work costs a few milliseconds a second; run at whatever moment its timer fires, it
    often overlapped the pacer's next frame, which then came that much late (a pacer frame
    16 ms apart: 4 ms is the margin of the issue's 20-ms goal). Right after a pacer frame it
    has nearly a whole frame period. When the pacer is not animated the work runs at once;
    work waiting longer than :data:`LATEST_S` (no pacer frame came) runs then.

    Parameters
    ----------
    animating : callable
        Whether the pacer's frames are being drawn now.
    parent : QObject, optional
        Owner of the timers.
    """

    LATEST_S = 0.05
    """Longest a piece of work waits for a pacer frame, s (three frames at 60 Hz)."""

    def __init__(self, animating: Callable[[], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._animating = animating
        self._pending: list[Callable[[], None]] = []
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(0)
        self._soon.timeout.connect(self._run_pending)
        self._latest = QTimer(self)
        self._latest.setSingleShot(True)
        self._latest.setInterval(round(self.LATEST_S * 1000))
        self._latest.timeout.connect(self._run_pending)

    def run(self, work: Callable[[], None]) -> None:
        """Run ``work`` after the pacer's next frame (at once when it is not animated; a
        piece of work already waiting is not queued twice)."""
        if not self._animating():
            work()
            return
        if work not in self._pending:
            self._pending.append(work)
        if not self._latest.isActive():
            self._latest.start()

    def frame_painted(self) -> None:
        """The pacer painted a frame: the waiting work runs once the event loop is free
        (after the rest of this paint; never inside it)."""
        if self._pending and not self._soon.isActive():
            self._soon.start()

    def _run_pending(self) -> None:
        self._soon.stop()
        self._latest.stop()
        pending, self._pending = self._pending, []
        for work in pending:
            work()


def plot_time_s(source_time_s: float, backlog: int, last_beat_s: float | None) -> float:
    """The time the plots end at.

    Parameters
    ----------
    source_time_s : float
        The source's session clock, s.
    backlog : int
        Events the source has queued that the pipeline has not taken yet.
    last_beat_s : float or None
        Time of the last beat drawn, s (None before the first).

    Returns
    -------
    float
        The source's clock, or the last beat's time when the pipeline is behind a fast
        source: the plots then scroll with the data, not the clock (otherwise they would
        show an empty stretch that is only queued, not missing).
    """
    if backlog > 1 and last_beat_s is not None:
        return min(source_time_s, last_beat_s)
    return source_time_s
