"""Helpers shared by the UI tests: waiting on the event loop, and checking that a background
job leaves the GUI thread free."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer

WAIT_TIMEOUT_S = 30.0


async def wait_for(
    condition: Callable[[], object], timeout_s: float = WAIT_TIMEOUT_S, what: str = ""
) -> None:
    """Let the loop run until ``condition()`` is true; fail after ``timeout_s`` (s)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached in time: {what or condition}")
        await asyncio.sleep(0.01)


def waiter(default_timeout_s: float) -> Callable[..., Awaitable[None]]:
    """:func:`wait_for` with another default timeout (s), for a module whose waits are short."""

    def bound(
        condition: Callable[[], object], timeout_s: float = default_timeout_s, what: str = ""
    ) -> Awaitable[None]:
        return wait_for(condition, timeout_s, what)

    return bound


async def qt_turn() -> None:
    """Return once Qt's event loop has run a zero-timer posted now: one turn of the loop."""
    done = asyncio.get_running_loop().create_future()
    QTimer.singleShot(0, lambda: done.done() or done.set_result(None))
    await done


@dataclass
class JobWatch:
    """What :func:`watch_job` saw while a background job was in flight.

    Attributes
    ----------
    turns_while_running : int
        Qt loop turns (posted zero-timers run) that completed while the job was still running.
    pids : set of int
        Process ids of the job seen meanwhile.
    commands : list of list of str
        Their command lines (from ``/proc``, where there is one).
    max_gui_cpu_s : float
        The most CPU time the GUI thread spent between two turns while the job ran, s
        (thread CPU time, not wall time: a loaded machine slows the wall clock, not this).
    """

    turns_while_running: int = 0
    max_gui_cpu_s: float = 0.0
    pids: set[int] = field(default_factory=set)
    commands: list[list[str]] = field(default_factory=list)


async def watch_job(
    process: Callable[[], Any],
    finished: Callable[[], bool],
    *,
    sample: Callable[[], None] | None = None,
    timeout_s: float = 120.0,
) -> JobWatch:
    """Turn the Qt loop until ``finished()``, counting the turns made while the job runs.

    The job counts as running while ``process()`` returns a process that has not exited.
    A job that ran on the GUI thread would let no turn complete while it runs, whatever the
    machine's load; a job in another process lets the loop turn as often as it likes. So the
    caller asserts on counts, never on wall time.

    Parameters
    ----------
    process : callable
        Returns the job's ``asyncio.subprocess.Process`` (or None when none runs).
    finished : callable
        True once the job's result has been shown.
    sample : callable, optional
        Called on each turn (e.g. to record the progress bar's value).
    timeout_s : float
        Give up after this long, s.
    """
    watch = JobWatch()
    deadline = time.monotonic() + timeout_s
    cpu_before = time.thread_time()
    while not finished():
        assert time.monotonic() < deadline, "the job did not finish in time"
        before = process()
        if before is not None and before.returncode is None and before.pid not in watch.pids:
            watch.pids.add(before.pid)
            try:
                argv = Path(f"/proc/{before.pid}/cmdline").read_bytes().decode().split("\0")
            except OSError:  # no /proc here, or the process has just ended
                argv = []
            if len(argv) > 1:
                watch.commands.append(argv)
        await qt_turn()
        if sample is not None:
            sample()
        await asyncio.sleep(0.01)  # let the job's own callbacks (pipes, timers) run too
        cpu_now = time.thread_time()
        after = process()
        if before is not None and after is before and after.returncode is None:
            watch.turns_while_running += 1
            # Everything the GUI thread did since the last turn: ours and the widgets' work.
            watch.max_gui_cpu_s = max(watch.max_gui_cpu_s, cpu_now - cpu_before)
        cpu_before = cpu_now
    return watch


def assert_job_left_the_gui_free(
    watch: JobWatch, argv: Sequence[str], min_turns: int = 10, max_gui_cpu_s: float = 0.5
) -> None:
    """The job ran as ``python ARGV...`` in another process, the GUI loop
    turned at least ``min_turns`` times while it ran, and no turn cost the GUI thread more
    than ``max_gui_cpu_s`` of CPU time (s)."""
    assert watch.pids, "no job process was seen"
    assert os.getpid() not in watch.pids
    for seen in watch.commands:
        assert seen[1 : 1 + len(argv)] == list(argv), seen
    assert watch.turns_while_running >= min_turns, watch
    assert watch.max_gui_cpu_s < max_gui_cpu_s, watch
