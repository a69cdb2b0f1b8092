"""Each commit of a live recording reaches the disk from a thread of its own.

SQLite's ``synchronous=FULL`` fsyncs the write-ahead log inside every ``COMMIT``: about 3 ms
on the 2-core benchmark machine, with spikes to 12-18 ms, spent on the thread that received
the beat, which in the window is the GUI thread (issue 17: beat to screen, store commit
included). Here the recording connection commits with ``synchronous=NORMAL`` (the log is
written, not fsynced: a killed process loses nothing that was committed) and a
:class:`WalSyncer` thread fsyncs the log file right after each commit it is told of, and
checkpoints the log into the database on a connection of its own, so the GUI thread does
neither. A power cut then loses at most the commits of the last few milliseconds, i.e. the
notification being written, as with ``FULL``.

fsync flushes a file's data whichever descriptor names it, so the log is opened here read-only
by path and reopened when SQLite replaces it. Autocheckpoints are switched off on the recording
connection while the thread runs (a checkpoint fsyncs the log and the database: tens of
milliseconds every few minutes on the thread that commits) and switched back on when it stops.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

__all__ = ["CHECKPOINT_EVERY_SYNCS", "DEFAULT_AUTOCHECKPOINT_PAGES", "IDLE_CHECK_S", "WalSyncer"]

CHECKPOINT_EVERY_SYNCS: Final = 64
"""Syncs between two checkpoints of the log into the database. A notification's commit writes
about 4-8 pages, so the log holds a few hundred pages between checkpoints, below SQLite's
default autocheckpoint of 1,000 pages (https://www.sqlite.org/wal.html#ckpt)."""

DEFAULT_AUTOCHECKPOINT_PAGES: Final = 1000
"""SQLite's default ``wal_autocheckpoint``, restored when the thread stops."""

IDLE_CHECK_S: Final = 0.5
"""How often the thread looks for log writes it was not told of (an autocommit statement such
as a session's creation), s: those reach the disk within this time."""


class WalSyncer:
    """fsync a WAL database's log after each commit, and checkpoint it, off the caller's thread.

    Parameters
    ----------
    database : Path
        The database file; its log is ``<database>-wal``.
    checkpoint_every : int
        Syncs between two checkpoints (:data:`CHECKPOINT_EVERY_SYNCS`).

    Notes
    -----
    :meth:`committed` is all the writer calls: it counts the commit and wakes the thread. A
    failed fsync is kept and raised (as ``OSError``) by the next :meth:`committed`, once.
    """

    def __init__(self, database: Path, *, checkpoint_every: int = CHECKPOINT_EVERY_SYNCS
                 ) -> None:
        self.database = Path(database)
        self.log = Path(f"{database}-wal")
        self._checkpoint_every = checkpoint_every
        self._wake = threading.Condition()
        self._told = 0
        self._synced = 0
        self._closing = False
        self._error: OSError | None = None
        self.fsyncs = 0
        """fsyncs of the log done so far."""
        self.checkpoints = 0
        """Checkpoints done so far (each moves the log's committed pages into the database)."""
        self._log_fd: int | None = None
        self._log_seen: tuple[int, int] | None = None  # (st_ino, st_mtime_ns) at the last sync
        self._thread = threading.Thread(target=self._run, name="biofeedback-wal-sync",
                                        daemon=True)
        self._thread.start()

    def committed(self) -> None:
        """Tell the thread that a commit just ended (cheap: no I/O on the caller's thread).

        Raises
        ------
        OSError
            An earlier fsync of the log failed (raised once): what was committed since may not
            survive a power cut.
        """
        with self._wake:
            error, self._error = self._error, None
            self._told += 1
            self._wake.notify()
        if error is not None:
            raise error

    def wait_synced(self, timeout_s: float | None = None) -> bool:
        """Wait until every commit told so far is on the disk; False on timeout."""
        with self._wake:
            target = self._told
            return self._wake.wait_for(lambda: self._synced >= target or self._closing,
                                       timeout_s) and self._synced >= target

    def close(self) -> None:
        """Sync and checkpoint what is left, then stop the thread."""
        with self._wake:
            if self._closing:
                return
            self._closing = True
            self._wake.notify()
        self._thread.join()

    # -- the thread ------------------------------------------------------------------------

    def _run(self) -> None:
        checkpointer: sqlite3.Connection | None = None
        since_checkpoint = 0
        try:
            while True:
                with self._wake:
                    self._wake.wait_for(lambda: self._told > self._synced or self._closing,
                                        IDLE_CHECK_S)
                    target, closing = self._told, self._closing
                if target > self._synced or self._log_changed():
                    self._sync(target)
                    since_checkpoint += 1
                if since_checkpoint >= self._checkpoint_every or (closing and since_checkpoint):
                    checkpointer = self._checkpoint(checkpointer)
                    since_checkpoint = 0
                if closing:
                    return
        finally:
            if checkpointer is not None:
                checkpointer.close()
            if self._log_fd is not None:
                os.close(self._log_fd)

    def _sync(self, target: int) -> None:
        try:
            fd = self._open_log()
            if fd is not None:
                os.fsync(fd)
                self.fsyncs += 1
                stat = os.fstat(fd)
                self._log_seen = (stat.st_ino, stat.st_mtime_ns)
        except OSError as exc:
            logger.warning("fsync of %s failed: %s", self.log, exc)
            with self._wake:
                self._error = exc
        with self._wake:
            self._synced = max(self._synced, target)
            self._wake.notify_all()

    def _open_log(self) -> int | None:
        """The log's descriptor, reopened when SQLite has replaced the file (None: no log)."""
        try:
            current = os.stat(self.log).st_ino
        except FileNotFoundError:
            return None
        if self._log_fd is not None and os.fstat(self._log_fd).st_ino != current:
            os.close(self._log_fd)
            self._log_fd = None
        if self._log_fd is None:
            self._log_fd = os.open(self.log, os.O_RDONLY)
            # A new log's directory entry must reach the disk too, once.
            directory = os.open(self.log.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return self._log_fd

    def _log_changed(self) -> bool:
        """Whether the log was written since the last sync without the thread being told."""
        try:
            stat = os.stat(self.log)
        except FileNotFoundError:
            return False
        return (stat.st_ino, stat.st_mtime_ns) != self._log_seen

    def _checkpoint(self, conn: sqlite3.Connection | None) -> sqlite3.Connection | None:
        """Move the log's committed pages into the database; returns the connection to reuse."""
        try:
            if conn is None:
                conn = sqlite3.connect(self.database, isolation_level=None)
                conn.execute("PRAGMA synchronous=FULL")  # the checkpoint syncs log and file
            # PASSIVE never waits for the writer nor makes it wait: pages still being written
            # or read by an open snapshot stay in the log for the next checkpoint.
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        except sqlite3.Error as exc:
            logger.debug("checkpoint of %s failed: %s", self.log, exc)
        return conn
