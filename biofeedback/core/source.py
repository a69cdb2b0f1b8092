"""The one interface every heart-rate source implements.

A source is an async iterator of :data:`~biofeedback.core.types.SourceEvent` with
``start``/``stop``. The BLE strap, the simulated strap and replay all sit behind it, so the
session, the store and the UI never know which one they are fed by.
"""

from __future__ import annotations

import abc
import asyncio
import bisect
import logging
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import (
    NotificationRun,
    PhaseSpan,
    SourceEvent,
    SourceState,
    StatusChange,
)

logger = logging.getLogger(__name__)


class _End:
    """The queue item after a source's last event."""


_END: Final = _End()


class SourceError(RuntimeError):
    """A source could not start or went wrong in a way the user must be told about."""


@dataclass(frozen=True, slots=True)
class SourceCapabilities:
    """What a source can do, so a window can ask instead of checking classes.

    Attributes
    ----------
    live : bool
        Beats happen now, on a person wearing the strap (a BLE or simulated strap): someone
        can practise along, so guidance (pacer, protocol prompts) makes sense.
    seekable : bool
        The source plays something recorded and can pause, change speed and seek
        (``pause``/``resume``/``set_speed``/``seek`` and ``duration_s``, as
        :class:`~sensors.replay.ReplaySource`).
    has_battery : bool
        The device reports a battery level (in :class:`~biofeedback.core.types.Connected`).
    """

    live: bool = True
    seekable: bool = False
    has_battery: bool = False



@typing.runtime_checkable
class SeekableSource(typing.Protocol):
    """The controls of a source whose capabilities say ``seekable`` (a replay): what a
    replay bar drives, without knowing the source's class."""

    @property
    def duration_s(self) -> float:
        """Session time of the last notification, s."""
        ...

    @property
    def paused(self) -> bool:
        """Whether playback is paused."""
        ...

    @property
    def speed(self) -> float | None:
        """Current speed (None = as fast as possible)."""
        ...

    def pause(self) -> None:
        """Hold playback where it is."""
        ...

    def resume(self) -> None:
        """Continue after :meth:`pause`."""
        ...

    def set_speed(self, speed: float | str | None) -> None:
        """Change the speed (takes effect at once)."""
        ...

    def seek(self, t_s: float) -> None:
        """Jump to session time ``t_s``, s."""
        ...

    def session_time_s(self) -> float:
        """The source's session clock, s."""
        ...


class HeartRateSource(abc.ABC):
    """Base class of every heart-rate source.

    Subclasses implement :meth:`_run`, which produces events with :meth:`_emit` until the
    source is exhausted or stopped. Consumers do::

        await source.start()
        async for event in source:
            ...
        # or, from elsewhere: await source.stop()

    The queue between producer and consumer is bounded, so a source that runs faster than
    real time (``speed="max"``) is paced by the pipeline instead of filling memory.
    """

    kind: ClassVar[str] = "abstract"
    """Short name stored with each beat and session (``"sim"``, ``"replay"``, ``"ble"``)."""

    capabilities: ClassVar[SourceCapabilities] = SourceCapabilities()
    """What this kind of source can do (a live source without battery by default)."""

    def __init__(self, *, queue_size: int = 256) -> None:
        self._queue: asyncio.Queue[SourceEvent | NotificationRun | _End] = asyncio.Queue(
            maxsize=queue_size
        )
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._state = SourceState.IDLE
        self._finished = False
        self._closer: asyncio.Task[None] | None = None
        self._dropped = 0
        """Bumped when a source drops what it had queued (a replay's seek): the rest of a
        run being handed out one notification at a time is dropped with it."""
        self._end_message: str | None = None
        """Set by a source whose ``_run`` ends on its own for a reason the user should read."""

    # -- public API ------------------------------------------------------------------------

    @property
    def state(self) -> SourceState:
        """Current state of the source."""
        return self._state

    @property
    def device_info(self) -> dict[str, Any]:
        """What is known of the device (model, firmware, address, body location, battery)."""
        return {}

    @property
    def settings(self) -> dict[str, Any]:
        """The source's own settings, stored with the session (seed, speed, file name...)."""
        return {}

    @property
    def phases(self) -> tuple[PhaseSpan, ...]:
        """Protocol phases the source already knows (a replay's recorded phases), else none."""
        return ()

    @property
    def backlog(self) -> int:
        """Events produced but not yet consumed (non-zero when the consumer falls behind a
        fast simulated or replayed source)."""
        return self._queue.qsize()

    @abc.abstractmethod
    def session_time_s(self) -> float:
        """Current time on the session clock, s.

        For live sources this is the receive clock; for simulated or replayed sources it is
        the simulated or recorded time, so markers and phases line up with the beats at any
        speed.
        """

    async def start(self) -> None:
        """Start producing events. Calling it twice is an error."""
        if self._task is not None:
            raise SourceError(f"{type(self).__name__} was already started")
        self._task = asyncio.get_running_loop().create_task(self._main())

    async def stop(self) -> None:
        """Stop producing events and release resources; safe to call more than once."""
        self._stopping = True
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                current = asyncio.current_task()
                if current is not None and current.cancelling():
                    raise  # the caller itself is being cancelled: do not swallow that
        if not self._finished:
            await self._finish(SourceState.FINISHED, "Stopped")

    def __aiter__(self) -> AsyncIterator[SourceEvent]:
        return self._iterate()

    async def batched(self, until_s: float | None = None
                      ) -> AsyncIterator[SourceEvent | NotificationRun]:
        """The events, with the runs of notifications a fast source queued kept whole
        (:class:`~biofeedback.core.types.NotificationRun`; what the live session consumes).

        Iterating the source itself yields the same notifications one by one.

        Parameters
        ----------
        until_s : float, optional
            Where the consumer stops, s: a run reaching it ends at its first notification
            received at or after it (what the consumer takes, one by one, before stopping).
        """
        if self._task is None:
            raise SourceError(f"{type(self).__name__}: call start() before iterating")
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, NotificationRun) and until_s is not None and (
                item.received_s[-1] >= until_s
            ):
                item = item.head(bisect.bisect_left(item.received_s, until_s) + 1)
            self._on_consumed(item)
            yield item

    # -- for subclasses --------------------------------------------------------------------

    @abc.abstractmethod
    async def _run(self) -> None:
        """Produce events with :meth:`_emit` until done; return when exhausted."""

    async def _cleanup(self) -> None:  # noqa: B027 - optional hook
        """Release resources; called once after :meth:`_run` ends for any reason."""

    async def _emit(self, event: SourceEvent | NotificationRun) -> None:
        """Hand one event to the consumer, waiting while the consumer is behind."""
        if isinstance(event, StatusChange):
            self._state = event.state
        await self._queue.put(event)

    async def _set_state(self, state: SourceState, message: str) -> None:
        await self._emit(StatusChange(state, message, self.session_time_s()))

    # -- internals -------------------------------------------------------------------------

    async def _main(self) -> None:
        state, message = SourceState.FINISHED, "Finished"
        try:
            await self._run()
            message = self._end_message or message
        except asyncio.CancelledError:
            await self._cleanup_quietly()
            raise
        except BiofeedbackError as exc:  # written for the user already
            state, message = SourceState.FAILED, str(exc)
        except Exception as exc:  # a source failure must reach the user as a status, not a crash
            logger.debug("%s failed", type(self).__name__, exc_info=True)
            state, message = SourceState.FAILED, f"{type(exc).__name__}: {exc}"
        await self._cleanup_quietly()
        await self._finish(state, message)

    async def _cleanup_quietly(self) -> None:
        # Broad on purpose: _cleanup is each source's own code (bleak, files, simulators), the
        # source is ending anyway, and a failed cleanup must not hide why it ended.
        try:
            await self._cleanup()
        except Exception:
            logger.debug("cleanup of %s failed", type(self).__name__, exc_info=True)

    async def _finish(self, state: SourceState, message: str) -> None:
        if self._finished:
            return
        self._finished = True
        self._state = state
        event = StatusChange(state, message, self.session_time_s())
        # stop() may be awaited by the consumer itself, which is then not draining the queue:
        # hand the end of the stream to a task so nothing already queued is dropped or blocks.
        self._closer = asyncio.get_running_loop().create_task(self._put_end(event))

    async def _put_end(self, event: StatusChange) -> None:
        await self._queue.put(event)
        await self._queue.put(_END)

    async def _iterate(self) -> AsyncIterator[SourceEvent]:
        if self._task is None:
            raise SourceError(f"{type(self).__name__}: call start() before iterating")
        while True:
            item = await self._queue.get()
            if isinstance(item, _End):
                return
            if isinstance(item, NotificationRun):
                dropped = self._dropped
                for batch in item.batches():
                    if self._dropped != dropped:
                        break
                    self._on_consumed(batch)
                    yield batch
                continue
            self._on_consumed(item)
            yield item

    def _on_consumed(self, event: object) -> None:  # noqa: B027 - optional hook
        """Called as the consumer takes each event (a replay keeps its clock on it)."""
