"""Salvage every readable row of a damaged session database into a new file.

A repair builds a new database with the current schema and copies every row it can read,
table by table and session by session. Rows are read in ascending key ranges (rowid, or
``seq`` within a session for the ``(session_id, seq)`` tables), so a damaged page costs only
the rows stored on it (https://www.sqlite.org/fileformat2.html, "B-tree Pages"). The damaged
file is only ever read (:func:`~biofeedback.store.integrity.open_pages`); rows on pages that
no b-tree reaches any more are decoded from the file (:mod:`biofeedback.store.pages`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from biofeedback.core.clock import SYSTEM_CLOCK
from biofeedback.core.errors import DamagedStoreError, StoreError
from biofeedback.store import schema
from biofeedback.store.faults import store_error
from biofeedback.store.integrity import (
    header_problem,
    is_unsalvageable,
    newer_sentence,
    open_pages,
)
from biofeedback.store.pages import PageFile

_MAX_KEY: Final = 2**62
_BATCH_ROWS: Final = 2048

Row = tuple[Any, ...]
Interval = tuple[int, int | None]
"""Unreadable keys ``[start, end)``; ``end`` None when nothing after ``start`` could be read."""


# -- repairing --------------------------------------------------------------------------------


@dataclass(slots=True)
class SessionSalvage:
    """What a repair saved of one session.

    Attributes
    ----------
    id : int
        Session id (kept in the new file).
    participant : str or None
        Participant id, when the session row was readable.
    beats_saved : int
        Beats copied.
    beats_expected : int
        Beats the session is known to have had: the larger of its notifications' ``n_rr``
        sum and its highest beat ``seq`` + 1 (beats are numbered 0, 1, ...).
    markers, phases, gaps, notifications : int
        Rows of each copied.
    metadata_saved : bool
        Whether its ``sessions`` row was readable (else a placeholder row holds its beats).
    unreadable : list of str
        What of it could not be read, in words.
    """

    id: int
    participant: str | None = None
    beats_saved: int = 0
    beats_expected: int = 0
    markers: int = 0
    phases: int = 0
    gaps: int = 0
    notifications: int = 0
    metadata_saved: bool = False
    unreadable: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``"whole"``, ``"partly"`` or ``"lost"``."""
        saved_any = self.metadata_saved or self.beats_saved or self.markers or self.phases
        if not saved_any:
            return "lost"
        whole = (self.metadata_saved and not self.unreadable
                 and self.beats_saved == self.beats_expected)
        return "whole" if whole else "partly"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "id": self.id, "participant": self.participant, "outcome": self.outcome,
            "beats_saved": self.beats_saved, "beats_expected": self.beats_expected,
            "markers": self.markers, "phases": self.phases, "gaps": self.gaps,
            "notifications": self.notifications, "metadata_saved": self.metadata_saved,
            "unreadable": list(self.unreadable),
        }


@dataclass(slots=True)
class RepairResult:
    """The outcome of :func:`repair_database`.

    Attributes
    ----------
    source, out : Path
        The damaged file (unchanged) and the new one.
    sessions : list of SessionSalvage
        Every session known to have existed, by id.
    not_saved : list of str
        Rows that could not be read or placed, in words (table and key range).
    """

    source: Path
    out: Path
    sessions: list[SessionSalvage] = field(default_factory=list)
    not_saved: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Sessions saved whole, partly and lost."""
        out = {"whole": 0, "partly": 0, "lost": 0}
        for s in self.sessions:
            out[s.outcome] += 1
        return out

    def summary(self) -> str:
        """``"9 sessions saved whole, 1 partly, 0 lost"``."""
        c = self.counts()
        return (f"{c['whole']} session{'s' if c['whole'] != 1 else ''} saved whole, "
                f"{c['partly']} partly, {c['lost']} lost")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "source": str(self.source), "out": str(self.out), **self.counts(),
            "sessions": [s.to_dict() for s in self.sessions], "not_saved": list(self.not_saved),
        }


def repair_database(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> RepairResult:
    """Salvage every readable row of a (damaged) database into a new database file.

    Parameters
    ----------
    path : path-like
        The damaged database; never written, moved or replaced.
    out : path-like
        The new file: must not exist. It is built under a temporary name in the same
        folder (mode 0600), checked with ``PRAGMA integrity_check`` and ``foreign_key_check``
        and only then given its name.

    Returns
    -------
    RepairResult
        Per session what was saved, and what was not.

    Raises
    ------
    StoreError
        ``out`` exists or cannot be written (:class:`~biofeedback.core.errors.DiskFullError`
        when its disk fills), or ``path`` holds nothing to salvage (not a SQLite database,
        or a schema newer than this program's: :class:`DamagedStoreError`).
    """
    source, target = Path(path), Path(out)
    if target.exists() or target.is_symlink():
        raise StoreError(f"{target} already exists: a repair never overwrites a file; name a "
                         "new file with --out")
    if not target.parent.is_dir():
        raise StoreError(f"cannot write {target}: the folder {target.parent} does not exist")
    problem = header_problem(source)
    if problem is not None and is_unsalvageable(source):
        raise DamagedStoreError(f"{problem}; there is nothing in it to salvage")
    result = RepairResult(source, target)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                     dir=target.parent)
    os.close(fd)  # mkstemp creates it 0600; SQLite reuses the empty file
    temp = Path(temp_name)
    try:
        with open_pages(source) as (src, page_file):
            # Without it SQLite refuses a file shorter than its header says (a truncated
            # one) outright; the connection is read-only, so nothing can be written anyway.
            src.execute("PRAGMA writable_schema = ON")
            version = _readable_version(src)
            if version is not None and version > schema.SCHEMA_VERSION:
                raise DamagedStoreError(newer_sentence(source, version))
            dest = sqlite3.connect(temp, isolation_level=None)
            try:
                _build(src, dest, result, page_file)
            finally:
                dest.close()
        _publish(temp, target)
    except sqlite3.Error as exc:
        raise store_error(exc, target, "write") from exc
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-journal")):
            leftover.unlink(missing_ok=True)
    return result


def _readable_version(conn: sqlite3.Connection) -> int | None:
    try:
        return schema.schema_version(conn)
    except sqlite3.Error:
        return None


def _build(src: sqlite3.Connection, dest: sqlite3.Connection, result: RepairResult,
           page_file: Path) -> None:
    """Create the schema in ``dest`` and copy into it everything readable from ``src``."""
    # The new file is only named once complete and verified, so a crash half-way leaves a
    # temporary file, never a half database: syncing every commit would buy nothing.
    dest.execute("PRAGMA journal_mode=DELETE")
    dest.execute("PRAGMA synchronous=OFF")
    schema.migrate(dest)
    copier = _Copier(src, dest, result, page_file)
    dest.execute("BEGIN")
    copier.copy_all()
    dest.execute("COMMIT")
    problems = [r[0] for r in dest.execute("PRAGMA integrity_check")]
    if problems != ["ok"] or dest.execute("PRAGMA foreign_key_check").fetchall():
        raise StoreError(f"the repaired copy failed SQLite's integrity check ({problems[:3]});"
                         f" nothing was written to {result.out}")


def _publish(temp: Path, target: Path) -> None:
    """Give the verified file its name without ever replacing a file that appeared meanwhile."""
    with temp.open("rb+") as file:
        os.fsync(file.fileno())
    try:
        os.link(temp, target)
    except FileExistsError:
        raise StoreError(f"{target} appeared while repairing: a repair never overwrites a "
                         "file; name a new file with --out") from None
    except OSError:
        # A file system without hard links: check, then rename (the race is acknowledged).
        if target.exists():
            raise StoreError(f"{target} already exists") from None
        os.replace(temp, target)
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


Fetch = Callable[[int, int, bool], list[Row]]
"""``fetch(key, limit, before)``: up to ``limit`` rows, key first: those with key >= ``key``
in ascending key order, or (``before``) those with key < ``key`` in descending order."""


def scan_tolerant(fetch: Fetch, unreadable: list[Interval], start: int = 0,
                  batch: int = _BATCH_ROWS) -> Iterator[list[Row]]:
    """Read rows in ascending key order, stepping over keys stored on unreadable pages.

    Parameters
    ----------
    fetch : callable
        ``fetch(key, limit, before)`` (see :data:`Fetch`); raises ``sqlite3.Error`` when a
        page it needs is damaged.
    unreadable : list
        Receives the key intervals ``[start, end)`` that could not be read (``end`` None
        when nothing after ``start`` could be read).
    start : int
        First key.
    batch : int
        Rows per read.

    Yields
    ------
    list of tuple
        Batches of rows, in ascending key order.

    Notes
    -----
    A seek to a key stored on a damaged leaf fails, and so does every seek that lands on
    that leaf. The first key from which reading works again is found by doubling a step and
    halving back; then the rows just before it are read backwards from there, which needs
    no page of the damaged leaf: in a WITHOUT ROWID table (an index b-tree) the row that
    follows a leaf is stored in the interior page above it, and only a backward step
    reaches it without passing through the leaf.
    """
    cur = start
    while cur <= _MAX_KEY:
        rows, limit = _fetch_until_damage(fetch, cur, batch, before=False)
        if rows is None:
            after = _next_readable_key(fetch, cur)
            if after is None:
                unreadable.append((cur, None))
                return
            back = _rows_before(fetch, after, cur, batch)
            first_read = int(back[0][0]) if back else after
            if first_read > cur:
                unreadable.append((cur, first_read))
            if back:
                yield back
                cur = max(after, int(back[-1][0]) + 1)
            else:
                cur = after
            continue
        if rows:
            yield rows
        if len(rows) < limit:
            return
        # max(): rows read off a damaged page that still parses may come out of order.
        cur = max(cur, int(rows[-1][0])) + 1


def _rows_before(fetch: Fetch, after: int, bad: int, batch: int) -> list[Row]:
    """Readable rows with keys in ``[bad, after)``, read backwards from ``after``."""
    found: list[Row] = []
    key = after
    while key > bad:
        rows, _ = _fetch_until_damage(fetch, key, batch, before=True)
        rows = [r for r in rows or [] if bad <= int(r[0]) < key]
        if not rows:
            break
        found.extend(rows)
        key = int(rows[-1][0])
    return sorted(found, key=lambda r: int(r[0]))


def _fetch_until_damage(fetch: Fetch, cur: int, batch: int,
                        before: bool) -> tuple[list[Row] | None, int]:
    """Rows from ``cur`` on (or before it), halving the batch until a read succeeds (None:
    not even one row could be read)."""
    limit = batch
    while limit >= 1:
        try:
            return fetch(cur, limit, before), limit
        except _READ_ERRORS:
            limit //= 2
    return None, 1


def _next_readable_key(fetch: Fetch, bad: int) -> int | None:
    """The smallest key after ``bad`` from which a read succeeds (None: none up to 2**62).

    The keys whose seek needs a damaged page are one interval: they are found by doubling
    the step until a read succeeds, then halving back to the interval's end.
    """
    step, lo = 1, bad
    hi = bad + step
    while True:
        if hi > _MAX_KEY:
            return None
        if _readable(fetch, hi):
            break
        lo, step = hi, step * 2
        hi = bad + step
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _readable(fetch, mid):
            hi = mid
        else:
            lo = mid
    return hi


def _readable(fetch: Fetch, key: int) -> bool:
    try:
        fetch(key, 1, False)
    except _READ_ERRORS:
        return False
    return True


_READ_ERRORS: Final = (sqlite3.Error, ValueError, OverflowError)
"""What reading a damaged page raises: SQLite's "malformed", or a value the driver cannot
convert (garbage text that is not UTF-8)."""

# Tables copied, in the order their foreign keys need. Per-session tables are read per
# session by (session_id, seq); the rest by rowid.
_ROWID_TABLES: Final[tuple[str, ...]] = (
    "participants", "studies", "sessions", "gaps", "markers", "phases", "channels",
    "channel_chunks", "signal_blocks")
_PER_SESSION_TABLES: Final[tuple[str, ...]] = ("notifications", "beats")
_STREAMED_TABLES: Final = frozenset({"channel_chunks", "signal_blocks"})
"""Tables of raw samples, copied a batch at a time instead of read whole."""
_SIGNAL_BATCH_ROWS: Final = 128
"""Signal blocks per read: a block is ~0.3-1.5 KB (up to 2 s of one stream), so a batch
holds a few hundred KB."""


class _Copier:
    """Copies readable rows from a damaged database into a new one, counting per session."""

    def __init__(self, src: sqlite3.Connection, dest: sqlite3.Connection,
                 result: RepairResult, page_file: Path) -> None:
        self.src = src
        self.dest = dest
        self.result = result
        self.salvage: dict[int, SessionSalvage] = {}
        self.n_rr: dict[int, int] = {}
        """Beats each session's saved notifications announced (their ``n_rr`` sum)."""
        self.sessions_unreadable: list[Interval] = []
        self.open_tail: set[tuple[str, int]] = set()
        """(table, session) whose rows end in an unreadable page."""
        self.page_file = page_file
        self.placeholders: set[int] = set()
        """Sessions given a placeholder row (their own was lost)."""
        self.src_tables = self._source_tables()

    def _source_tables(self) -> dict[str, list[str]]:
        """Columns of each table in both files (an older file lacks some; the new schema
        fills them with their defaults)."""
        try:
            names = [r[0] for r in self.src.execute(
                "SELECT name FROM sqlite_schema WHERE type = 'table'")]
        except _READ_ERRORS as exc:
            raise DamagedStoreError(
                f"{self.result.source} is damaged beyond repair: its list of tables cannot be "
                f"read ({exc}); nothing could be salvaged") from exc
        tables = {}
        for name in names:
            try:
                src_cols = [r[1] for r in self.src.execute(f"PRAGMA table_info({name})")]
            except _READ_ERRORS:
                continue
            dest_cols = {r[1] for r in self.dest.execute(f"PRAGMA table_info({name})")}
            shared = [c for c in src_cols if c in dest_cols]
            if shared:
                tables[name] = shared
        return tables

    def session(self, session_id: int) -> SessionSalvage:
        if session_id not in self.salvage:
            self.salvage[session_id] = SessionSalvage(session_id)
        return self.salvage[session_id]

    def copy_all(self) -> None:
        # The raw-sample tables are streamed (a day of ECG and ACC is ~60 MB of rows).
        rows = {table: self._read_rowid_table(table) for table in _ROWID_TABLES
                if table in self.src_tables and table not in _STREAMED_TABLES}
        self._insert("participants", rows.get("participants", []))
        self._insert("studies", rows.get("studies", []))
        self._copy_study_participants({r[0] for r in rows.get("studies", [])})
        sessions = rows.get("sessions", [])
        self._add_placeholder_parents(sessions, rows)
        participant_at = self.src_tables["sessions"].index("participant_id")
        for row in self._insert("sessions", sessions):
            record = self.session(int(row[0]))
            record.metadata_saved = True
            record.participant = row[participant_at]
        # Session ids seen anywhere: a session whose row was lost keeps its beats.
        for table in _PER_SESSION_TABLES:
            if table in self.src_tables:
                for sid in self._distinct_session_ids(table):
                    self.session(sid)
        for table in ("gaps", "markers", "phases", "channels"):
            for row in rows.get(table, []):
                self.session(int(row[self.src_tables[table].index("session_id")]))
        if "signal_blocks" in self.src_tables:
            for sid in self._signal_block_sessions():
                self.session(sid)
        self._add_placeholder_sessions()
        for sid in sorted(self.salvage):
            self._copy_session(sid)
        # Then what only the pages themselves hold (a session's rows below a lost interior
        # page); a session known from them alone gets its placeholder row now.
        found_only_there = self._copy_orphan_rows()
        self._add_placeholder_sessions()
        for sid in sorted(found_only_there):
            self._copy_session(sid)
        for table in ("gaps", "markers", "phases"):
            self._insert(table, rows.get(table, []))
        if "signal_blocks" in self.src_tables:
            self._copy_signal_blocks()
        channels = self._insert("channels", rows.get("channels", []))
        if "channel_chunks" in self.src_tables:
            self._copy_chunks({int(r[0]) for r in channels})
        self._count_saved()
        self._mark_lost_sessions()
        self.result.sessions = [self.salvage[sid] for sid in sorted(self.salvage)]

    # -- reading ----------------------------------------------------------------------------

    def _read_rowid_table(self, table: str) -> list[Row]:
        cols = self.src_tables[table]
        fetch = _keyed_fetch(self.src, f"rowid, {', '.join(cols)}", table, "rowid")
        unreadable: list[Interval] = []
        rows = [row[1:] for batch in scan_tolerant(fetch, unreadable, start=-_MAX_KEY)
                for row in batch]
        for interval in unreadable:
            self.result.not_saved.append(f"{table}: rows with rowid {_interval_words(interval)}"
                                         " are on a damaged page")
        if table == "sessions":
            self.sessions_unreadable = unreadable
        return rows

    def _distinct_session_ids(self, table: str) -> list[int]:
        # One row per seek: LIMIT 1 after each session id skips the rest of its rows.
        fetch = _keyed_fetch(self.src, "session_id", table, "session_id")
        unreadable: list[Interval] = []
        return [int(row[0]) for batch in scan_tolerant(fetch, unreadable, batch=1)
                for row in batch]

    def _copy_session_rows(self, table: str, session_id: int) -> None:
        cols = self.src_tables[table]
        key_cols = [c for c in cols if c != "session_id"]
        fetch = _keyed_fetch(self.src, f"seq, {', '.join(key_cols)}", table, "seq",
                             where=("session_id = ?", (session_id,)))
        insert = (f"INSERT INTO {table} (session_id, {', '.join(key_cols)}) VALUES "
                  f"(?, {', '.join('?' * len(key_cols))})")
        unreadable: list[Interval] = []
        for batch in scan_tolerant(fetch, unreadable):
            self._insert_rows(insert, [(session_id, *row[1:]) for row in batch])
        if unreadable and unreadable[-1][1] is None:
            self.open_tail.add((table, session_id))

    def _copy_session(self, session_id: int) -> None:
        for table in _PER_SESSION_TABLES:
            if table in self.src_tables:
                self._copy_session_rows(table, session_id)

    def _copy_orphan_rows(self) -> set[int]:
        """Copy the rows of the per-session tables decoded from the file's pages themselves,
        to find those no query reaches any more (below or on the path to a lost interior
        page), a batch at a time; rows already copied are skipped. Returns the sessions no
        query had named."""
        pages = PageFile(self.page_file)
        # Every page but the freed ones: rows SQL has already read are skipped on insertion.
        candidates = set(range(1, pages.n_pages + 1)) - pages.freelist()
        tables = [table for table in _PER_SESSION_TABLES if table in self.src_tables]
        shapes = {table: self._column_shapes(table) for table in tables}
        pending: dict[str, list[Row]] = {table: [] for table in tables}
        new_sessions: set[int] = set()
        try:
            for record in pages.index_records(candidates):
                for table in tables:
                    if _fits(record, shapes[table]):
                        session_id = int(record[0])
                        if session_id not in self.salvage:
                            new_sessions.add(session_id)
                            self.session(session_id)
                        pending[table].append(tuple(record))
                        if len(pending[table]) >= _BATCH_ROWS:
                            self._insert_orphans(table, pending[table])
                            pending[table] = []
                        break
        finally:
            pages.close()
        for table in tables:
            self._insert_orphans(table, pending[table])
        return new_sessions

    def _column_shapes(self, table: str) -> list[tuple[str, bool]]:
        """(declared type, NOT NULL) of each column, in the order a record stores them."""
        info = self.src.execute(f"PRAGMA table_info({table})").fetchall()
        return [(str(r[2]).upper(), bool(r[3]) or bool(r[5])) for r in info]

    def _insert_orphans(self, table: str, rows: list[Row]) -> None:
        if not rows:
            return
        names = [r[1] for r in self.src.execute(f"PRAGMA table_info({table})")]
        cols = self.src_tables[table]
        at = [names.index(c) for c in cols]
        self.dest.executemany(
            f"INSERT OR IGNORE INTO {table} ({', '.join(cols)}) VALUES "
            f"({', '.join('?' * len(cols))})", [tuple(row[i] for i in at) for row in rows])

    def _count_saved(self) -> None:
        """Each session's counts, and what of it is missing, from the new file."""
        for record in self.salvage.values():
            sid = record.id
            seqs = [int(r[0]) for r in self.dest.execute(
                "SELECT seq FROM beats WHERE session_id = ? ORDER BY seq", (sid,))]
            notes = [int(r[0]) for r in self.dest.execute(
                "SELECT seq FROM notifications WHERE session_id = ? ORDER BY seq", (sid,))]
            (n_rr,) = self.dest.execute(
                "SELECT COALESCE(SUM(n_rr), 0) FROM notifications WHERE session_id = ?",
                (sid,)).fetchone()
            record.beats_saved, record.notifications = len(seqs), len(notes)
            record.beats_expected = max(int(n_rr), seqs[-1] + 1 if seqs else 0)
            for table, present, end in (("beats", seqs, record.beats_expected),
                                        ("notifications", notes, notes[-1] + 1 if notes else 0)):
                for start, stop in _missing(present, end):
                    record.unreadable.append(f"{table} seq {_interval_words((start, stop))}")
            for table in _PER_SESSION_TABLES:
                if (table, sid) in self.open_tail:
                    self._note_tail(record, table, seqs if table == "beats" else notes)
            for table, attribute in (("gaps", "gaps"), ("markers", "markers"),
                                     ("phases", "phases")):
                (count,) = self.dest.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE session_id = ?", (sid,)).fetchone()
                setattr(record, attribute, int(count))

    def _note_tail(self, record: SessionSalvage, table: str, present: list[int]) -> None:
        """After an unreadable end of a session's rows, whether rows may be missing there:
        a finished session's duration is the time of its last beat."""
        if table == "beats" and record.metadata_saved:
            row = self.dest.execute(
                "SELECT s.duration_s, (SELECT MAX(time_s) FROM beats b WHERE b.session_id = s.id)"
                " FROM sessions s WHERE s.id = ?", (record.id,)).fetchone()
            if row is not None and row[0] is not None and row[1] == row[0]:
                return
        elif table == "notifications":
            return  # a lost last notification shows as beats missing at the end
        after = max(present[-1] + 1 if present else 0, record.beats_expected)
        record.unreadable.append(f"{table} from seq {after} on, if there were any (the end of "
                                 "the session is unreadable)")

    def _copy_study_participants(self, study_ids: set[int]) -> None:
        cols = self.src_tables.get("study_participants")
        if not cols:
            return
        for study_id in sorted(study_ids):
            try:
                rows = self.src.execute(
                    f"SELECT {', '.join(cols)} FROM study_participants WHERE study_id = ?",
                    (study_id,)).fetchall()
            except _READ_ERRORS:
                self.result.not_saved.append(
                    f"study_participants: the enrolments of study {study_id} are on a "
                    "damaged page")
                continue
            for participant in {r[cols.index("participant_id")] for r in rows}:
                self._ensure_participant(participant)
            self._insert("study_participants", rows)

    def _signal_block_sessions(self) -> set[int]:
        """Sessions the readable signal blocks belong to, read without their samples (rows
        on damaged pages are reported when the blocks are copied)."""
        fetch = _keyed_fetch(self.src, "rowid, session_id", "signal_blocks", "rowid")
        return {int(row[1]) for batch in scan_tolerant(fetch, [], start=-_MAX_KEY)
                for row in batch}

    def _copy_signal_blocks(self) -> None:
        """Copy the raw-sample blocks a batch at a time, so memory stays bounded however
        long the recordings."""
        cols = self.src_tables["signal_blocks"]
        fetch = _keyed_fetch(self.src, f"rowid, {', '.join(cols)}", "signal_blocks", "rowid")
        sql = (f"INSERT INTO signal_blocks ({', '.join(cols)}) VALUES "
               f"({', '.join('?' * len(cols))})")
        session_at = cols.index("session_id")
        unreadable: list[Interval] = []
        refused = 0
        for batch in scan_tolerant(fetch, unreadable, start=-_MAX_KEY,
                                   batch=_SIGNAL_BATCH_ROWS):
            # Every session was registered from these rows' ids; a row read differently
            # the second time (a page damaged in between) is refused like garbage.
            rows = [row[1:] for row in batch if int(row[1 + session_at]) in self.salvage]
            refused += len(batch) - len(self._insert_rows(sql, rows))
        for interval in unreadable:
            self.result.not_saved.append(
                f"signal_blocks: rows with rowid {_interval_words(interval)} are on a damaged "
                "page")
        if refused:
            self.result.not_saved.append(
                f"signal_blocks: {refused} rows read from damaged pages hold values the schema "
                "refuses")

    def _copy_chunks(self, channel_ids: set[int]) -> None:
        cols = self.src_tables["channel_chunks"]
        fetch = _keyed_fetch(self.src, f"rowid, {', '.join(cols)}", "channel_chunks", "rowid")
        unreadable: list[Interval] = []
        orphans = 0
        channel_index = cols.index("channel_id")
        # A chunk is up to 256 KB: a few per read.
        for batch in scan_tolerant(fetch, unreadable, start=-_MAX_KEY, batch=16):
            rows = [row[1:] for row in batch]
            kept = [r for r in rows if int(r[channel_index]) in channel_ids]
            orphans += len(rows) - len(kept)
            self._insert("channel_chunks", kept)
        for interval in unreadable:
            self.result.not_saved.append(
                f"channel_chunks: rows with rowid {_interval_words(interval)} are on a damaged "
                "page")
        if orphans:
            self.result.not_saved.append(
                f"channel_chunks: {orphans} chunks of raw signal whose channel row was lost")

    # -- writing ----------------------------------------------------------------------------

    def _insert(self, table: str, rows: list[Row]) -> list[Row]:
        cols = self.src_tables.get(table)
        if not cols or not rows:
            return []
        sql = (f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
               f"({', '.join('?' * len(cols))})")
        saved = self._insert_rows(sql, rows)
        if len(saved) < len(rows):
            self.result.not_saved.append(
                f"{table}: {len(rows) - len(saved)} rows read from damaged pages hold values "
                "the schema refuses")
        return saved

    def _insert_rows(self, sql: str, rows: list[Row]) -> list[Row]:
        """Insert rows; one the schema refuses (garbage read off a damaged page) is left out."""
        self.dest.execute("SAVEPOINT batch")
        try:
            self.dest.executemany(sql, rows)
            self.dest.execute("RELEASE batch")
            return rows
        except sqlite3.IntegrityError:
            self.dest.execute("ROLLBACK TO batch")
            self.dest.execute("RELEASE batch")
        saved = []
        for row in rows:
            try:
                self.dest.execute(sql, row)
                saved.append(row)
            except sqlite3.IntegrityError:
                pass
        return saved

    def _ensure_participant(self, participant: str | None) -> None:
        if participant is None:
            return
        self.dest.execute(
            "INSERT OR IGNORE INTO participants (id, created_utc, notes) VALUES (?, ?, ?)",
            (participant, SYSTEM_CLOCK.wall_utc_iso(),
             f"row lost in the repair of {self.result.source}"))

    def _add_placeholder_parents(self, sessions: list[Row], rows: dict[str, list[Row]]) -> None:
        """Participants and studies that saved sessions name but whose rows were lost."""
        cols = self.src_tables["sessions"]
        studies = {int(r[0]) for r in rows.get("studies", [])}
        for row in sessions:
            self._ensure_participant(row[cols.index("participant_id")])
            if "study_id" in cols and row[cols.index("study_id")] is not None:
                study_id = int(row[cols.index("study_id")])
                if study_id not in studies:
                    self.dest.execute(
                        "INSERT INTO studies (id, name, created_utc, conditions) VALUES"
                        " (?, ?, ?, '[]')",
                        (study_id, f"study {study_id} (row lost in repair)",
                         SYSTEM_CLOCK.wall_utc_iso()))
                    studies.add(study_id)
                    self.result.not_saved.append(
                        f"studies: the row of study {study_id} was lost (a placeholder "
                        "keeps its sessions)")

    def _add_placeholder_sessions(self) -> None:
        """A row for each session whose own row was lost, so its beats can be kept (once)."""
        for record in self.salvage.values():
            if record.metadata_saved or record.id in self.placeholders:
                continue
            self.placeholders.add(record.id)
            settings = {"import_format": "repair", "repaired_from": str(self.result.source),
                        "metadata_lost": True}
            self.dest.execute(
                "INSERT INTO sessions (id, status, source, settings, started_utc, notes)"
                " VALUES (?, 'interrupted', 'repair', ?, ?, ?)",
                (record.id, json.dumps(settings), SYSTEM_CLOCK.wall_utc_iso(),
                 f"the session row was lost in the repair of {self.result.source}: its "
                 "participant, start time and settings are unknown"))
            record.unreadable.append("its session row (participant, start, settings)")

    def _mark_lost_sessions(self) -> None:
        """Sessions whose row was on a damaged page and of which nothing else was found."""
        for start, end in self.sessions_unreadable:
            if end is None:
                self.result.not_saved.append(
                    f"sessions: the rows with id {_interval_words((start, end))} are "
                    "unreadable; sessions of which nothing else was found cannot be counted")
                continue
            for sid in range(max(start, 1), end):
                if sid not in self.salvage:
                    self.salvage[sid] = SessionSalvage(sid, unreadable=["everything"])


def _keyed_fetch(conn: sqlite3.Connection, columns: str, table: str, key: str,
                 where: tuple[str, tuple[Any, ...]] = ("", ())) -> Fetch:
    """A :data:`Fetch` over ``table`` ordered by the integer ``key`` (rowid or the last
    primary-key column), optionally within ``where`` (the primary key's leading columns)."""
    condition, params = where
    prefix = f"{condition} AND " if condition else ""
    after = f"SELECT {columns} FROM {table} WHERE {prefix}{key} >= ? ORDER BY {key} LIMIT ?"
    before = (f"SELECT {columns} FROM {table} WHERE {prefix}{key} < ? ORDER BY {key} DESC"
              " LIMIT ?")

    def fetch(first: int, limit: int, backwards: bool) -> list[Row]:
        return conn.execute(before if backwards else after, (*params, first, limit)).fetchall()

    return fetch


def _fits(record: list[Any], shape: list[tuple[str, bool]]) -> bool:
    """Whether a decoded record has the columns of a table: their number, and each value of
    its declared type (REAL accepts integers: SQLite stores whole REAL values as integers)."""
    if len(record) != len(shape):
        return False
    for value, (declared, not_null) in zip(record, shape, strict=True):
        if value is None:
            if not_null:
                return False
        elif declared == "INTEGER":
            if not isinstance(value, int):
                return False
        elif declared == "REAL":
            if not isinstance(value, int | float):
                return False
        elif declared == "TEXT" and not isinstance(value, str):
            return False
    return True


def _missing(present: list[int], end: int) -> list[tuple[int, int]]:
    """The ranges ``[start, stop)`` of ``range(end)`` absent from the sorted ``present``."""
    gaps, expected = [], 0
    for key in present:
        if key > expected:
            gaps.append((expected, key))
        expected = max(expected, key + 1)
    if end > expected:
        gaps.append((expected, end))
    return gaps


def _interval_words(interval: Interval) -> str:
    start, end = interval
    if end is None:
        return "all" if start <= -_MAX_KEY else f"from {start} on"
    if start <= -_MAX_KEY:
        return f"up to {end - 1}"
    return str(start) if end == start + 1 else f"{start}-{end - 1}"
