"""Where asyncio meets Qt: one event loop for both (qasync).

bleak, the live session and the replay source are asyncio code; the window is Qt. qasync runs
asyncio's loop on Qt's, so a notification callback, the session pipeline and a repaint all
happen on the GUI thread without locks, and nothing blocks the other as long as no callback
does heavy work (neurokit2 runs in a worker process, analysis in a subprocess). This is the
only module that imports qasync (enforced by ``tests/test_import_contract.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import qasync
from PySide6.QtWidgets import QApplication

from biofeedback.ui.gui_gc import GuiThreadCollector

T = TypeVar("T")

__all__ = ["close_event_loop", "create_event_loop", "run_until_complete", "spawn"]


def create_event_loop(app: QApplication) -> asyncio.AbstractEventLoop:
    """Make a qasync loop on ``app`` and install it as the current asyncio loop.

    While it is open, garbage is collected on the GUI thread only
    (:class:`~biofeedback.ui.gui_gc.GuiThreadCollector`): worker threads started from the
    loop must never be the ones that delete Qt objects.
    """
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()
    collector.start()
    _collectors[loop] = collector
    return loop


def close_event_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on ``loop``, close it and uninstall it."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending and not loop.is_running():
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    loop.close()
    asyncio.set_event_loop(None)
    collector = _collectors.pop(loop, None)
    if collector is not None:
        collector.stop()


def run_until_complete(app: QApplication, main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on a new Qt-asyncio loop over ``app`` and return its result."""
    loop = create_event_loop(app)
    try:
        return loop.run_until_complete(main())
    finally:
        close_event_loop(loop)


def spawn(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start ``coro`` as a task on the running loop, keeping a reference until it ends
    (asyncio only keeps weak references to tasks)."""
    task = asyncio.get_event_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


_tasks: set[asyncio.Task[Any]] = set()
_collectors: dict[asyncio.AbstractEventLoop, GuiThreadCollector] = {}
