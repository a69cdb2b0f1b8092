"""Opening the session database: for writing (created private, migrated) or for reading only.

Reading must keep working when writing is impossible (a full disk, a read-only medium or
folder), and a file that is damaged, foreign or from a newer program must be refused with a
sentence before SQLite writes a byte to it.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
import urllib.parse
from pathlib import Path
from typing import Final

from biofeedback.core.errors import (
    DamagedStoreError,
    DiskFullError,
    ReadOnlyStoreError,
    StoreError,
)
from biofeedback.store import schema
from biofeedback.store.faults import (
    SQLITE_CANTOPEN,
    SQLITE_IOERR,
    SQLITE_READONLY,
    primary_code,
    store_error,
)

SQLITE_HEADER: Final = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file (https://www.sqlite.org/fileformat.html)."""

BUSY_TIMEOUT_S: Final = 10.0
"""How long a write waits for another process's write lock before giving up, s. A live
recording commits each notification in well under a millisecond and an import of a day-long
file holds the lock for about a second, so 10 s is reached only when something is stuck."""

JOURNAL_SIZE_LIMIT_BYTES: Final = 64 * 1024 * 1024
"""Largest write-ahead log kept on disk after a checkpoint, bytes (SQLite's
``journal_size_limit``); without it the log stays as large as the largest transaction, e.g.
177 MB after a 12-h 1 kHz ECG import (benchmarks/store_contention.py)."""

SPACE_RESERVE_NAME: Final = ".space-reserve"
SPACE_RESERVE_BYTES: Final = 256 * 1024
"""Room kept free in the data folder: when the disk fills during a recording, deleting this
file gives SQLite the few pages it needs to close the session as ``interrupted`` with its
reason (a session close writes a handful of 4 KiB pages to the WAL)."""


def check_database_file(path: Path) -> None:
    """Refuse a file that is not an SQLite database, or is shorter than its header says.

    Read with plain file I/O, so nothing is written to a foreign or damaged file. A database
    whose write-ahead log holds frames may rightly be shorter than its header says (a
    checkpoint that could not grow the file on a full disk): SQLite reads those pages from
    the log, so only the first 16 bytes are checked then.

    Raises
    ------
    DamagedStoreError
        Not an SQLite database, or truncated.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        return  # a new, empty database
    if len(header) < 100 or not header.startswith(SQLITE_HEADER):
        raise DamagedStoreError(
            f"{path} is not a biofeedback database: it is not an SQLite file (it starts "
            f"with {header[:16]!r}); it was left as it is: point --data-dir at the folder "
            "that holds your recordings")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change_counter = int.from_bytes(header[24:28], "big")
    valid_for = int.from_bytes(header[92:96], "big")
    wal_has_frames = _wal_size(path) > 32  # more than the WAL header
    # The header's page count is trusted only when it was written with the last change
    # (https://www.sqlite.org/fileformat2.html#in_header_database_size).
    if (pages and valid_for == change_counter and size < pages * page_size
            and not wal_has_frames):
        raise DamagedStoreError(
            f"{path} is damaged: it is cut short ({size:,} bytes of the {pages * page_size:,} "
            "its header gives); it was left as it is: run 'biofeedback check --repair --out "
            "NEW_FILE' to salvage what it holds")


def _wal_size(path: Path) -> int:
    """Bytes in the database's -wal file, 0 without one. Asked once: between an exists() and
    a stat() the last connection of another process (a comparison's worker) may close and
    SQLite delete the file."""
    try:
        return path.with_name(path.name + "-wal").stat().st_size
    except FileNotFoundError:
        return 0


def _os_error(exc: OSError, path: Path, doing: str) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return DiskFullError(
            f"the disk holding {path.parent} is full: cannot {doing} {path.name}; free space "
            "on it (or point --data-dir elsewhere) and try again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return ReadOnlyStoreError(
            f"cannot {doing} {path}: {exc.strerror} (a read-only disk, or no write permission "
            f"on {path.parent}); reading still works, writing needs write access")
    return StoreError(f"cannot {doing} {path}: {exc.strerror or exc}")


def _make_private(path: Path, mode: int) -> None:
    """Tighten a file or folder we own to ``mode`` when it is looser (best effort)."""
    try:
        st = path.stat()
        if st.st_uid == os.getuid() and stat.S_IMODE(st.st_mode) & ~mode:
            os.chmod(path, mode)
    except OSError:
        pass  # a read-only medium: reading still works, and nothing new is written there


def prepare_private_file(path: Path) -> None:
    """Create the data folder (0700) and the database file (0600) when missing, and tighten
    existing ones that are looser, before SQLite opens the file.

    SQLite gives its -wal and -shm files the permissions of the database file.

    Raises
    ------
    DiskFullError, ReadOnlyStoreError, StoreError
        The folder or the file cannot be created.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise _os_error(exc, folder, "create the data folder") from exc
    _make_private(folder, 0o700)
    # access(2) reports a read-only file system (EROFS) even to root, unlike the mode bits.
    if not os.access(folder, os.W_OK):
        raise ReadOnlyStoreError(
            f"the data folder {folder} is read-only (a read-only disk, or no write permission): "
            "reading still works, but recording or importing needs a writable data folder "
            "(--data-dir)")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise ReadOnlyStoreError(
                f"the session database {path} is read-only (no write permission on the file): "
                "reading still works, but recording or importing needs write access to it")
        _make_private(path, 0o600)
        return
    try:
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
    except OSError as exc:
        raise _os_error(exc, path, "create") from exc


def _check_version(conn: sqlite3.Connection, path: Path, *, writable: bool) -> int:
    version = schema.schema_version(conn)
    if version > schema.SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer version of biofeedback (database schema "
            f"v{version}; this program reads up to v{schema.SCHEMA_VERSION}); it was left as "
            "it is: update biofeedback to open it")
    if not writable and version < schema.SCHEMA_VERSION:
        raise ReadOnlyStoreError(
            f"{path} has database schema v{version} from an older version of biofeedback and "
            f"must be upgraded to v{schema.SCHEMA_VERSION} before it can be read, which needs "
            "writing to it: free space on its disk or make it writable, then run any command "
            "once")
    return version


def connect_writable(path: Path, *, verify: bool = False) -> sqlite3.Connection:
    """Open (creating when missing) and migrate the database for reading and writing.

    ``verify`` runs ``PRAGMA quick_check`` first, refusing a damaged file before a write.

    Raises
    ------
    DiskFullError, ReadOnlyStoreError, DamagedStoreError, StoreBusyError, StoreError
        With a sentence naming the file; a damaged, foreign or newer file is not modified.
    """
    prepare_private_file(path)
    check_database_file(path)
    try:
        conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise store_error(exc, path, "open") from exc
    try:
        version = _check_version(conn, path, writable=True)
        if verify:
            _quick_check(conn, path)
        conn.execute("PRAGMA journal_mode=WAL")
        # After a big import the log is cut back to this size once checkpointed, instead of
        # keeping the import's size on the disk while any connection stays open.
        conn.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT_BYTES}")
        conn.execute("PRAGMA foreign_keys=ON")
        # WAL + NORMAL survives a process crash (kill -9) with every committed notification;
        # SessionStore.sync_every_commit() adds an fsync of each commit, from its own thread.
        conn.execute("PRAGMA synchronous=NORMAL")
    except BaseException as exc:  # broad on purpose: close on any exit, then raise
        conn.close()
        if isinstance(exc, sqlite3.Error):
            raise store_error(exc, path, "open") from exc
        raise
    try:
        schema.migrate(conn)
    except sqlite3.Error as exc:
        conn.close()
        error = store_error(exc, path, "upgrade")
        raise type(error)(
            f"{error}; the upgrade from database schema v{version} to v{schema.SCHEMA_VERSION} "
            f"was rolled back: the file is still at v{version} with all its data") from exc
    return conn


def connect_read_only(
    path: Path, *, check_file: bool = True, check_version: bool = True
) -> sqlite3.Connection:
    """Open the database for reading only, writing nothing to its disk.

    A WAL database read-only still needs its shared-memory file; where that cannot be made
    (a full disk, a read-only folder) and no write-ahead log holds uncheckpointed data, the
    file is opened as immutable, which needs neither.

    ``check_file`` refuses a foreign or truncated file first (:func:`check_database_file`);
    ``check_version`` refuses a schema other than this program's. Backups and restores copy
    any version and check files their own way, so they turn both off.

    Raises
    ------
    StoreError
        No database there, or it cannot be read; :class:`DamagedStoreError` for a damaged or
        foreign file; :class:`ReadOnlyStoreError` when it needs a schema upgrade first.
    """
    if not path.exists():
        raise StoreError(
            f"no session database at {path}: nothing has been recorded in this data folder "
            "(check --data-dir or $BIOFEEDBACK_DATA_DIR)")
    if check_file:
        check_database_file(path)
    quoted = urllib.parse.quote(str(path.resolve()))
    conn = _probe(f"file:{quoted}?mode=ro")
    if isinstance(conn, sqlite3.Error):
        if _wal_size(path) > 0 or primary_code(conn) not in (
                SQLITE_CANTOPEN, SQLITE_IOERR, SQLITE_READONLY):
            raise store_error(conn, path, "read") from conn
        conn = _probe(f"file:{quoted}?immutable=1")
        if isinstance(conn, sqlite3.Error):
            raise store_error(conn, path, "read") from conn
    try:
        if check_version:
            _check_version(conn, path, writable=False)
    except BaseException:  # broad on purpose: close on any exit, then re-raise
        conn.close()
        raise
    return conn


def _quick_check(conn: sqlite3.Connection, path: Path) -> None:
    problems = [row[0] for row in conn.execute("PRAGMA quick_check(5)")]
    if problems != ["ok"]:
        raise DamagedStoreError(
            f"{path} is damaged ({'; '.join(problems)}); it was left as it is: run "
            "'biofeedback check --repair --out NEW_FILE' to salvage what it holds")


def _probe(uri: str) -> sqlite3.Connection | sqlite3.Error:
    """A read-only connection that has read the schema, or the error that prevented it."""
    try:
        conn = sqlite3.connect(
            uri, uri=True, isolation_level=None, check_same_thread=False,
            timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        return exc
    try:
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        conn.close()
        return exc
    return conn


def keep_space_reserve(folder: Path) -> None:
    """Make sure the data folder holds its :data:`SPACE_RESERVE_NAME` file (best effort)."""
    reserve = folder / SPACE_RESERVE_NAME
    try:
        if reserve.exists() and reserve.stat().st_size >= SPACE_RESERVE_BYTES:
            return
        fd = os.open(reserve, os.O_CREAT | os.O_WRONLY, 0o600)
        try:
            # Real bytes, not a sparse file: a hole would give nothing back when deleted.
            block = b"\0" * SPACE_RESERVE_BYTES
            written = 0
            while written < SPACE_RESERVE_BYTES:
                n = os.write(fd, block[written:])
                if n <= 0:
                    raise OSError(errno.ENOSPC, "short write")
                written += n
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        # A full or read-only disk: recording there fails anyway, with its own sentence.
        try:
            if reserve.exists() and reserve.stat().st_size < SPACE_RESERVE_BYTES:
                reserve.unlink()
        except OSError:
            pass


def release_space_reserve(folder: Path) -> bool:
    """Delete the reserve to give SQLite room to close a session; True when there was one."""
    try:
        (folder / SPACE_RESERVE_NAME).unlink()
    except OSError:
        return False
    return True
