"""Background jobs of the source panel: a failure becomes a sentence next to its control.

The panel is a place to choose, so it never lets a traceback reach the user: an unexpected
error of a scan, of loading the protocols and studies, or of reading a study's plan is
logged (``DEBUG``) and shown as "Could not …: reason" under the control it is about.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from biofeedback.ui.event_loop import spawn

logger = logging.getLogger(__name__)

__all__ = ["PanelJobs"]

T = TypeVar("T")

_ACTIONS = {
    "scan": "scan for straps",
    "load": "read the protocols and studies",
    "plan": "read the study",
}
"""Job -> what it does, as in "Could not …"."""

_FIELDS = {"scan": "ble", "load": "study", "plan": "study"}
"""Job -> the error field (of :class:`~biofeedback.ui.source_box.SessionRequestError`)
whose label shows its failure; other jobs show theirs under Start."""


class PanelJobs:
    """Runs the panel's background jobs as asyncio tasks.

    Parameters
    ----------
    show_error : callable
        ``show_error(field, sentence)`` shows a failure next to the control of ``field``.
    """

    def __init__(self, show_error: Callable[[str, str], None]) -> None:
        self._show_error = show_error
        self.load_task: asyncio.Task[Any] | None = None
        """The last "load" job (the panel waits for it when asked to be idle)."""

    def spawn(
        self, what: str, job: Callable[[], Coroutine[Any, Any, T]]
    ) -> asyncio.Task[T | None]:
        """Run ``job`` (one of ``"scan"``, ``"load"``, ``"plan"``) as a task; its result,
        or None after a failure that was shown."""
        task = spawn(self._guard(what, job))
        if what == "load":
            self.load_task = task
        return task

    async def _guard(self, what: str, job: Callable[[], Coroutine[Any, Any, T]]) -> T | None:
        # The coroutine is made here, so a task cancelled before it ran leaves none unawaited.
        try:
            return await job()
        except (asyncio.CancelledError, KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # broad on purpose: any failure becomes a sentence, and a log
            logger.debug("background job %r failed", what, exc_info=True)
            field = _FIELDS.get(what, "start")
            self._show_error(field, f"Could not {_ACTIONS.get(what, what)}: {exc}")
            return None
