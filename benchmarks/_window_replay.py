"""Put hours of a recorded session on the window's screen, then go on at real time.

Shared by the window benchmarks (``pacer_frames.py``, ``ui_latency.py``): a simulated session
is recorded, replayed in the window at max speed, and switched to real time once ``loaded_s``
of it have been handed on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore
from biofeedback.ui.main_window import MainWindow
from sensors.simulated import SimulatedStrap

QUEUED_AHEAD_S = 400.0
"""Recorded beyond what the real-time part needs: the replay's queue runs up to 256 beats
ahead at max speed, and those are handed on when it is switched to real time, s."""
WAIT_S = 600.0
"""Longest wait for a session to reach a state; longer is an error, not a hang, s."""


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait until ``condition()`` holds; raise after :data:`WAIT_S` naming ``what``."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {WAIT_S:g} s for {what}")
        await asyncio.sleep(0.01)


async def stop_session(window: MainWindow) -> None:
    """Stop the window's session and wait until it has stopped."""
    window.stop_session()
    await until(lambda: not window.running, "the session to stop")


async def replay_then_real_time(
    window: MainWindow, data_dir: Path, loaded_s: float, real_time_s: float, seed: int = 9,
) -> None:
    """Record ``loaded_s + real_time_s`` of a simulated session, replay it in ``window``.

    The replay runs at max speed up to ``loaded_s`` of session time (s), then at real time.
    """
    with SessionStore.open(data_dir) as store:
        recorded = LiveSession(
            SimulatedStrap(seed=seed, speed=None,
                           duration_s=loaded_s + QUEUED_AHEAD_S + real_time_s),
            store=store, neurokit=False, commit_interval_s=0.5)
        await recorded.run()
        session_id = recorded.session_id
    switched: list[float] = []

    def on_started(prepared: object) -> None:
        # At max speed the last hour goes by in a few ms: polling for the session time misses
        # it and the replay ends first (what made these benchmarks hang or measure nothing).
        # Switch on the session's own events instead, as soon as loaded_s have been handed on.
        source = prepared.source  # type: ignore[attr-defined]

        def on_event(_event: object) -> None:
            if not switched and source.session_time_s() >= loaded_s:
                switched.append(source.session_time_s())
                window.replay_bar.set_speed(1.0)

        prepared.session.subscribe(on_event)  # type: ignore[attr-defined]

    window.session_started.connect(on_started)
    window.settings.speed = None
    window.browser.replay_requested.emit(session_id)
    await until(lambda: bool(switched), f"the replay to reach {loaded_s:g} s")
    window.session_started.disconnect(on_started)
    if window.current is None:
        raise RuntimeError("the replay ended before it was switched to real time")
