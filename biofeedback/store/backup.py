"""Back the session database up into one file, and restore such a file into a data folder.

The copy is SQLite's online backup (https://www.sqlite.org/backup.html) taken inside one read
transaction of the source: in WAL mode a reader holds a fixed snapshot while other processes
go on committing, so a backup taken during a recording is the database as it was at one
moment, and the step-wise copy never has to restart. The source is opened read-only, so a
backup works from a full disk or a read-only folder.

Nothing is called done before it is verified: the copy is written to a private temporary
file beside its destination, checked (``PRAGMA integrity_check``, schema version, sessions
and beats equal to the source's snapshot), flushed to the disk, and only then renamed into
place; on any failure the temporary file is removed, so a partial backup never remains.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from biofeedback.core.errors import (
    DamagedStoreError,
    DiskFullError,
    StoreError,
)
from biofeedback.store.connection import SQLITE_HEADER, connect_read_only
from biofeedback.store.faults import (
    is_disk_full,
    primary_code,
    store_error,
)
from biofeedback.store.paths import DATABASE_NAME
from biofeedback.store.schema import SCHEMA_VERSION

__all__ = [
    "BackupResult", "DatabaseContents", "RestoreResult", "backup_database", "restore_database",
    "verify_backup",
]

PAGES_PER_STEP: Final = 128
"""Pages copied per backup step (512 KiB at SQLite's default page size) between progress calls."""

_SIDE_FILES: Final = ("-journal", "-wal", "-shm")
"""Files SQLite may keep beside a database."""

Progress = Callable[[int, int], None]
"""``progress(pages_done, pages_total)``, called after each step of the copy."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    """A verified backup.

    Attributes
    ----------
    path : Path
        The backup file.
    sessions : int
        Sessions it holds (as many as the source held at the backup's snapshot).
    beats : int
        Beats it holds, all sessions together.
    bytes : int
        Size of the file, bytes.
    seconds : float
        Time the copy, the verification and the flush to the disk took, s.
    schema_version : int
        Schema version of the database (``PRAGMA user_version``).
    """

    path: Path
    sessions: int
    beats: int
    bytes: int
    seconds: float
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (``verified`` is always true: nothing else is returned)."""
        fields = asdict(self)
        fields["path"] = str(self.path)
        return {**fields, "verified": True}


@dataclass(frozen=True, slots=True)
class RestoreResult:
    """A restored database.

    Attributes
    ----------
    path : Path
        The data folder's database file it was restored into.
    backup : Path
        The backup file it came from.
    sessions, beats : int
        Sessions and beats it now holds (equal to the backup's).
    schema_version : int
        Schema version of the backup (the program migrates an older one when it opens it).
    """

    path: Path
    backup: Path
    sessions: int
    beats: int
    schema_version: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        fields = asdict(self)
        fields["path"], fields["backup"] = str(self.path), str(self.backup)
        return fields


@dataclass(frozen=True, slots=True)
class DatabaseContents:
    """What a database holds, as a backup is checked against its source.

    Attributes
    ----------
    schema_version : int
        ``PRAGMA user_version``.
    sessions, beats : int
        Rows of the sessions and beats tables.
    """

    schema_version: int
    sessions: int
    beats: int


# -- backing up ----------------------------------------------------------------------------


def backup_database(
    source_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
) -> BackupResult:
    """Copy the session database into ``out_path`` and verify the copy.

    Safe while another process records into the source: the copy is the database at one
    moment (the start of the copy), with whole notifications only.

    Parameters
    ----------
    source_path : path-like
        The session database (``DATA_DIR/biofeedback.sqlite3``); opened read-only.
    out_path : path-like
        The backup file to write (its folder must exist); created 0600.
    progress : callable, optional
        ``progress(pages_done, pages_total)`` after each step of the copy.
    overwrite : bool
        Replace an existing ``out_path`` (atomically, once the new backup is verified);
        without it an existing file is refused.

    Returns
    -------
    BackupResult
        What the verified backup holds.

    Raises
    ------
    StoreError
        The source is missing or unreadable, ``out_path`` exists (without ``overwrite``), is
        not a regular file or is the source itself, or the copy failed its verification.
    DiskFullError
        The disk holding ``out_path`` filled up; no partial file remains.
    """
    started = time.perf_counter()
    source, out = Path(source_path), Path(out_path)
    if not source.is_file():
        raise StoreError(f"there is no session database at {source}: nothing to back up")
    _check_backup_target(source, out, overwrite)
    with _partial_file(out, "back up to") as partial:
        with _open_read_only(source) as src:
            try:
                # One read transaction for the counts and the copy: the snapshot they share.
                src.execute("BEGIN")
                counts = _counts(src)
                _copy(src, partial, progress)
                src.execute("COMMIT")
            except sqlite3.Error as exc:
                raise _copy_error(exc, source, out) from exc
        _verify(partial, counts, out)
        _make_durable(partial)
        os.replace(partial, out)
    _fsync_folder(out.parent)
    return BackupResult(
        path=out, sessions=counts.sessions, beats=counts.beats, bytes=out.stat().st_size,
        seconds=time.perf_counter() - started, schema_version=counts.schema_version,
    )


def _check_backup_target(source: Path, out: Path, overwrite: bool) -> None:
    if not out.parent.is_dir():
        raise StoreError(f"cannot back up to {out}: the folder {out.parent} does not exist")
    if out.is_dir():
        raise StoreError(f"cannot back up to {out}: it is a folder; give a file name")
    if out.exists() or out.is_symlink():
        if not stat.S_ISREG(out.lstat().st_mode):
            raise StoreError(
                f"cannot back up to {out}: it is not a regular file (a device, a link or a "
                "pipe); give the name of a new file")
        if out.resolve() == source.resolve():
            raise StoreError(f"cannot back up {source} onto itself; give another file name")
        if not overwrite:
            raise StoreError(
                f"{out} already exists; it was left as it is (use --force to replace it with "
                "the new backup, or give another file name)")


def _copy(src: sqlite3.Connection, partial: Path, progress: Progress | None) -> None:
    dest = sqlite3.connect(partial, isolation_level=None)
    try:
        # A temporary file that is deleted on any failure needs no journal; it is flushed
        # once, after the copy (_make_durable), instead of at every step.
        dest.execute("PRAGMA journal_mode=OFF")
        dest.execute("PRAGMA synchronous=OFF")
        report = None
        if progress is not None:
            def report(_status: int, remaining: int, total: int) -> None:
                progress(total - remaining, total)
        src.backup(dest, pages=PAGES_PER_STEP, progress=report)
        # The pages carry the source's WAL flag; a backup is one self-contained file.
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()


def _copy_error(exc: sqlite3.Error, source: Path, out: Path) -> StoreError:
    if is_disk_full(exc):
        return _disk_full(out.parent, f"the backup {out} was not written")
    # The copy reads the source and writes the backup; SQLite's code says which failed
    # only in its words, so name both files.
    return StoreError(f"cannot back up {source} to {out}: {exc}")


def _disk_full(folder: Path, what: str) -> DiskFullError:
    return DiskFullError(
        f"the disk holding {folder} is full: {what} (the partial copy was removed); free "
        "space on it, or choose a file on another disk, and try again")


# -- restoring -----------------------------------------------------------------------------


def restore_database(
    backup_path: str | os.PathLike[str], data_dir: str | os.PathLike[str]
) -> RestoreResult:
    """Restore a backup into a data folder that holds no sessions.

    Parameters
    ----------
    backup_path : path-like
        A file written by :func:`backup_database` (any biofeedback database will do).
    data_dir : path-like
        The data folder (created 0700 when missing); its database must be missing or hold
        no sessions.

    Returns
    -------
    RestoreResult
        What the restored database holds.

    Raises
    ------
    DamagedStoreError
        The backup is not a SQLite file, is damaged, or is not a biofeedback database.
    StoreError
        The backup was written by a newer version, or the data folder already holds
        sessions (then nothing in it is changed).
    DiskFullError
        The disk holding the data folder filled up; nothing was restored.
    """
    backup, folder = Path(backup_path), Path(data_dir)
    counts = verify_backup(backup)
    target = folder / DATABASE_NAME
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is cut by the umask
    if target.exists():
        _restore_into_empty(backup, target, counts)
    else:
        _restore_as_new(backup, target, counts)
    return RestoreResult(
        path=target, backup=backup, sessions=counts.sessions, beats=counts.beats,
        schema_version=counts.schema_version,
    )


def verify_backup(path: str | os.PathLike[str]) -> DatabaseContents:
    """Check that a file is a whole, readable biofeedback database this program can open.

    Parameters
    ----------
    path : path-like
        The backup file.

    Returns
    -------
    DatabaseContents
        Its schema version and its numbers of sessions and beats.

    Raises
    ------
    DamagedStoreError, StoreError
        With a sentence naming the file and the problem; the file is not modified.
    """
    backup = Path(path)
    if not backup.is_file():
        raise StoreError(f"there is no backup file at {backup}")
    with backup.open("rb") as head:
        if head.read(16) != SQLITE_HEADER:
            raise DamagedStoreError(
                f"{backup} is not a biofeedback backup: it is not a SQLite database file")
    with _open_read_only(backup) as conn:
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = {row[0] for row in conn.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'")}
            if version < 1 or not {"sessions", "beats", "notifications"} <= tables:
                raise DamagedStoreError(
                    f"{backup} is a SQLite database but not a biofeedback backup (it has no "
                    "sessions and beats tables of a known schema version)")
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{backup} was written by a newer version of biofeedback (schema version "
                    f"{version}; this program reads up to {SCHEMA_VERSION}): update "
                    "biofeedback to restore it")
            problems = _integrity_problems(conn)
            if problems:
                raise DamagedStoreError(
                    f"{backup} is damaged ({problems}); nothing was restored: run "
                    f"'biofeedback check --repair --out NEW_FILE' on it to salvage what it holds")
            return _counts(conn)
        except sqlite3.Error as exc:
            raise store_error(exc, backup, "read") from exc


def _restore_as_new(backup: Path, target: Path, counts: DatabaseContents) -> None:
    # A -wal or -shm left without its database would be replayed into the restored file.
    for suffix in _SIDE_FILES:
        with contextlib.suppress(FileNotFoundError):
            Path(f"{target}{suffix}").unlink()
    with _partial_file(target, "restore into") as partial:
        with _open_read_only(backup) as src:
            try:
                _copy(src, partial, None)
            except sqlite3.Error as exc:
                if is_disk_full(exc):
                    raise _disk_full(target.parent, "nothing was restored") from exc
                raise store_error(exc, target, "write") from exc
        _verify(partial, counts, target)
        _make_durable(partial)
        if target.exists():
            # Created meanwhile (the window or a recording opened the folder): not ours.
            raise StoreError(
                f"{target} appeared while the backup was being restored (another program "
                "opened this data folder); nothing was restored: close it and try again")
        os.replace(partial, target)
    _fsync_folder(target.parent)


def _restore_into_empty(backup: Path, target: Path, counts: DatabaseContents) -> None:
    """Restore through SQLite into an existing database without sessions: its WAL and any
    connection other programs hold on it stay consistent, which a file rename would not."""
    n_sessions = _session_count(target)
    if n_sessions:
        raise StoreError(
            f"{target.parent} already holds {n_sessions} "
            f"{'session' if n_sessions == 1 else 'sessions'}; a backup is restored only "
            "into an empty data folder, and nothing was changed: restore with --data-dir "
            "NEW_FOLDER, or move the folder away first")
    try:
        conn = sqlite3.connect(target, isolation_level=None, timeout=10.0)
    except sqlite3.Error as exc:
        raise store_error(exc, target, "open") from exc
    try:
        if _session_count(target):
            raise StoreError(f"{target} received a session meanwhile; nothing was restored")
        with _open_read_only(backup) as src:
            src.backup(conn, pages=-1)  # one step: one write transaction, all or nothing
        os.chmod(target, 0o600)
        _check(conn, counts, target)
    except sqlite3.Error as exc:
        if is_disk_full(exc):
            raise _disk_full(target.parent, "nothing was restored") from exc
        raise store_error(exc, target, "restore into") from exc
    finally:
        conn.close()


def _session_count(database: Path) -> int:
    """Sessions in a database, read without writing to it (0 for a file without tables)."""
    with _open_read_only(database) as conn:
        try:
            return int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
        except sqlite3.OperationalError as exc:
            if primary_code(exc) != 1:  # SQLITE_ERROR: no sessions table (an empty file)
                raise store_error(exc, database, "read") from exc
            return 0


# -- shared pieces -------------------------------------------------------------------------


@contextlib.contextmanager
def _open_read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection that never writes to the database file, of any schema."""
    conn = connect_read_only(path, check_file=False, check_version=False)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def _partial_file(final: Path, doing: str) -> Iterator[Path]:
    """A new, private (0600) temporary file beside ``final``, removed unless renamed."""
    try:
        fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".partial")
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(final.parent, f"could not {doing} {final}") from exc
        raise StoreError(f"cannot {doing} {final}: {exc.strerror or exc}") from exc
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
    except OSError as exc:
        if is_disk_full(exc):
            raise _disk_full(final.parent, f"could not {doing} {final}") from exc
        raise StoreError(f"cannot {doing} {final}: {exc.strerror or exc}") from exc
    finally:
        for leftover in (partial, *(Path(f"{partial}{s}") for s in _SIDE_FILES)):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _counts(conn: sqlite3.Connection) -> DatabaseContents:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    sessions = int(conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0])
    beats = int(conn.execute("SELECT COUNT(*) FROM beats").fetchone()[0])
    return DatabaseContents(version, sessions, beats)


def _integrity_problems(conn: sqlite3.Connection) -> str:
    """SQLite's integrity check: "" when the file is whole, else its first findings."""
    rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check(5)")]
    return "" if rows == ["ok"] else "; ".join(rows)


def _verify(partial: Path, expected: DatabaseContents, final: Path) -> None:
    try:
        with _open_read_only(partial) as conn:
            _check(conn, expected, final)
    except sqlite3.Error as exc:
        if is_disk_full(exc):
            raise _disk_full(final.parent, f"{final} was not written") from exc
        raise StoreError(f"the copy for {final} could not be read back: {exc}") from exc


def _check(conn: sqlite3.Connection, expected: DatabaseContents, final: Path) -> None:
    problems = _integrity_problems(conn)
    if problems:
        raise StoreError(f"the copy for {final} failed SQLite's integrity check: {problems}")
    found = _counts(conn)
    if found != expected:
        raise StoreError(
            f"the copy for {final} does not match its source: schema version, sessions and "
            f"beats {found.schema_version}, {found.sessions}, {found.beats} instead of "
            f"{expected.schema_version}, {expected.sessions}, {expected.beats}")


def _make_durable(path: Path) -> None:
    os.chmod(path, 0o600)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` survive power loss."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
