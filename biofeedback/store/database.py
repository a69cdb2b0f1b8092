"""The session store: one SQLite file in WAL mode, written as beats arrive.

Every notification's beats are committed when they arrive, so a crash loses at most the
notification being written. Raw RR is written once and never updated; the corrected value and
artifact class are filled in beside it when the detector's look-ahead has decided them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import sqlite3
import zlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psutil

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import (
    DiskFullError,
    ReadOnlyStoreError,
    SessionNotFoundError,
    StoreBusyError,
    StoreError,
)
from biofeedback.core.recording import Recording
from biofeedback.core.signals import SIGNAL_STREAMS, SignalChunk
from biofeedback.core.types import (
    BeatBatch,
    Gap,
    GapReason,
    Marker,
    MarkerKind,
    NotificationRun,
    PhaseSpan,
)
from biofeedback.store.connection import (
    connect_read_only,
    connect_writable,
    keep_space_reserve,
    release_space_reserve,
)
from biofeedback.store.faults import is_disk_full, store_error, translates_sqlite_errors
from biofeedback.store.participants import validate_participant_id
from biofeedback.store.paths import database_path
from biofeedback.store.records import (
    BeatClass,
    BeatClassification,
    SessionInfo,
    SessionSummary,
)
from biofeedback.store.signal_blocks import ENCODING, check_chunk, decode_block, encode_block
from biofeedback.store.wal_sync import DEFAULT_AUTOCHECKPOINT_PAGES, WalSyncer

__all__ = [
    "BeatClass",
    "BeatClassification",
    "SessionInfo",
    "SessionStore",
    "SessionSummary",
]

logger = logging.getLogger(__name__)

SESSION_STATUSES = ("recording", "complete", "interrupted")

PROCESS_ENDED = "the recording process ended without finishing the session"
"""Reason stored with a session whose writing process died (a crash, a kill, power loss)."""

DISK_FULL = "disk full"
"""Reason stored with a session stopped because its disk filled up."""

CHUNK_ROWS = 65536
"""Sample rows per stored chunk of a raw channel (about a minute of 1 kHz ECG, 256 KB)."""

_FLOAT32_KINDS = frozenset({"ecg", "acc"})
"""Channel kinds stored as float32. Its 24-bit significand resolves an ECG of +-5000 uV to
0.0005 uV and an acceleration of +-16000 mg to 0.001 mg, far below the least significant bit
of the devices' converters (about 0.1-1 uV, 1 mg), so nothing measured is lost and the file
is half the size. Other kinds (whose resolution we cannot vouch for) keep float64."""


SIGNAL_BLOCK_S = 2.0
"""Longest stored block of raw samples, s: consecutive chunks are merged into a block up to
this length (a PMD ECG frame is 73 samples, 0.56 s), which keeps both the per-row overhead and
what one damaged page can cost small."""

SIGNAL_TIME_TOLERANCE = 0.01
"""A chunk continues the open block when each of its samples falls within this fraction of a
sample period (77 us at 130 Hz) of where the block's rate places it: a source that re-measures
the rate at every frame (the PMD decoder does) still fills blocks of ~2 s, and no stored
sample time differs from the source's by more than this."""


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class SessionStore:
    """The SQLite session database.

    Parameters
    ----------
    path : path-like
        Database file; created (0600) with its folder (0700) when missing.
    read_only : bool
        Open for reading only: nothing is written to the disk (not even the reconciliation
        below, whose result is then only shown), so the store reads a full or read-only disk.
    verify : bool
        Run SQLite's ``quick_check`` before anything is written, so that a recording or an
        import never writes into a damaged file (SQLite itself notices damage only on the
        pages it reads). It reads the whole file: about 20 ms per 10 MB.

    Raises
    ------
    StoreError
        The file cannot be opened, with a sentence that says why and what to do:
        :class:`~biofeedback.core.errors.DiskFullError`,
        :class:`~biofeedback.core.errors.ReadOnlyStoreError`,
        :class:`~biofeedback.core.errors.DamagedStoreError` (a damaged or foreign file, left as
        it is), :class:`~biofeedback.core.errors.StoreBusyError`.

    Notes
    -----
    Opening the store for writing migrates the schema and marks as ``interrupted`` every
    session still ``recording`` whose writing process is gone. No method lets a raw
    ``sqlite3.Error`` escape: each becomes one of the errors above.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, verify: bool = False
    ) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self._presumed_interrupted: dict[int, str] = {}
        self._abandoned: set[int] = set()
        self._open_blocks: dict[tuple[int, str], tuple[int, SignalChunk]] = {}
        """The last block written per (session, stream): a contiguous chunk is merged in."""
        self._syncer: WalSyncer | None = None
        if read_only:
            self._conn = connect_read_only(self.path)
        else:
            self._conn = connect_writable(self.path, verify=verify)
            keep_space_reserve(self.path.parent)
        try:
            self.reconcile_interrupted()
        except BaseException:  # broad on purpose: close on any exit, then re-raise
            self._conn.close()
            raise

    @classmethod
    def open(
        cls, data_dir: str | os.PathLike[str] | None = None, *, read_only: bool = False,
        verify: bool = False,
    ) -> SessionStore:
        """Open the database in the data folder (``--data-dir``, ``$BIOFEEDBACK_DATA_DIR``,
        or the platform's user data folder)."""
        return cls(database_path(data_dir), read_only=read_only, verify=verify)

    @classmethod
    def open_for_reading(cls, data_dir: str | os.PathLike[str] | None = None) -> SessionStore:
        """Open the database to read it, read-only when it cannot be written.

        Reading commands use this: on a full disk or a read-only folder they still list,
        analyse and export what is stored.
        """
        return cls.for_reading(database_path(data_dir))

    @classmethod
    def for_reading(cls, path: str | os.PathLike[str]) -> SessionStore:
        """Open the database file ``path`` to read it, read-only when it cannot be written."""
        try:
            return cls(path)
        except (DiskFullError, ReadOnlyStoreError, StoreBusyError) as exc:
            logger.info("opening the session database read-only: %s", exc)
            try:
                return cls(path, read_only=True)
            except StoreError:
                if isinstance(exc, DiskFullError):
                    raise exc from None  # e.g. an upgrade that needs room: say that
                raise

    def close(self) -> None:
        """Close the connection (after the last commits are synced, see
        :meth:`sync_every_commit`)."""
        self._stop_syncing()
        self._conn.close()

    def __enter__(self) -> SessionStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sync_every_commit(self, enabled: bool = True) -> None:
        """Make every commit reach the disk, to survive a power cut, without waiting for it.

        A thread of its own fsyncs the write-ahead log right after each commit and
        checkpoints it (:class:`~biofeedback.store.wal_sync.WalSyncer`), so the commit costs
        the caller a write to the log, not the disk's flush; off (the default), commits are
        left to WAL ``NORMAL`` (every commit survives a killed process, not a power cut).
        """
        if enabled and self._syncer is None and not self.read_only:
            self._conn.execute("PRAGMA wal_autocheckpoint=0")  # the thread checkpoints
            self._syncer = WalSyncer(self.path)
        elif not enabled:
            self._stop_syncing()

    @property
    def syncs_every_commit(self) -> bool:
        """Whether each commit is fsynced (:meth:`sync_every_commit`)."""
        return self._syncer is not None

    def wait_synced(self, timeout_s: float | None = None) -> bool:
        """Wait until every commit so far is on the disk (True at once when not syncing);
        False on timeout."""
        return self._syncer is None or self._syncer.wait_synced(timeout_s)

    def _stop_syncing(self) -> None:
        syncer, self._syncer = self._syncer, None
        if syncer is not None:
            syncer.close()
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_AUTOCHECKPOINT_PAGES}")

    def _after_autocommit(self) -> None:
        """:meth:`_after_commit` for a statement that committed itself (outside a transaction)."""
        if not self._conn.in_transaction:
            self._after_commit()

    def _after_commit(self) -> None:
        """Tell the syncing thread of a commit; raises when an earlier fsync failed."""
        if self._syncer is None:
            return
        try:
            self._syncer.committed()
        except OSError as exc:
            raise StoreError(
                f"cannot write to {self.path}: its write-ahead log could not be flushed to"
                f" the disk ({exc.strerror or exc}); the last writes may not survive a power"
                " cut") from exc

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside is committed together or not at all.

        Inside a transaction left open by ``append_notification(commit=False)`` it joins that
        transaction, which the next commit then closes. An SQLite failure inside leaves as
        a :class:`~biofeedback.core.errors.StoreError` with its sentence.
        """
        if self._conn.in_transaction:
            yield self._conn
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise store_error(exc, self.path, "write to") from exc
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException as exc:  # broad on purpose: roll back on any exit, then re-raise
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise store_error(exc, self.path, "write to") from exc
            raise
        self._after_commit()

    def _rollback(self) -> None:
        # A failed COMMIT (disk full) may already have ended the transaction.
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                logger.debug("rollback failed", exc_info=True)

    # -- participants and sessions ---------------------------------------------------------

    @translates_sqlite_errors("write to")
    def ensure_participant(self, participant_id: str) -> None:
        """Create the participant if it does not exist yet.

        Parameters
        ----------
        participant_id : str
            Pseudonymous id (letters, digits, ``-`` and ``_``; never a person's name).
        """
        problem = validate_participant_id(participant_id)
        if problem is not None:
            raise StoreError(problem)
        self._conn.execute(
            "INSERT OR IGNORE INTO participants (id, created_utc) VALUES (?, ?)",
            (participant_id, _utc_now()),
        )
        self._after_autocommit()

    @translates_sqlite_errors("write to")
    def create_session(
        self,
        *,
        source: str,
        participant_id: str | None = None,
        device_info: dict[str, Any] | None = None,
        protocol_id: str | None = None,
        settings: dict[str, Any] | None = None,
        versions: dict[str, Any] | None = None,
        started_utc: str | None = None,
    ) -> int:
        """Start a session in status ``recording`` owned by this process; returns its id."""
        if participant_id is not None:
            self.ensure_participant(participant_id)
        pid = os.getpid()
        cur = self._conn.execute(
            "INSERT INTO sessions (participant_id, status, source, device_info, protocol_id,"
            " settings, versions, started_utc, owner_host, owner_pid, owner_started)"
            " VALUES (?, 'recording', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                participant_id,
                source,
                json.dumps(device_info or {}),
                protocol_id,
                json.dumps(settings or {}),
                json.dumps(versions or {}),
                started_utc or _utc_now(),
                socket.gethostname(),
                pid,
                psutil.Process(pid).create_time(),
            ),
        )
        assert cur.lastrowid is not None
        self._after_autocommit()
        return int(cur.lastrowid)

    @translates_sqlite_errors("write to")
    def update_session(
        self,
        session_id: int,
        *,
        device_info: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Replace the device information or settings of a session (e.g. once connected)."""
        if device_info is not None:
            self._conn.execute(
                "UPDATE sessions SET device_info = ? WHERE id = ?",
                (json.dumps(device_info), session_id),
            )
        if settings is not None:
            self._conn.execute(
                "UPDATE sessions SET settings = ? WHERE id = ?", (json.dumps(settings), session_id)
            )
        self._after_autocommit()

    def finish_session(
        self, session_id: int, status: str = "complete", reason: str | None = None
    ) -> None:
        """Close a session: set its status, end time and duration (to its last beat).

        Parameters
        ----------
        session_id : int
            The session.
        status : str
            ``"complete"`` or ``"interrupted"``.
        reason : str, optional
            Why an interrupted session ended (``"disk full"``), stored with it.
        """
        if status not in SESSION_STATUSES:
            raise ValueError(f"unknown session status {status!r}")
        with self.transaction() as conn:
            conn.execute(
                "UPDATE phases SET end_s = MAX(start_s, COALESCE("
                "(SELECT MAX(time_s) FROM beats WHERE session_id = ?), start_s))"
                " WHERE session_id = ? AND end_s IS NULL",
                (session_id, session_id),
            )
            conn.execute(
                "UPDATE sessions SET status = ?, ended_utc = ?, owner_pid = NULL,"
                " end_reason = ?,"
                " duration_s = (SELECT MAX(time_s) FROM beats WHERE session_id = ?)"
                " WHERE id = ?",
                (status, _utc_now(), reason, session_id, session_id),
            )
        self._presumed_interrupted.pop(session_id, None)
        for key in [k for k in self._open_blocks if k[0] == session_id]:
            del self._open_blocks[key]

    @translates_sqlite_errors("read")
    def reconcile_interrupted(self) -> list[int]:
        """Mark ``interrupted`` every ``recording`` session whose writer process is gone.

        Where that cannot be written (read-only, a full disk) the sessions are only shown as
        interrupted; the next store opened for writing stores it.

        Returns
        -------
        list of int
            Ids of the sessions found.
        """
        rows = self._conn.execute(
            "SELECT id, owner_host, owner_pid, owner_started FROM sessions"
            " WHERE status = 'recording'"
        ).fetchall()
        host = socket.gethostname()
        dead = [
            session_id
            for session_id, owner_host, pid, started in rows
            if owner_host == host and not _process_alive(pid, started)
        ]
        for session_id in dead:
            if self.read_only:
                self._presumed_interrupted[session_id] = PROCESS_ENDED
                continue
            try:
                self.finish_session(session_id, "interrupted", PROCESS_ENDED)
            except (DiskFullError, ReadOnlyStoreError, StoreBusyError) as exc:
                logger.info("session %d is shown as interrupted, not stored: %s", session_id,
                            exc)
                self._presumed_interrupted[session_id] = PROCESS_ENDED
        return dead

    @translates_sqlite_errors("write to")
    def delete_session(self, session_id: int) -> None:
        """Remove a session and everything recorded in it.

        Its raw channels and their chunks go with it by the foreign keys' ``ON DELETE
        CASCADE`` (the connection turns ``PRAGMA foreign_keys`` on).
        """
        self.session_info(session_id)
        with self.transaction() as conn:
            for table in ("beats", "notifications", "gaps", "markers", "phases",
                          "signal_blocks"):
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    # -- writing beats and events ----------------------------------------------------------

    def append_notification(
        self,
        session_id: int,
        notification_seq: int,
        batch: BeatBatch,
        classified: Sequence[BeatClass] = (),
        gaps: Sequence[Gap] = (),
        *,
        commit: bool = True,
    ) -> None:
        """Write one notification: its beats, the classes decided meanwhile, and a gap.

        Parameters
        ----------
        session_id : int
            Session being recorded.
        notification_seq : int
            Running number of the notification.
        batch : BeatBatch
            The notification, its beats numbered (``Beat.seq``).
        classified : sequence of BeatClass
            Beats (of this or earlier notifications) whose class became final (e.g. the
            detector's :class:`~biofeedback.live.artifacts.ClassifiedBeat` as they are).
        gaps : sequence of Gap
            Gaps the source reported before this notification.
        commit : bool
            Commit now (default). ``False`` lets a faster-than-real-time recorder group
            several notifications in one transaction.
        """
        beats = [(session_id, b.seq, b.time_s, b.received_s, b.rr_ms,
                  None if b.sensor_contact is None else int(b.sensor_contact))
                 for b in batch.beats]
        self._write_notifications(
            session_id,
            [(session_id, notification_seq, batch.received_s, batch.heart_rate_bpm,
              len(batch.beats))],
            beats, classified, gaps, commit)

    def append_notifications(
        self,
        session_id: int,
        first_notification_seq: int,
        run: NotificationRun,
        first_beat_seq: int,
        classified: Sequence[BeatClass] = (),
        gaps: Sequence[Gap] = (),
        *,
        commit: bool = True,
    ) -> None:
        """Write a run of notifications at once: the rows :meth:`append_notification` writes
        for each of them in turn (a max-speed replay being recorded).

        Parameters
        ----------
        session_id : int
            Session being recorded.
        first_notification_seq : int
            Running number of the run's first notification (the others follow it).
        run : NotificationRun
            The notifications.
        first_beat_seq : int
            Session sequence number of the run's first beat (the others follow it).
        classified : sequence of BeatClass
            Beats whose class became final during the run.
        gaps : sequence of Gap
            Gaps the source reported before the run.
        commit : bool
            Commit now (default), or leave the transaction open as ``append_notification``.
        """
        received, ends, rr, t = run.received_s, run.ends, run.rr_ms, run.time_s
        contact = run.sensor_contact
        notifications: list[tuple[int, int, float, None, int]] = []
        beats: list[tuple[int, int, float, float, float, int | None]] = []
        start = 0
        for k, (at, end) in enumerate(zip(received, ends, strict=True)):
            notifications.append(
                (session_id, first_notification_seq + k, at, None, end - start))
            if contact is None:
                beats.extend((session_id, first_beat_seq + i, t[i], at, rr[i], None)
                             for i in range(start, end))
            else:
                beats.extend(
                    (session_id, first_beat_seq + i, t[i], at, rr[i],
                     None if (c := contact[i]) is None else int(c))
                    for i in range(start, end)
                )
            start = end
        self._write_notifications(session_id, notifications, beats, classified, gaps, commit)

    def _write_notifications(
        self,
        session_id: int,
        notifications: Sequence[tuple[int, int, float, float | None, int]],
        beats: Sequence[tuple[int, int, float, float, float, int | None]],
        classified: Sequence[BeatClass],
        gaps: Sequence[Gap],
        commit: bool,
    ) -> None:
        """The rows of one or more notifications in one transaction (rolled back whole on any
        error, which abandons the recording cleanly)."""
        conn = self._conn
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            for gap in gaps:
                self._insert_gap(session_id, gap)
            conn.executemany(
                "INSERT INTO notifications (session_id, seq, received_s, heart_rate_bpm, n_rr)"
                " VALUES (?, ?, ?, ?, ?)",
                notifications,
            )
            conn.executemany(
                "INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms, sensor_contact)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                beats,
            )
            self._write_classes(session_id, classified)
            if commit:
                conn.execute("COMMIT")
                self._after_commit()
        except BaseException as exc:  # broad on purpose: roll back on any exit, then re-raise
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise self.abandon_recording(session_id, exc) from exc
            raise

    def commit(self, session_id: int | None = None) -> None:
        """Commit a transaction left open by ``append_notification(commit=False)``.

        Parameters
        ----------
        session_id : int, optional
            The session being recorded, closed as interrupted if the commit fails.
        """
        if not self._conn.in_transaction:
            return
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            if session_id is None:
                raise store_error(exc, self.path, "write to") from exc
            raise self.abandon_recording(session_id, exc) from exc
        self._after_commit()

    def append_signal(self, session_id: int, chunk: SignalChunk, *, commit: bool = True
                      ) -> None:
        """Write one chunk of raw samples (ECG, accelerometer) as it arrives.

        Committed on arrival like a notification's beats, so a crash loses at most the chunk
        being written. A chunk that continues the stream's last block (the next
        ``first_index``, its samples where the block's rate places them) is merged
        into that block up to :data:`SIGNAL_BLOCK_S` (its samples then placed at the block's
        rate, each within :data:`SIGNAL_TIME_TOLERANCE` of a sample period of the time the
        source gave it); otherwise it starts a new block.

        Parameters
        ----------
        session_id : int
            Session being recorded.
        chunk : SignalChunk
            Consecutive int32 samples of a stream of
            :data:`~biofeedback.core.signals.SIGNAL_STREAMS`, on the session clock.
        commit : bool
            Commit now (default); ``False`` joins the transaction that the next commit
            closes, as :meth:`append_notification` does.

        Raises
        ------
        SignalChunkError
            The chunk's stream, unit, channels, dtype, rate or time is wrong (nothing is
            written, the recording goes on).
        StoreError
            The database write failed; the session is closed as interrupted.
        """
        samples = check_chunk(chunk)
        if chunk.n_samples == 0:
            return
        conn = self._conn
        key = (session_id, chunk.stream)
        try:
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            merged = self._merge_into_open_block(key, chunk, samples)
            if not merged:
                cur = conn.execute(
                    "INSERT INTO signal_blocks (session_id, stream, first_index, t0_s, rate_hz,"
                    " n_samples, channels, unit, encoding, data)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session_id, chunk.stream, chunk.first_index, float(chunk.t0_s),
                     float(chunk.rate_hz), chunk.n_samples,
                     json.dumps(list(SIGNAL_STREAMS[chunk.stream][1])), chunk.unit, ENCODING,
                     encode_block(samples)),
                )
                assert cur.lastrowid is not None
                self._open_blocks[key] = (int(cur.lastrowid), chunk)
            if commit:
                conn.execute("COMMIT")
                self._after_commit()
        except BaseException as exc:  # broad on purpose: roll back on any exit, then re-raise
            self._open_blocks.pop(key, None)
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise self.abandon_recording(session_id, exc) from exc
            raise

    def _merge_into_open_block(self, key: tuple[int, str], chunk: SignalChunk,
                               samples: np.ndarray) -> bool:
        """Append ``chunk`` to the open block of its stream when it continues it."""
        open_block = self._open_blocks.get(key)
        if open_block is None:
            return False
        row_id, block = open_block
        tolerance_s = SIGNAL_TIME_TOLERANCE / block.rate_hz
        first_at = block.t0_s + block.n_samples / block.rate_hz
        last_at = first_at + (chunk.n_samples - 1) / block.rate_hz
        continues = (
            chunk.first_index == block.first_index + block.n_samples
            and abs(chunk.t0_s - first_at) <= tolerance_s
            and abs(chunk.t0_s + (chunk.n_samples - 1) / chunk.rate_hz - last_at)
            <= tolerance_s
            and block.n_samples + chunk.n_samples <= math.ceil(SIGNAL_BLOCK_S * block.rate_hz)
        )
        if not continues:
            return False
        grown = SignalChunk(block.stream, block.t0_s, block.rate_hz,
                            np.concatenate([block.samples, samples]), block.unit,
                            block.first_index)
        # The row is matched in full: after a rollback the cached block may be gone.
        cur = self._conn.execute(
            "UPDATE signal_blocks SET n_samples = ?, data = ? WHERE id = ? AND session_id = ?"
            " AND stream = ? AND first_index = ? AND n_samples = ?",
            (grown.n_samples, encode_block(grown.samples), row_id, key[0], key[1],
             block.first_index, block.n_samples),
        )
        if cur.rowcount != 1:
            return False
        self._open_blocks[key] = (row_id, grown)
        return True

    def abandon_recording(self, session_id: int, exc: BaseException) -> StoreError:
        """Close a recording whose write failed, and say what was kept.

        On a full disk the space reserve is given up so that the session can be closed as
        ``interrupted`` with its reason; if even that fails, the next store opened for
        writing marks it (its writer is gone by then).

        Parameters
        ----------
        session_id : int
            The session being recorded.
        exc : BaseException
            What the failed write raised (an ``sqlite3.Error`` or a :class:`StoreError`).

        Returns
        -------
        StoreError
            The error to show: e.g. "the disk holding DIR is full: session 3 was saved up to
            12:34:56 (1,582 beats) and closed as interrupted; free space on it and start a
            new recording".
        """
        self._rollback()
        if session_id in self._abandoned and isinstance(exc, StoreError):
            return exc  # closed already, and this is the sentence that said so
        self._abandoned.add(session_id)
        if isinstance(exc, StoreError):
            error = exc
        elif isinstance(exc, sqlite3.Error):
            error = store_error(exc, self.path, "write to")
        else:
            error = StoreError(f"cannot write to {self.path}: {exc}")
        full = is_disk_full(exc) or is_disk_full(exc.__cause__ or exc)
        if full:
            release_space_reserve(self.path.parent)
        closed = True
        try:
            self.finish_session(session_id, "interrupted", DISK_FULL if full else str(error))
        except StoreError:
            logger.debug("closing session %d after a failed write failed", session_id,
                         exc_info=True)
            closed = False
        kept = self._saved_so_far(session_id)
        what = (f"session {session_id} was saved {kept} and closed as interrupted" if closed
                else f"session {session_id} was saved {kept}; it will show as interrupted")
        if full:
            return DiskFullError(
                f"the disk holding {self.path.parent} is full: {what}; free space on it and "
                "start a new recording")
        return type(error)(f"{error}; {what}")

    def _saved_so_far(self, session_id: int) -> str:
        """``"up to 12:34:56 (1,582 beats)"``: the session's last stored beat, local time."""
        try:
            n, last, started = self._conn.execute(
                "SELECT COUNT(*), MAX(b.time_s), s.started_utc FROM sessions s"
                " LEFT JOIN beats b ON b.session_id = s.id WHERE s.id = ?",
                (session_id,),
            ).fetchone()
        except sqlite3.Error:
            return "up to its last committed beat"
        if not n:
            return "with no beats yet"
        try:
            start = datetime.fromisoformat(started)
            clock = (start + timedelta(seconds=float(last))).astimezone().strftime("%H:%M:%S")
        except (TypeError, ValueError):
            clock = f"{float(last):.0f} s"
        return f"up to {clock} ({n:,} beats)"

    @translates_sqlite_errors("write to")
    def write_classes(self, session_id: int, classified: Sequence[BeatClass]) -> None:
        """Store the artifact class and corrected value of beats already written."""
        with self.transaction():
            self._write_classes(session_id, classified)

    def _write_classes(self, session_id: int, classified: Sequence[BeatClass]) -> None:
        if not classified:
            return
        self._conn.executemany(
            "UPDATE beats SET artifact = ?, rr_corrected_ms = ?, corrected_count = ?"
            " WHERE session_id = ? AND seq = ?",
            [
                (str(c.artifact), c.corrected_ms[0] if c.corrected_ms else None,
                 len(c.corrected_ms), session_id, c.seq)
                for c in classified
            ],
        )

    @translates_sqlite_errors("write to")
    def add_gap(self, session_id: int, gap: Gap) -> None:
        """Record a gap."""
        with self.transaction():
            self._insert_gap(session_id, gap)

    def _insert_gap(self, session_id: int, gap: Gap) -> None:
        self._conn.execute(
            "INSERT INTO gaps (session_id, start_s, end_s, reason) VALUES (?, ?, ?, ?)",
            (session_id, gap.start_s, gap.end_s, str(gap.reason)),
        )

    @translates_sqlite_errors("write to")
    def add_marker(self, session_id: int, marker: Marker) -> None:
        """Record a marker."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO markers (session_id, onset_s, duration_s, label, kind, extra)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (session_id, marker.onset_s, marker.duration_s, marker.label, str(marker.kind),
                 json.dumps(marker.extra)),
            )

    @translates_sqlite_errors("write to")
    def start_phase(self, session_id: int, phase: PhaseSpan) -> int:
        """Record that a phase started (its end stays open until :meth:`end_phase`)."""
        with self.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO phases (session_id, phase_id, name, kind, start_s, end_s, practice,"
                " category, feedback) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
                (session_id, phase.phase_id, phase.name, phase.kind, phase.start_s,
                 phase.practice, phase.category, phase.feedback),
            )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    @translates_sqlite_errors("write to")
    def end_phase(self, row_id: int, end_s: float) -> None:
        """Close a phase started with :meth:`start_phase`."""
        with self.transaction() as conn:
            conn.execute("UPDATE phases SET end_s = ? WHERE id = ?", (end_s, row_id))

    def add_phase(self, session_id: int, phase: PhaseSpan) -> None:
        """Record a whole phase at once (imports, simulated studies)."""
        row = self.start_phase(session_id, phase)
        self.end_phase(row, phase.end_s)

    # -- reading ---------------------------------------------------------------------------

    @translates_sqlite_errors("read")
    def list_sessions(self, participant_id: str | None = None) -> list[SessionSummary]:
        """All sessions, newest first, with their beat counts and durations."""
        sql = (
            "SELECT s.id, s.participant_id, s.source, s.protocol_id, s.status, s.started_utc,"
            " COALESCE(s.duration_s, (SELECT MAX(time_s) FROM beats b WHERE b.session_id = s.id),"
            " 0), (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id),"
            " json_extract(s.settings, '$.import_format') IS NULL"
            " OR json_extract(s.settings, '$.original_start_time') IS NOT NULL, s.end_reason"
            " FROM sessions s"
        )
        args: tuple[Any, ...] = ()
        if participant_id is not None:
            sql += " WHERE s.participant_id = ?"
            args = (participant_id,)
        rows = self._conn.execute(sql + " ORDER BY s.id DESC", args).fetchall()
        presumed = self._presumed_interrupted
        return [
            SessionSummary(sid, participant, source, protocol,
                           "interrupted" if sid in presumed else status, started, duration,
                           n_beats, start_known=bool(known),
                           end_reason=presumed.get(sid, reason))
            for (sid, participant, source, protocol, status, started, duration, n_beats, known,
                 reason) in rows
        ]

    @translates_sqlite_errors("read")
    def session_info(self, session_id: int) -> SessionInfo:
        """Metadata of one session."""
        if not -(2**63) <= session_id < 2**63:  # beyond SQLite's integers: no such row
            raise SessionNotFoundError(f"no session {session_id} in {self.path}")
        row = self._conn.execute(
            "SELECT id, participant_id, source, status, protocol_id, started_utc, ended_utc,"
            " duration_s, device_info, settings, versions, end_reason FROM sessions"
            " WHERE id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            raise SessionNotFoundError(f"no session {session_id} in {self.path}")
        (sid, participant_id, source, status, protocol_id, started_utc, ended_utc, duration_s,
         device_info, settings, versions, reason) = row
        if sid in self._presumed_interrupted:
            status, reason = "interrupted", self._presumed_interrupted[sid]
        return SessionInfo(
            sid, participant_id, source, status, protocol_id, started_utc, ended_utc, duration_s,
            device_info=json.loads(device_info),
            settings=json.loads(settings),
            versions=json.loads(versions),
            end_reason=reason,
        )

    @translates_sqlite_errors("read")
    def load_recording(self, session_id: int, *, signals: Collection[str] = ()
                       ) -> Recording:
        """Read a session's beats, gaps, phases and markers back as a :class:`Recording`.

        Parameters
        ----------
        session_id : int
            The session.
        signals : collection of str
            Raw streams to read with it into ``Recording.acc`` / ``Recording.ecg``: ``"acc"``
            for analysis (breathing is measured from it), ``"ecg"`` and ``"acc"`` for a
            replay. Default none: the samples are most of a session's bytes (an hour of ECG
            and ACC decodes to ~3 MB, ``benchmarks/signal_load_repair.py``), and exports,
            study bookkeeping and the browser read them only where they need them.

        Raises
        ------
        SessionNotFoundError
            No such session.
        ValueError
            A stream that is not one of :data:`~biofeedback.core.signals.SIGNAL_STREAMS`.
        """
        unknown = sorted(set(signals) - set(SIGNAL_STREAMS))
        if unknown:
            raise ValueError(f"load_recording: unknown signal stream(s) {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(SIGNAL_STREAMS))})")
        info = self.session_info(session_id)
        conn = self._conn
        rows = conn.execute(
            "SELECT time_s, received_s, rr_ms, rr_corrected_ms, corrected_count, artifact,"
            " sensor_contact FROM beats WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        as_float = lambda values: np.array(  # noqa: E731
            [np.nan if v is None else v for v in values], dtype=np.float64
        )
        gaps = [
            Gap(start, end, GapReason(reason))
            for start, end, reason in conn.execute(
                "SELECT start_s, end_s, reason FROM gaps WHERE session_id = ? ORDER BY start_s",
                (session_id,),
            )
        ]
        markers = [
            Marker(onset, duration, label, MarkerKind(kind), json.loads(extra))
            for onset, duration, label, kind, extra in conn.execute(
                "SELECT onset_s, duration_s, label, kind, extra FROM markers"
                " WHERE session_id = ? ORDER BY onset_s, id",
                (session_id,),
            )
        ]
        last_time = float(cols[0][-1]) if rows else 0.0
        phases = [
            PhaseSpan(pid, name, kind, start, last_time if end is None else end, practice, cat,
                      feedback)
            for pid, name, kind, start, end, practice, cat, feedback in conn.execute(
                "SELECT phase_id, name, kind, start_s, end_s, practice, category, feedback"
                " FROM phases"
                " WHERE session_id = ? ORDER BY start_s, id",
                (session_id,),
            )
        ]
        return Recording(
            rr_ms=as_float(cols[2]),
            time_s=as_float(cols[0]),
            gaps=gaps,
            phases=phases,
            markers=markers,
            artifact=np.array(["" if a is None else a for a in cols[5]], dtype=np.str_),
            rr_corrected_ms=as_float(cols[3]),
            corrected_count=np.array([0 if c is None else c for c in cols[4]], dtype=np.int64),
            received_s=as_float(cols[1]),
            sensor_contact=as_float(cols[6]),
            name=f"session {session_id}",
            source=info.source,
            metadata={"session": info.to_dict()},
            acc=self.load_signal_chunks(session_id, "acc") if "acc" in signals else [],
            ecg=self.load_signal_chunks(session_id, "ecg") if "ecg" in signals else [],
        )

    @translates_sqlite_errors("read")
    def beat_count(self, session_id: int) -> int:
        """Number of beats stored for a session."""
        return int(
            self._conn.execute(
                "SELECT COUNT(*) FROM beats WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
        )

    @translates_sqlite_errors("write to")
    def import_recording(
        self,
        recording: Recording,
        *,
        source: str,
        participant_id: str | None = None,
        protocol_id: str | None = None,
        settings: dict[str, Any] | None = None,
        versions: dict[str, Any] | None = None,
        classified: Iterable[BeatClass] = (),
        started_utc: str | None = None,
        channels: Sequence[RawChannel] = (),
    ) -> int:
        """Store a whole recording as one complete session in a single transaction.

        Nothing is written if anything fails, so a bad file never leaves half a session.

        Parameters
        ----------
        recording : Recording
            Raw beats, gaps, markers and phases.
        source : str
            Source kind stored with the session (``"import"``).
        participant_id, protocol_id : str, optional
            Pseudonymous participant (created when new) and protocol id.
        settings, versions : dict, optional
            Provenance and software versions (JSON).
        classified : iterable of BeatClass
            Artifact class and corrected intervals per beat (by ``seq``, 0-based in
            ``recording`` order).
        started_utc : str, optional
            Wall clock at session time 0, ISO 8601: in UTC with its offset when the file
            told the zone, without an offset (the recording device's local time, as the
            file gave it) when it did not. Default: now, in UTC.
        channels : sequence of RawChannel
            Raw signals kept with the session (:meth:`load_channels` reads them back).

        Raises
        ------
        StoreError
            A channel whose samples are not a finite ``(n, len(columns))`` array (checked
            before anything is written), a bad participant id, or a database failure.
        """
        blocks = [_channel_blocks(channel) for channel in channels]
        with self.transaction():
            if participant_id is not None:
                self.ensure_participant(participant_id)
            session_id = self.create_session(
                source=source,
                participant_id=participant_id,
                protocol_id=protocol_id,
                settings=settings,
                versions=versions,
                device_info=recording.metadata.get("device_info", {}),
                started_utc=started_utc,
            )
            for channel, (sample_format, chunks) in zip(channels, blocks, strict=True):
                self._insert_channel(session_id, channel, sample_format, chunks)
            self._conn.executemany(
                "INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (session_id, i, float(t), float(t), float(rr))
                    for i, (t, rr) in enumerate(
                        zip(recording.time_s, recording.rr_ms, strict=True)
                    )
                ],
            )
            self._write_classes(session_id, list(classified))
            for gap in recording.gaps:
                self._insert_gap(session_id, gap)
            for marker in recording.markers:
                self._conn.execute(
                    "INSERT INTO markers (session_id, onset_s, duration_s, label, kind, extra)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (session_id, marker.onset_s, marker.duration_s, marker.label,
                     str(marker.kind), json.dumps(marker.extra)),
                )
            for phase in recording.phases:
                self._conn.execute(
                    "INSERT INTO phases (session_id, phase_id, name, kind, start_s, end_s,"
                    " practice, category, feedback) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (session_id, phase.phase_id, phase.name, phase.kind, phase.start_s,
                     phase.end_s, phase.practice, phase.category, phase.feedback),
                )
            self._conn.execute(
                "UPDATE sessions SET status = 'complete', ended_utc = ?, owner_pid = NULL,"
                " duration_s = ? WHERE id = ?",
                (_utc_now(), float(recording.time_s[-1]) if recording.n_beats else 0.0,
                 session_id),
            )
        return session_id

    def _insert_channel(self, session_id: int, channel: RawChannel, sample_format: str,
                        chunks: list[bytes]) -> None:
        cur = self._conn.execute(
            "INSERT INTO channels (session_id, name, kind, unit, sampling_rate_hz, start_s,"
            " columns, n_samples, sample_format, source_file)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (session_id, channel.name, channel.kind, channel.unit,
             float(channel.sampling_rate_hz), float(channel.start_s),
             json.dumps(list(channel.columns)), channel.n_samples, sample_format,
             channel.source_file),
        )
        channel_id = cur.lastrowid
        self._conn.executemany(
            "INSERT INTO channel_chunks (channel_id, chunk_index, data) VALUES (?, ?, ?)",
            ((channel_id, index, data) for index, data in enumerate(chunks)),
        )

    @translates_sqlite_errors("read")
    def load_channels(self, session_id: int) -> list[RawChannel]:
        """The raw channels stored with a session, in the order they were imported.

        Returns
        -------
        list of RawChannel
            Samples as float64 ``(n, len(columns))`` arrays (empty list when none).

        Raises
        ------
        SessionNotFoundError
            No such session.
        """
        self.session_info(session_id)
        rows = self._conn.execute(
            "SELECT id, name, kind, unit, sampling_rate_hz, start_s, columns, n_samples,"
            " sample_format, source_file FROM channels WHERE session_id = ? ORDER BY id",
            (session_id,),
        ).fetchall()
        out = []
        for (channel_id, name, kind, unit, rate, start_s, columns_json, n_samples,
             sample_format, source_file) in rows:
            columns = tuple(json.loads(columns_json))
            data = b"".join(
                blob for (blob,) in self._conn.execute(
                    "SELECT data FROM channel_chunks WHERE channel_id = ? ORDER BY chunk_index",
                    (channel_id,),
                )
            )
            flat = np.frombuffer(data, dtype=np.dtype(sample_format))
            if flat.size != n_samples * len(columns):
                raise StoreError(
                    f"channel {name!r} of session {session_id} holds {flat.size} values, "
                    f"not {n_samples} x {len(columns)}: the database is damaged")
            samples = flat.astype(np.float64).reshape(n_samples, len(columns))
            out.append(RawChannel(name, kind, unit, float(rate), float(start_s), columns,
                                  samples, source_file))
        return out


    @translates_sqlite_errors("read")
    def signal_streams(self, session_id: int) -> list[str]:
        """The raw streams stored with a session (``["acc", "ecg"]``), sorted."""
        self.session_info(session_id)
        return [stream for (stream,) in self._conn.execute(
            "SELECT DISTINCT stream FROM signal_blocks WHERE session_id = ? ORDER BY stream",
            (session_id,))]

    @translates_sqlite_errors("read")
    def load_signal_chunks(self, session_id: int, stream: str) -> list[SignalChunk]:
        """The stored blocks of one raw stream, in sample order.

        Parameters
        ----------
        session_id : int
            The session.
        stream : str
            ``"ecg"`` or ``"acc"``.

        Returns
        -------
        list of SignalChunk
            One per stored block (empty when the stream was not recorded).

        Raises
        ------
        SessionNotFoundError
            No such session.
        StoreError
            A block cannot be decoded (the database is damaged).
        """
        self.session_info(session_id)
        out = []
        for (block_id, first_index, t0_s, rate_hz, n_samples, channels, unit, encoding,
             data) in self._conn.execute(
                "SELECT id, first_index, t0_s, rate_hz, n_samples, channels, unit, encoding,"
                " data FROM signal_blocks WHERE session_id = ? AND stream = ?"
                " ORDER BY first_index, id", (session_id, stream)):
            where = f"signal block {block_id} ({stream}) of session {session_id}"
            if encoding != ENCODING:
                raise StoreError(f"{where} is encoded as {encoding!r}, which this version "
                                 "cannot read; update biofeedback")
            try:
                samples = decode_block(data, int(n_samples), len(json.loads(channels)))
            except (ValueError, zlib.error) as exc:
                raise StoreError(f"{where} cannot be decoded ({exc}): the database is "
                                 "damaged") from exc
            out.append(SignalChunk(stream, float(t0_s), float(rate_hz), samples, unit,
                                   int(first_index)))
        return out

    def load_signal(self, session_id: int, stream: str
                    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int32]]:
        """All stored samples of one raw stream with their session times.

        Returns
        -------
        times_s : ndarray of float64, shape (n,)
            Session time of each sample, s.
        samples : ndarray of int32, shape (n, channels)
            The sensor's integers (µV for ECG, mG for ACC), as the source handed them on.
        """
        chunks = self.load_signal_chunks(session_id, stream)
        n_channels = len(SIGNAL_STREAMS[stream][1]) if stream in SIGNAL_STREAMS else 0
        if not chunks:
            return np.zeros(0), np.zeros((0, n_channels), dtype=np.int32)
        return (np.concatenate([c.times_s() for c in chunks]),
                np.concatenate([c.samples for c in chunks]))


def _channel_blocks(channel: RawChannel) -> tuple[str, list[bytes]]:
    """The sample format and the little-endian chunks of a channel, checked before writing."""
    samples = np.asarray(channel.samples, dtype=np.float64)
    if samples.ndim != 2 or samples.shape[1] != len(channel.columns):
        raise StoreError(
            f"channel {channel.name!r}: samples of shape {samples.shape} do not match its "
            f"{len(channel.columns)} columns {list(channel.columns)}")
    if not np.all(np.isfinite(samples)):
        bad = int(np.flatnonzero(~np.isfinite(samples).all(axis=1))[0])
        raise StoreError(
            f"channel {channel.name!r} from {channel.source_file}: sample {bad} is not a "
            "finite number; nothing was stored")
    if not (np.isfinite(channel.sampling_rate_hz) and channel.sampling_rate_hz > 0):
        raise StoreError(
            f"channel {channel.name!r}: sampling rate {channel.sampling_rate_hz} Hz is not "
            "a positive number")
    sample_format = "<f4" if channel.kind in _FLOAT32_KINDS else "<f8"
    with np.errstate(over="ignore"):
        typed = samples.astype(sample_format)
    if sample_format == "<f4" and not np.all(np.isfinite(typed)):
        raise StoreError(
            f"channel {channel.name!r}: values beyond the float32 range (about 3.4e38)")
    chunks = [typed[i:i + CHUNK_ROWS].tobytes() for i in range(0, typed.shape[0], CHUNK_ROWS)]
    return sample_format, chunks


def _process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process that owns a recording still runs (pid reuse is ruled out by its
    start time)."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        return started is None or abs(proc.create_time() - started) < 1.0
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False
    except psutil.Error:
        return False

