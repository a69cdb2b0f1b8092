"""Real session databases with real damage: the pages of a table, and bytes overwritten.

SQLite stores a table as a b-tree of pages (https://www.sqlite.org/fileformat2.html); the
``dbstat`` virtual table tells each page's place in the tree (``path``) and its cell count,
which is enough to know which rows a page holds before the page is overwritten.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path

import numpy as np

from biofeedback.core.types import Beat, BeatBatch, Gap, GapReason, Marker, MarkerKind, PhaseSpan
from biofeedback.store.database import SessionStore

PAGE_SIZE = 4096
"""SQLite's default page size, which the store keeps."""


def record_sessions(store: SessionStore, n_sessions: int, beats_per_session: int,
                    first_participant: int = 1) -> list[int]:
    """Record sessions the way a live session writes them: 5 beats per notification, each
    committed, with 3 markers, 2 phases (feedback hidden, then shown) and a gap each; the
    participants are ``P01``...

    Returns
    -------
    list of int
        The session ids.
    """
    ids = []
    for k in range(n_sessions):
        sid = store.create_session(source="sim", participant_id=f"P{first_participant + k:02d}",
                                   settings={"seed": k})
        rng = np.random.default_rng(k)
        time_s, seq, note = 0.0, 0, 0
        baseline = store.start_phase(sid, PhaseSpan("baseline", "Baseline", "baseline", 0, 0,
                                                    feedback="hidden"))
        while seq < beats_per_session:
            beats = []
            for _ in range(min(5, beats_per_session - seq)):
                rr = float(rng.normal(850.0, 40.0))
                time_s += rr / 1000
                beats.append(Beat(rr, time_s, time_s + 0.01, True, seq))
                seq += 1
            store.append_notification(sid, note, BeatBatch(time_s + 0.01, tuple(beats), 70.0))
            note += 1
            if note == 20:
                store.end_phase(baseline, time_s)
                store.add_phase(sid, PhaseSpan("practice", "Practice", "practice", time_s,
                                               time_s + 60, "breathing", "attention",
                                               "shown"))
        for i in range(3):
            store.add_marker(sid, Marker(10.0 * i, 0.0, f"marker {i}", MarkerKind.USER,
                                         {"i": i}))
        store.add_gap(sid, Gap(5.0, 6.0, GapReason.CLOCK_DRIFT))
        store.finish_session(sid)
        ids.append(sid)
    return ids


def keys_by_page(db: Path, table: str) -> dict[int, list[tuple[int, int]]]:
    """The ``(session_id, seq)`` keys stored on each page of a WITHOUT ROWID table.

    Such a table is an index b-tree: its rows are in interior pages too, one between each
    pair of children, so an in-order walk of the pages ``dbstat`` lists gives each page its
    rows in key order.
    """
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    pages = {
        path: (pageno, kind, ncell)
        for path, pageno, kind, ncell in conn.execute(
            "SELECT path, pageno, pagetype, ncell FROM dbstat WHERE name = ?"
            " AND pagetype != 'overflow'", (table,))
    }
    keys = conn.execute(f"SELECT session_id, seq FROM {table} ORDER BY session_id, seq").fetchall()
    conn.close()
    out: dict[int, list[tuple[int, int]]] = {}
    position = 0

    def walk(path: str) -> None:
        nonlocal position
        pageno, kind, ncell = pages[path]
        if kind == "leaf":
            out[pageno] = keys[position:position + ncell]
            position += ncell
            return
        out[pageno] = []
        for child in range(ncell + 1):
            walk(f"{path}{child:03x}/")
            if child < ncell:
                out[pageno].append(keys[position])
                position += 1

    walk("/")
    assert position == len(keys)
    return out


def root_page(db: Path, table: str) -> int:
    """The page number of a table's b-tree root."""
    conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    (page,) = conn.execute("SELECT rootpage FROM sqlite_schema WHERE name = ?", (table,)).fetchone()
    conn.close()
    return int(page)


def overwrite_page(db: Path, pageno: int, seed: int = 0) -> None:
    """Write random bytes over page ``pageno`` (1-based) of a database file, in place."""
    noise = random.Random(seed).randbytes(PAGE_SIZE)
    with db.open("r+b") as file:
        file.seek((pageno - 1) * PAGE_SIZE)
        file.write(noise)


def fingerprint(path: Path) -> tuple[str, int, int]:
    """sha256, size and modification time (ns) of a file: what must not change."""
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_size, stat.st_mtime_ns


def integrity(path: Path) -> str:
    """What ``PRAGMA integrity_check`` says of a file, on a fresh connection (as the next
    program would open it): ``"ok"`` or the first problem."""
    conn = sqlite3.connect(path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
