"""Garbage collection on the GUI thread only, while a Qt-asyncio loop runs.

Python collects reference cycles on whichever thread happens to allocate past the collector's
threshold. The window runs database reads and session set-up in worker threads
(``asyncio.to_thread``); when a cycle holding Qt objects (a closed widget, its QTimer) is
collected there, Qt deletes them off their thread and the process can crash in Qt's timer
code. So while the loop runs, automatic collection is off and a GUI-thread timer collects
whatever generations are due, as often as the collector itself would have.

A full collection visits every object the collector tracks: with PySide6, pyqtgraph and
scipy imported, 50-130 ms on the GUI thread, the pacer's frames held up all that time
(``benchmarks/pacer_frames.py``; one every ~30 s in a live session). What survives a full
collection, and what a new import brought, lives long: it is moved to the permanent
generation (``gc.freeze``), so the next full collection visits only what came since. A session
that ends leaves garbage among those: :func:`thaw_long_lived` lets the next full collection
visit everything again (once, between sessions).
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QObject, QTimer

__all__ = ["GuiThreadCollector", "thaw_long_lived"]

COLLECT_INTERVAL_MS = 250
"""How often the GUI thread checks whether a collection is due, ms."""


class GuiThreadCollector(QObject):
    """Disable automatic garbage collection and collect from a timer on the GUI thread.

    Parameters
    ----------
    interval_ms : int
        Check interval, ms.
    """

    def __init__(self, interval_ms: int = COLLECT_INTERVAL_MS) -> None:
        super().__init__()
        self._was_enabled = gc.isenabled()
        self._modules = len(sys.modules)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect_due)

    def start(self) -> None:
        """Collect now, then only from this thread."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        gc.collect()
        gc.freeze()
        self._modules = len(sys.modules)
        self._timer.start()

    def stop(self) -> None:
        """Give collection back to Python (as it was before :meth:`start`)."""
        self._timer.stop()
        gc.unfreeze()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int:
        """Collect the oldest generation whose count passed its threshold; returns the number
        of unreachable objects found (0 when nothing was due).

        A full collection's survivors are frozen after it, and so is everything when a module
        was imported since the last check (in any thread).
        """
        if len(sys.modules) != self._modules:
            self._modules = len(sys.modules)
            gc.freeze()
        counts, thresholds = gc.get_count(), gc.get_threshold()
        if counts[0] <= thresholds[0]:
            return 0
        generation = 0
        if counts[1] > thresholds[1]:
            generation = 2 if counts[2] > thresholds[2] else 1
        found = gc.collect(generation)
        if generation == 2:
            gc.freeze()
        return found


def thaw_long_lived() -> None:
    """Let the next full collection visit every object again (``gc.unfreeze``).

    Objects frozen as long-lived can become garbage in cycles (a session's widgets and
    models, once it ended); only a collection that visits them finds those. The window calls
    this when a session has ended; the collector's next full collection is then a complete
    one, and freezes its survivors again.
    """
    gc.unfreeze()
