"""Check a session database with SQLite's own integrity check, without changing it.

The file being checked is never written: it is opened read-only and ``immutable`` (so SQLite
creates no -wal or -shm beside it), or, when a -wal file lies beside it (a database in use,
or one whose writer died), the database and its WAL are copied into a private temporary
folder and the copy is read, so that SQLite may replay the WAL into the copy only.

:func:`~biofeedback.store.salvage.repair_database` copies what is readable of a damaged one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from biofeedback.core.errors import StoreError
from biofeedback.store import schema
from biofeedback.store.connection import SQLITE_HEADER
from biofeedback.store.faults import store_error

HEADER_BYTES: Final = 100
MAX_PROBLEMS: Final = 20
"""Problems of SQLite's integrity check that are listed (the first ones; the count is all)."""


# -- checking ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What SQLite's integrity check found in one database file.

    Attributes
    ----------
    path : Path
        The file checked.
    problems : tuple of str
        Sentences, each naming the file and one problem; empty when the file is sound.
    schema_version : int or None
        ``PRAGMA user_version`` when readable.
    sessions, beats : int or None
        Rows in ``sessions`` and ``beats``, when they could be counted.
    repairable : bool
        Whether :func:`repair_database` can salvage anything (False for a file that is not a
        SQLite database, or one written by a newer program).
    """

    path: Path
    problems: tuple[str, ...]
    schema_version: int | None = None
    sessions: int | None = None
    beats: int | None = None
    repairable: bool = True

    @property
    def ok(self) -> bool:
        """Whether the database passed every check."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "path": str(self.path),
            "ok": self.ok,
            "problems": list(self.problems),
            "schema_version": self.schema_version,
            "sessions": self.sessions,
            "beats": self.beats,
        }


def check_database(path: str | os.PathLike[str]) -> CheckResult:
    """Run SQLite's integrity and foreign-key checks on a database without changing it.

    Parameters
    ----------
    path : path-like
        The database file.

    Returns
    -------
    CheckResult
        Problems as sentences (none when sound) and the session and beat counts.

    Raises
    ------
    StoreError
        When there is no file at ``path`` or it cannot be read at all.
    """
    path = Path(path)
    problem = header_problem(path)
    if problem is not None:
        return CheckResult(path, (problem,), repairable=not is_unsalvageable(path))
    with open_readonly(path) as conn:
        try:
            version = schema.schema_version(conn)
        except sqlite3.Error as exc:
            return CheckResult(path, (f"{path} is damaged: SQLite cannot read it ({exc})",))
        if version > schema.SCHEMA_VERSION:
            return CheckResult(path, (newer_sentence(path, version),), version,
                               repairable=False)
        problems = _integrity_problems(conn, path)
        if not problems:
            problems = _foreign_key_problems(conn, path)
        tables = _readable_tables(conn)
        if not problems and "sessions" not in tables:
            problems = [f"{path} is a SQLite database but not a biofeedback one (it has no "
                        "sessions table)"]
            return CheckResult(path, tuple(problems), version, repairable=False)
        return CheckResult(path, tuple(problems), version, _count(conn, "sessions"),
                           _count(conn, "beats"))


def header_problem(path: Path) -> str | None:
    """The problem the file's first 100 bytes and its size show, in a sentence.

    Parameters
    ----------
    path : Path
        The database file.

    Returns
    -------
    str or None
        Empty, not a SQLite file (and what it looks like instead), truncated (bytes present
        against the size its header announces), or a newer schema version; None when the
        header looks sound.

    Raises
    ------
    StoreError
        No file at ``path``, a folder, or a file that cannot be read.
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as file:
            header = file.read(HEADER_BYTES)
    except FileNotFoundError:
        raise StoreError(f"there is no database at {path}") from None
    except IsADirectoryError:
        raise StoreError(f"{path} is a folder, not a database file") from None
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}") from exc
    if size == 0:
        return f"{path} is empty (0 bytes): it holds no biofeedback database"
    if not header.startswith(SQLITE_HEADER):
        return f"{path} is not a SQLite database: it is {_describe_foreign(header)}"
    if len(header) < HEADER_BYTES:
        return f"{path} is truncated: only {size} bytes, less than SQLite's 100-byte header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    # The page count in the header is valid only when its change counter matches
    # (https://www.sqlite.org/fileformat2.html, "In-header database size").
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and pages and size < pages * page_size:
        return (f"{path} is truncated: it has {size:,} bytes of the {pages * page_size:,} its "
                f"header announces ({pages:,} pages of {page_size:,} bytes); the rest of it "
                "was lost")
    if size % page_size:
        return (f"{path} is truncated: its {size:,} bytes end inside a page "
                f"({page_size:,} bytes each)")
    version = int.from_bytes(header[60:64], "big", signed=True)
    if version > schema.SCHEMA_VERSION:
        return newer_sentence(path, version)
    return None


def is_unsalvageable(path: Path) -> bool:
    """Whether nothing can be salvaged from the file: it is not a SQLite database, or its
    schema is newer than this program's (copying it into an older schema would lose data)."""
    with path.open("rb") as file:
        header = file.read(HEADER_BYTES)
    if not header.startswith(SQLITE_HEADER) or len(header) < HEADER_BYTES:
        return True
    return int.from_bytes(header[60:64], "big", signed=True) > schema.SCHEMA_VERSION


def _describe_foreign(header: bytes) -> str:
    """What a file that is not SQLite looks like, from its first bytes."""
    if header.startswith(b"\x89PNG\r\n\x1a\n"):
        return "a PNG image"
    if header.startswith(b"%PDF"):
        return "a PDF document"
    if header.startswith(b"PK\x03\x04"):
        return "a ZIP archive"
    if header.startswith(b"\x1f\x8b"):
        return "a gzip-compressed file"
    try:
        text = header.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and all(ch.isprintable() or ch in "\r\n\t" for ch in text):
        first = text.splitlines()[0][:40] if text.strip() else ""
        return f"a text file (it starts {first!r})"
    return f"an unknown kind of file (it starts with bytes {header[:8].hex(' ')})"


def newer_sentence(path: Path, version: int) -> str:
    """The sentence for a database whose schema ``version`` is newer than this program's."""
    return (f"{path} was written by a newer biofeedback (schema version {version}; this one "
            f"reads up to {schema.SCHEMA_VERSION}): update biofeedback to open it; it was "
            "left as it is")


def _integrity_problems(conn: sqlite3.Connection, path: Path) -> list[str]:
    try:
        rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check")]
    except sqlite3.Error as exc:
        return [f"{path} is damaged: SQLite's integrity check stopped at a damaged page ({exc})"]
    if rows == ["ok"]:
        return []
    shown = "; ".join(rows[:MAX_PROBLEMS])
    more = f" (the first {MAX_PROBLEMS} shown)" if len(rows) > MAX_PROBLEMS else ""
    return [f"{path} is damaged: SQLite's integrity check found {len(rows)} "
            f"problem{'s' if len(rows) != 1 else ''}{more}: {shown}"]


def _foreign_key_problems(conn: sqlite3.Connection, path: Path) -> list[str]:
    try:
        rows = conn.execute("PRAGMA foreign_key_check").fetchall()
    except sqlite3.Error as exc:
        return [f"{path} is damaged: SQLite's foreign-key check stopped ({exc})"]
    if not rows:
        return []
    by_table: dict[tuple[str, str], int] = {}
    for table, _rowid, parent, _fk in rows:
        by_table[(table, parent)] = by_table.get((table, parent), 0) + 1
    parts = [f"{n} row{'s' if n != 1 else ''} of {table} refer to missing {parent}"
             for (table, parent), n in sorted(by_table.items())]
    return [f"{path} is inconsistent: {'; '.join(parts)}"]


def _readable_tables(conn: sqlite3.Connection) -> set[str]:
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type='table'")}
    except sqlite3.Error:
        return set()


def _count(conn: sqlite3.Connection, table: str) -> int | None:
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    except sqlite3.Error:
        return None


@contextlib.contextmanager
def open_readonly(path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that reads ``path`` and cannot change it or create files beside it.

    Parameters
    ----------
    path : Path
        The database file.

    Yields
    ------
    sqlite3.Connection
        On the file itself (``mode=ro&immutable=1``) when no -wal file lies beside it, else
        on a private copy of the database and its WAL (see :func:`open_pages`).
    """
    with open_pages(path) as (conn, _file):
        yield conn


@contextlib.contextmanager
def open_pages(path: Path) -> Iterator[tuple[sqlite3.Connection, Path]]:
    """Like :func:`open_readonly`, also naming the file that holds the database's current
    pages: ``path`` itself, or the private copy into which its WAL was checkpointed."""
    wal = path.with_name(path.name + "-wal")
    if not wal.exists():
        # No -wal: no connection has the database open, and everything committed is in the
        # file. immutable=1 stops SQLite from creating -wal and -shm files (mode=ro alone
        # creates both for a WAL database and leaves them behind).
        uri = f"{path.resolve().as_uri()}?mode=ro&immutable=1"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "read") from exc
        try:
            yield conn, path
        finally:
            conn.close()
        return
    with tempfile.TemporaryDirectory(prefix="biofeedback-check-") as folder:
        copy = Path(folder) / path.name
        _copy_with_wal(path, copy)
        try:
            conn = sqlite3.connect(copy, isolation_level=None)
        except sqlite3.Error as exc:
            raise store_error(exc, path, "read") from exc
        with contextlib.suppress(sqlite3.Error):
            # Into the copy only: its pages then hold what the WAL held.
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            yield conn, copy
        finally:
            conn.close()


def _copy_with_wal(path: Path, copy: Path) -> None:
    """Copy a database and its -wal (the -shm is rebuilt from the WAL by SQLite).

    While a writer has the database open (its -shm exists), a read transaction on the
    original is held during the copy: it stops a checkpoint from moving past the WAL frames
    being copied and from restarting the WAL, so the copy is one consistent snapshot.
    """
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    holder: sqlite3.Connection | None = None
    if shm.exists():
        try:
            holder = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     isolation_level=None)
            holder.execute("BEGIN")
            holder.execute("SELECT COUNT(*) FROM sqlite_schema").fetchone()
        except sqlite3.Error:
            # A damaged file: nobody can be writing it usefully; copy it as it is.
            if holder is not None:
                holder.close()
            holder = None
    try:
        shutil.copyfile(path, copy)
        shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
    except OSError as exc:
        raise StoreError(f"cannot copy {path} to check it: {exc.strerror}") from exc
    finally:
        if holder is not None:
            holder.close()
