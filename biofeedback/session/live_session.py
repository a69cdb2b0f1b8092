"""The live session: source -> artifact detection and live indices -> store -> subscribers.

One chain, no back-and-forth. The session owns nothing visual: the CLI and the window
subscribe to its events (napari-style plain model).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import platform
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any, TypeVar

from biofeedback.core.clock import SYSTEM_CLOCK, SessionClock
from biofeedback.core.errors import StoreError
from biofeedback.core.signals import SignalChunk
from biofeedback.core.source import HeartRateSource
from biofeedback.core.types import (
    ArtifactClass,
    Beat,
    BeatBatch,
    Connected,
    Gap,
    GapReason,
    Marker,
    MarkerKind,
    NotificationRun,
    PhaseSpan,
    Reconnecting,
    Seeked,
    SourceState,
    StatusChange,
)
from biofeedback.live.artifacts import ClassifiedBeat
from biofeedback.live.events import BeatsProcessed, NeuroKitUpdate, SessionEvent
from biofeedback.live.indices import LiveHrvSettings, LiveIndices
from biofeedback.live.nk_worker import NeuroKitResult, NeuroKitWorker
from biofeedback.live.processor import LiveProcessor
from biofeedback.live.signal_check import SignalCheckUpdate
from biofeedback.session.signal_check import LiveSignalCheck
from biofeedback.store.database import SessionStore
from biofeedback.store.signal_blocks import SignalChunkError

_T = TypeVar("_T")

logger = logging.getLogger(__name__)

__all__ = [
    "BeatsProcessed",
    "LiveSession",
    "NeuroKitUpdate",
    "SessionEvent",
    "SessionStats",
    "SignalCheckUpdate",
]


@dataclass
class SessionStats:
    """Running totals of a session."""

    n_beats: int = 0
    n_notifications: int = 0
    n_gaps: int = 0
    gap_s: float = 0.0
    artifacts: dict[str, int] = field(default_factory=dict)
    first_beat_s: float | None = None
    last_beat_s: float | None = None
    final_state: str = SourceState.IDLE
    final_message: str = ""

    @property
    def artifact_pct(self) -> float:
        """Share of classified beats that are not normal, %."""
        total = sum(self.artifacts.values())
        bad = total - self.artifacts.get(ArtifactClass.NORMAL, 0)
        return 100.0 * bad / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "n_beats": self.n_beats,
            "n_notifications": self.n_notifications,
            "n_gaps": self.n_gaps,
            "gap_s": round(self.gap_s, 3),
            "artifacts": dict(self.artifacts),
            "artifact_pct": round(self.artifact_pct, 3),
            "first_beat_s": self.first_beat_s,
            "last_beat_s": self.last_beat_s,
            "final_state": str(self.final_state),
            "final_message": self.final_message,
        }


def software_versions() -> dict[str, str]:
    """Versions of the program and of what shapes its numbers (without importing them)."""
    versions = {"python": platform.python_version()}
    for dist in ("biofeedback", "numpy", "scipy", "neurokit2", "bleak"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[dist] = metadata.version(dist)
    return versions


class LiveSession:
    """Runs one source through artifact detection, live indices and (optionally) the store.

    Parameters
    ----------
    source : HeartRateSource
        Where beats come from (simulated strap, BLE strap, replay).
    store : SessionStore, optional
        When given, the session is recorded: each notification is committed on arrival.
    participant_id, protocol_id : str, optional
        Stored with the session.
    neurokit : bool
        Run neurokit2 on the rolling window every few seconds of wall time, off the loop,
        and (when the source sends ECG or ACC) the live check of the raw streams in the same
        worker process (:mod:`biofeedback.session.signal_check`).
    commit_interval_s : float
        Wall time between commits, s. 0 (default) commits every notification, which is what
        makes a crash lose at most the notification in flight; a faster-than-real-time
        recording may group notifications for throughput.
    spectral_min_wall_s : float
        Least wall time between two spectral refreshes, s. Spectral values (HF, LF, breathing,
        coherence) refresh every second of session time; at real time and moderate speeds
        that is unaffected, while a max-speed replay refreshes about 20 times per wall
        second instead of once per session second (the final values are always computed).
    settings : dict, optional
        Extra settings stored with the session (protocol, study...).
    clock : SessionClock
        The calendar clock, read once for the stored ``started_utc``, and the monotonic
        clock of the commit and refresh throttles (default: the system's;
        :mod:`biofeedback.core.clock`).
    """

    def __init__(
        self,
        source: HeartRateSource,
        *,
        store: SessionStore | None = None,
        participant_id: str | None = None,
        protocol_id: str | None = None,
        neurokit: bool = True,
        commit_interval_s: float = 0.0,
        spectral_min_wall_s: float = 0.05,
        settings: dict[str, Any] | None = None,
        clock: SessionClock = SYSTEM_CLOCK,
    ) -> None:
        self.source = source
        self.clock = clock
        self.store = store
        self.participant_id = participant_id
        self.protocol_id = protocol_id
        self.session_id: int | None = None
        self.stats = SessionStats()
        self.latest_neurokit: NeuroKitResult | None = None
        self._neurokit = neurokit
        self._worker: NeuroKitWorker | None = None
        self.signal_check: LiveSignalCheck | None = None
        """The live ECG and breathing check (with the neurokit2 worker, from :meth:`run`)."""
        self.processor = self._new_processor()
        self._commit_interval_s = commit_interval_s
        self._spectral_min_wall_s = spectral_min_wall_s
        self._last_spectral = float("-inf")
        self._extra_settings = dict(settings or {})
        self._subscribers: list[Callable[[SessionEvent], None]] = []
        self._stop = asyncio.Event()
        self._next_seq = 0
        self._next_notification = 0
        self._last_commit = 0.0
        self._refused_streams: set[str] = set()
        self._pending_gaps: list[Gap] = []
        self._early_markers: list[Marker] = []
        self._phase_handles: list[PhaseSpan] = []
        self.before_finish: list[Callable[[float], None]] = []
        """Called with the session's end time (s) as it closes (e.g. a protocol runner ends
        its phase there)."""
        self._phase_rows: dict[int, int] = {}
        self.store_error: StoreError | None = None
        """Why recording stopped when a write to the store failed (a full disk...): the store
        has closed the session then, and nothing more is written to it."""

    def _new_processor(self) -> LiveProcessor:
        # One worker process per session, shared by the processors a replay seek creates.
        return LiveProcessor(
            hrv_settings=LiveHrvSettings(spectral_inline=False), nk_worker=self._worker
        )

    @property
    def signal_check_enabled(self) -> bool:
        """Whether ECG and ACC chunks get the live check (it runs in the neurokit2 worker)."""
        return self._neurokit

    def indices(self) -> LiveIndices:
        """Current live indices (cached by the processor until new beats arrive)."""
        return self.processor.snapshot()

    # -- subscription ----------------------------------------------------------------------

    def subscribe(self, callback: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` for every session event; returns an unsubscribe function."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def _publish(self, event: SessionEvent) -> None:
        for callback in list(self._subscribers):
            callback(event)

    # -- control ---------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the session to finish cleanly (safe from a signal handler)."""
        self._stop.set()

    def add_marker(
        self,
        label: str,
        *,
        kind: MarkerKind = MarkerKind.USER,
        duration_s: float = 0.0,
        onset_s: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Marker:
        """Record a marker now (or at ``onset_s``) on the session clock."""
        marker = Marker(
            self.source.session_time_s() if onset_s is None else onset_s,
            duration_s,
            label,
            kind,
            dict(extra or {}),
        )
        self._record_marker(marker)
        return marker

    def start_phase(self, span: PhaseSpan) -> int:
        """Record that a phase started; returns a handle for :meth:`end_phase`."""
        self._ensure_session()
        self._phase_handles.append(span)
        handle = len(self._phase_handles) - 1
        if self._recording:
            row = self._write(lambda store, sid: store.start_phase(sid, span))
            if row is not None:
                self._phase_rows[handle] = row
        return handle

    def end_phase(self, handle: int, end_s: float) -> None:
        """Record the end of a phase started with :meth:`start_phase`."""
        span = self._phase_handles[handle]
        self._phase_handles[handle] = replace(span, end_s=end_s)
        row = self._phase_rows.pop(handle, None)
        if self._recording and row is not None:
            self._write(lambda store, _: store.end_phase(row, end_s))

    @property
    def phases(self) -> list[PhaseSpan]:
        """Phases recorded so far (an open phase ends where it started)."""
        return list(self._phase_handles)

    def _record_marker(self, marker: Marker, *, publish: bool = True) -> None:
        if self.store is not None and self.store_error is None:
            if self.session_id is None:
                self._early_markers.append(marker)
            else:
                self._write(lambda store, sid: store.add_marker(sid, marker))
        if publish:
            self._publish(marker)

    @property
    def _recording(self) -> bool:
        """Whether beats and events still go to the store."""
        return self.store is not None and self.session_id is not None and \
            self.store_error is None

    def _write(self, write: Callable[[SessionStore, int], _T]) -> _T | None:
        """Run one store write; on failure close the session as the store can and stop.

        The error is re-raised to the caller now and by :meth:`run` when it returns, and no
        later write is tried, so a full disk gives one sentence, not a cascade.
        """
        assert self.store is not None and self.session_id is not None
        try:
            return write(self.store, self.session_id)
        except StoreError as exc:
            if self.store_error is None:
                self.store_error = self.store.abandon_recording(self.session_id, exc)
                self._stop.set()
            if self.store_error is exc:
                raise
            raise self.store_error from exc

    # -- running ---------------------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """Everything that shaped this session, stored with it."""
        return {
            "source": {"kind": self.source.kind, **self.source.settings},
            "live": self.processor.settings(),
            **self._extra_settings,
        }

    async def run(self, *, duration_s: float | None = None) -> SessionStats:
        """Start the source and process its events until it ends, ``duration_s`` of session
        time has passed, or :meth:`request_stop` is called.

        Returns
        -------
        SessionStats
            Totals; the stored session (if any) is ``complete`` afterwards, or
            ``interrupted`` when processing raised or the source failed.
        """
        if self.store is not None and self.participant_id is not None:
            self.store.ensure_participant(self.participant_id)  # a bad id fails before starting
        if self._neurokit and self._worker is None:
            self._worker = NeuroKitWorker(clock=self.clock.monotonic)
            self.processor.nk_worker = self._worker
            self.signal_check = LiveSignalCheck(self._worker, clock=self.clock.monotonic)
        await self.source.start()
        consumer = asyncio.ensure_future(self._consume(duration_s))
        stopper = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({consumer, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not consumer.done():
                consumer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer
            # Stamp the end before stopping: disconnecting a strap can take seconds.
            end_s = self.source.session_time_s()
            await self.source.stop()
            failed = (
                (consumer.done() and not consumer.cancelled() and consumer.exception() is not None)
                or self.stats.final_state == SourceState.FAILED
                or self.store_error is not None
            )
            # A session cut short by an error is not a complete recording.
            self._finish("interrupted" if failed else "complete", end_s)
        error = consumer.exception() if consumer.done() and not consumer.cancelled() else None
        if error is not None:
            raise error
        if self.store_error is not None:  # a write outside the consumer failed (a marker)
            raise self.store_error
        return self.stats

    def _ensure_session(self) -> None:
        """Create the stored session once the source streams, so it carries the device
        information and a source that never connects leaves no empty session behind."""
        if self.store is None or self.session_id is not None:
            return
        self.session_id = self.store.create_session(
            source=self.source.kind,
            participant_id=self.participant_id,
            device_info=self.source.device_info,
            protocol_id=self.protocol_id,
            settings=self.settings(),
            versions=software_versions(),
            started_utc=self.clock.wall_utc_iso(),
        )
        early, self._early_markers = self._early_markers, []
        for marker in early:
            self._record_marker(marker, publish=False)

    async def _consume(self, duration_s: float | None) -> None:
        async for event in self.source.batched(duration_s):
            if not isinstance(event, StatusChange | Reconnecting) or (
                isinstance(event, StatusChange) and event.state is SourceState.STREAMING
            ):
                self._ensure_session()
            if isinstance(event, NotificationRun):
                # A run reaching duration_s ends at its first notification there (batched()).
                self._on_run(event)
                if duration_s is not None and event.received_s[-1] >= duration_s:
                    return
            elif isinstance(event, BeatBatch):
                self._on_batch(event)
                if duration_s is not None and event.received_s >= duration_s:
                    return
            elif isinstance(event, Gap):
                self._on_gap(event)
            elif isinstance(event, Marker):
                self._record_marker(event)
            elif isinstance(event, StatusChange):
                self._on_status(event)
            elif isinstance(event, Seeked):
                self._on_seek(event)
            elif isinstance(event, Connected):
                self._on_connected(event)
            elif isinstance(event, SignalChunk):
                self._on_signal(event)
            else:
                self._publish(event)
            if self._stop.is_set():
                # Queued events would otherwise drain first (get() does not yield while the
                # queue has items), recording past the point the stop was asked for.
                return

    def _on_batch(self, batch: BeatBatch) -> None:
        batch = self._numbered(batch)
        update = self.processor.process_batch(batch)
        classified = update.beats
        now_wall = self.clock.monotonic_s()
        if self._recording:
            commit = now_wall - self._last_commit >= self._commit_interval_s
            self._write(lambda store, sid: store.append_notification(
                sid, self._next_notification, batch, classified, self._pending_gaps,
                commit=commit,
            ))
            if commit:
                self._last_commit = now_wall
        self._pending_gaps = []
        self._next_notification += 1
        stats = self.stats
        stats.n_notifications += 1
        if batch.beats:
            stats.n_beats += len(batch.beats)
            if stats.first_beat_s is None:
                stats.first_beat_s = batch.beats[0].time_s
            stats.last_beat_s = batch.beats[-1].time_s
        self._count(classified)
        if self.signal_check is not None:
            self.signal_check.add_beats(batch.beats)
            self._poll_signal_check()
        if now_wall - self._last_spectral >= self._spectral_min_wall_s:
            self._last_spectral = now_wall
            self.processor.refresh_spectral_if_due()
        if update.nk is not None and update.nk is not self.latest_neurokit:
            self.latest_neurokit = update.nk
            self._publish(NeuroKitUpdate(update.nk))
        if self._subscribers:  # the indices are computed for the event only when it has readers
            self._publish(BeatsProcessed(batch, classified, self.processor.snapshot()))

    def _on_run(self, run: NotificationRun) -> None:
        """Take a run of notifications as :meth:`_on_batch` takes each in turn, sharing what
        a run can share: one clock read, one store call, one poll of the workers and one
        :class:`BeatsProcessed` for the run (the same beats, classes, stored rows and, at the
        end of the run, the same indices as one by one with that clock reading)."""
        n_notifications = run.n_notifications
        if not n_notifications:
            return
        rr, times = run.rr_ms, run.time_s
        n_beats = len(rr)
        seq = self._next_seq
        self._next_seq += n_beats
        now_wall = self.clock.monotonic_s()
        # One by one, the throttle lets the first notification of a clock reading refresh
        # the spectral values (and, without a throttle, every notification).
        if self._spectral_min_wall_s <= 0:
            checks = n_notifications
        elif now_wall - self._last_spectral >= self._spectral_min_wall_s:
            self._last_spectral = now_wall
            checks = 1
        else:
            checks = 0
        update = self.processor.process_run(seq, rr, times, run.ends, checks)
        classified = update.beats
        if self._recording:
            commit = now_wall - self._last_commit >= self._commit_interval_s
            self._write(lambda store, sid: store.append_notifications(
                sid, self._next_notification, run, seq, classified, self._pending_gaps,
                commit=commit,
            ))
            if commit:
                self._last_commit = now_wall
        self._pending_gaps = []
        self._next_notification += n_notifications
        stats = self.stats
        stats.n_notifications += n_notifications
        if n_beats:
            stats.n_beats += n_beats
            if stats.first_beat_s is None:
                stats.first_beat_s = times[0]
            stats.last_beat_s = times[-1]
        self._count(classified)
        if self.signal_check is not None:
            self.signal_check.add_intervals(rr, times)
            self._poll_signal_check()
        if update.nk is not None and update.nk is not self.latest_neurokit:
            self.latest_neurokit = update.nk
            self._publish(NeuroKitUpdate(update.nk))
        if self._subscribers:
            beats, notifications = run.beats(seq)
            merged = BeatBatch(run.received_s[-1], beats)
            self._publish(BeatsProcessed(merged, classified, self.processor.snapshot(),
                                         notifications))

    def _on_signal(self, chunk: SignalChunk) -> None:
        """Store raw samples (ECG, accelerometer) as they arrive, committed like beats.

        Then published to subscribers (the window's ECG strip and respiration trace), stored
        first so what is drawn is on disk. A chunk the store refuses (a source's bug: wrong
        unit or channels) is dropped with a warning, once per stream, and the recording goes
        on (and is not drawn either).
        """
        if self._recording and not self._store_signal(chunk):
            return
        self._publish(chunk)
        if self.signal_check is not None:
            self.signal_check.add_chunk(chunk)
            self._poll_signal_check()

    def _poll_signal_check(self) -> None:
        """Start a live check when due and publish one that finished (a clock read else)."""
        assert self.signal_check is not None
        update = self.signal_check.poll()
        if update is not None:
            self._publish(update)

    def _store_signal(self, chunk: SignalChunk) -> bool:
        """Store ``chunk``; False when the store refused it."""
        now_wall = self.clock.monotonic_s()
        commit = now_wall - self._last_commit >= self._commit_interval_s
        try:
            self._write(lambda store, sid: store.append_signal(sid, chunk, commit=commit))
        except SignalChunkError as exc:
            if chunk.stream not in self._refused_streams:
                self._refused_streams.add(chunk.stream)
                logger.warning("raw samples not stored: %s", exc)
            return False
        if commit:
            self._last_commit = now_wall
        return True

    def _numbered(self, batch: BeatBatch) -> BeatBatch:
        """The batch with its beats' session sequence numbers, the one place they are set."""
        if not batch.beats:
            return batch
        seq = self._next_seq
        self._next_seq += len(batch.beats)
        return BeatBatch(
            batch.received_s,
            tuple(
                Beat(b.rr_ms, b.time_s, b.received_s, b.sensor_contact, seq + i)
                for i, b in enumerate(batch.beats)
            ),
            batch.heart_rate_bpm,
        )

    def _on_gap(self, gap: Gap) -> None:
        classified = self.processor.process_gap(gap)
        self._count(classified)
        if self.signal_check is not None:
            self.signal_check.add_gap(gap)
        if self._recording:
            # Written with the next notification, in the same transaction as its beats.
            self._write(lambda store, sid: store.write_classes(sid, classified))
            self._pending_gaps.append(gap)
        self.stats.n_gaps += 1
        self.stats.gap_s += gap.duration_s
        self._publish(gap)

    def _on_seek(self, seek: Seeked) -> None:
        # A jump in a replay: finish the segment so no index spans the jump; when
        # recording, the decided classes are stored and the jump is a gap.
        finished = self.processor.finish()
        self._count(finished)
        if self._recording:
            self._write(lambda store, sid: store.write_classes(sid, finished))
            last = self.stats.last_beat_s
            if last is not None and seek.t_s > last:
                self._pending_gaps.append(Gap(last, seek.t_s, GapReason.SOURCE))
        self.processor = self._new_processor()
        if self.signal_check is not None:
            self.signal_check.reset()
        self._publish(seek)

    def _on_connected(self, connected: Connected) -> None:
        if connected.address is not None and self._recording:
            # (Re)connected to a strap: keep what it reports (battery, firmware) current.
            self._write(lambda store, sid: store.update_session(
                sid, device_info=dict(connected.device_info)))
        self._publish(connected)

    def _on_status(self, status: StatusChange) -> None:
        self.stats.final_state = status.state
        self.stats.final_message = status.message
        self._publish(status)

    def _close_stored(self, store: SessionStore, session_id: int,
                      remaining: list[ClassifiedBeat], status: str) -> None:
        store.commit(session_id)
        for gap in self._pending_gaps:
            store.add_gap(session_id, gap)
        store.write_classes(session_id, remaining)
        store.finish_session(session_id, status)

    def _count(self, classified: tuple[ClassifiedBeat, ...] | list[ClassifiedBeat]) -> None:
        artifacts = self.stats.artifacts
        for c in classified:
            artifacts[c.artifact] = artifacts.get(c.artifact, 0) + 1

    def _finish(self, status: str = "complete", end_s: float | None = None) -> None:
        error: BaseException | None = None
        for hook in list(self.before_finish):
            try:
                hook(self.source.session_time_s() if end_s is None else end_s)
            except Exception as exc:  # the session must still be closed properly
                # The first failure is re-raised once the session is closed; later ones
                # would otherwise vanish.
                logger.debug("before-finish hook %r failed", hook, exc_info=True)
                error = error or exc
        remaining = self.processor.finish()
        self._count(remaining)
        self.processor.refresh_spectral_if_due()
        if self._worker is not None:
            self._worker.close()
        if self._recording:
            try:
                self._write(lambda store, sid: self._close_stored(store, sid, remaining, status))
            except StoreError as exc:
                error = error or exc
        if error is not None:
            raise error
