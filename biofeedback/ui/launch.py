"""Start the window: Qt application, asyncio on Qt's loop, main window, optional auto-start.

Heavy modules (neurokit2, scipy, the analysis) are not imported before the window is on
screen; the session set-up imports what it needs in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from biofeedback.session.launch import SessionRequest, resolve_data_dir
from biofeedback.ui.event_loop import run_until_complete, spawn
from biofeedback.ui.main_window import MainWindow
from biofeedback.viewmodels.displays import choose_participant_display
from biofeedback.viewmodels.preferences import WindowPreferences

logger = logging.getLogger(__name__)

__all__ = ["WindowOptions", "participant_screenshot", "run_window"]

STARTUP_REPORT_ENV = "BIOFEEDBACK_REPORT_STARTUP"
"""When set, print ``window visible at T (X s after process start)`` on standard output at the
window's first frame (T: ``time.monotonic()``, a clock every process of the machine shares and
no clock change moves, for a caller that noted it when it started the process; the process
start time from the OS is only good to about a second)."""


@dataclass(frozen=True, slots=True)
class WindowOptions:
    """What ``biofeedback app`` was asked to do.

    Attributes
    ----------
    request : SessionRequest or None
        Session to start at once (None: the window opens idle).
    data_dir : str or None
        ``--data-dir``.
    screenshot : Path or None
        Save a screenshot of the window here after :attr:`quit_after_s`.
    quit_after_s : float or None
        Wall time after which to take the screenshot (if any) and close, s.
    neurokit : bool
        Run neurokit2 on the rolling window (in a worker process).
    participant_screen : bool
        Open the participant screen at once.
    participant_display : int or None
        Its display, numbered from 1 (None: the first display that is not the window's, or
        the only one).
    """

    request: SessionRequest | None = None
    data_dir: str | None = None
    screenshot: Path | None = None
    quit_after_s: float | None = None
    neurokit: bool = True
    participant_screen: bool = False
    participant_display: int | None = None


def run_window(options: WindowOptions) -> int:
    """Open the window and run until it is closed; returns the exit status.

    Raises
    ------
    DisplayNotFoundError
        The participant screen was asked for on a display that does not exist (before any
        window opens).
    """
    started = _process_start()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("biofeedback")
    # The run ends when main() returns (after the window closed and its session finished),
    # not when Qt sees the last window go, which would stop the loop under main().
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon())
    if options.participant_screen:
        # Refused before any window opens, naming the displays there are.
        choose_participant_display(
            [s.name() for s in app.screens()], options.participant_display, None
        )
    data_dir = resolve_data_dir(options.data_dir)
    settings = WindowPreferences.load(data_dir)
    window = MainWindow(data_dir, settings, neurokit=options.neurokit)

    async def main() -> int:
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def on_closed() -> None:
            if not closed.done():
                closed.set_result(None)

        window.closed.connect(on_closed)
        if os.environ.get(STARTUP_REPORT_ENV):
            window.first_painted.connect(lambda: print(
                f"window visible at {time.monotonic():.6f} ({time.monotonic() - started:.3f} s "
                f"after process start); neurokit2 imported: "
                f"{'yes' if 'neurokit2' in sys.modules else 'no'}", flush=True
            ))
        window.show()
        if options.participant_screen:
            window.open_participant_screen(options.participant_display)
        if options.request is not None:
            window.start_session(options.request)
        if options.quit_after_s is not None:
            spawn(_screenshot_and_quit(window, options))
        await closed
        return 1 if window.last_error and options.quit_after_s is not None else 0

    return run_until_complete(app, main)


async def _screenshot_and_quit(window: MainWindow, options: WindowOptions) -> None:
    await asyncio.sleep(options.quit_after_s or 0.0)
    if options.screenshot is not None:
        options.screenshot.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(options.screenshot))
        if window.participant_screen is not None:
            window.participant_screen.grab().save(str(participant_screenshot(options.screenshot)))
    window.close()


def participant_screenshot(screenshot: Path) -> Path:
    """Where ``--screenshot PATH`` saves the participant screen: ``NAME.participant.png``
    next to ``PATH``."""
    return screenshot.with_name(f"{screenshot.stem}.participant{screenshot.suffix or '.png'}")


def _process_start() -> float:
    """When the process started (psutil, so start-up includes Python's own), on the
    ``time.monotonic()`` clock, s.

    The OS tells the start in calendar time; it is moved onto the monotonic clock at once, so
    a clock change while the window opens does not change the time reported.
    """
    import psutil

    try:
        created = float(psutil.Process().create_time())
    except (psutil.Error, OSError):  # no access to our own process entry (sandboxes)
        logger.debug("process start time unavailable; using now", exc_info=True)
        return time.monotonic()
    return time.monotonic() - (time.time() - created)
