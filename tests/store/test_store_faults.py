"""The store under faults, in one process: a full disk (SQLite's own size limit), a read-only
open, damaged and foreign files. The same faults with real processes on a real small or
read-only file system are in tests/integration/test_disk_full.py."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from damage import integrity

from biofeedback.core.errors import (
    DamagedStoreError,
    DiskFullError,
    ReadOnlyStoreError,
    StoreError,
)
from biofeedback.core.recording import Recording
from biofeedback.live.events import BeatsProcessed
from biofeedback.session.live_session import LiveSession
from biofeedback.store import SessionStore, schema
from biofeedback.store.connection import SPACE_RESERVE_NAME
from biofeedback.store.database import DISK_FULL, PROCESS_ENDED
from sensors.simulated import SimulatedStrap
from tests.helpers import record_free_session

SAVED = re.compile(
    r"the disk holding (?P<dir>\S+) is full: session (?P<sid>\d+) was saved up to "
    r"\d\d:\d\d:\d\d \((?P<beats>[\d,]+) beats\) and closed as interrupted; free space on it "
    r"and start a new recording")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def limit_pages(store: SessionStore, extra_pages: int) -> None:
    """Let the database grow by ``extra_pages`` pages more: SQLite's own "disk full"."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages + extra_pages}")



def test_a_recording_that_fills_the_disk_keeps_every_acknowledged_beat(data_dir):
    store = SessionStore.open(data_dir)
    assert (data_dir / SPACE_RESERVE_NAME).stat().st_size == 256 * 1024
    limit_pages(store, 40)
    session = LiveSession(SimulatedStrap(seed=5, speed=None, duration_s=86400.0), store=store,
                          participant_id="p01", neurokit=False)
    shown: list[tuple[int, float]] = []  # beats the session handed on, i.e. after the commit

    def on_event(event):
        if isinstance(event, BeatsProcessed):
            shown.extend((b.seq, b.rr_ms) for b in event.batch.beats)

    session.subscribe(on_event)
    with pytest.raises(DiskFullError) as raised:
        asyncio.run(session.run(duration_s=86400.0))
    message = str(raised.value)
    match = SAVED.fullmatch(message)
    assert match, message
    assert match["dir"] == str(data_dir) and int(match["sid"]) == session.session_id
    assert session.store_error is raised.value
    # The reserve was given up to close the session.
    assert not (data_dir / SPACE_RESERVE_NAME).exists()
    store.close()
    with SessionStore.open(data_dir) as again:
        info = again.session_info(session.session_id)
        assert (info.status, info.end_reason) == ("interrupted", DISK_FULL)
        recording = again.load_recording(session.session_id)
        assert recording.n_beats == int(match["beats"].replace(",", "")) == len(shown)
        stored = dict(zip(range(recording.n_beats), recording.rr_ms, strict=True))
        assert all(stored[seq] == rr for seq, rr in shown)
        assert recording.n_beats > 1000  # 40 pages of beats: not a failure at the start
        # The reserve is back for the next recording.
        assert (data_dir / SPACE_RESERVE_NAME).exists()
    assert integrity(data_dir / "biofeedback.sqlite3") == "ok"


def test_a_marker_on_a_full_disk_stops_the_session_with_one_sentence(data_dir):
    store = SessionStore.open(data_dir)
    session = LiveSession(SimulatedStrap(seed=6, speed=None, duration_s=600.0), store=store,
                          neurokit=False)
    failures: list[StoreError] = []

    def on_event(event):
        if isinstance(event, BeatsProcessed) and event.batch.beats[-1].seq >= 300 \
                and not failures:
            limit_pages(store, 0)
            big = "x" * 20000  # needs new pages, which the limit refuses
            try:
                session.add_marker(big)
            except StoreError as exc:
                failures.append(exc)

    session.subscribe(on_event)
    with pytest.raises(DiskFullError) as raised:
        asyncio.run(session.run(duration_s=600.0))
    assert failures == [raised.value]
    assert SAVED.fullmatch(str(raised.value)), str(raised.value)
    info = store.session_info(session.session_id)
    assert (info.status, info.end_reason) == ("interrupted", DISK_FULL)
    store.close()


def test_an_import_on_a_full_disk_stores_nothing(store, tmp_path):
    before = store.list_sessions()
    limit_pages(store, 2)
    n = 20000
    rr = np.full(n, 800.0)
    recording = Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0)
    with pytest.raises(DiskFullError, match=r"the disk holding .* is full: cannot write to "
                       r"biofeedback.sqlite3; free space on it"):
        store.import_recording(recording, source="import", participant_id="p01")
    assert store.list_sessions() == before
    assert store._conn.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 0


def test_batch_import_on_a_full_disk_names_the_file_and_keeps_what_was_imported(
        data_dir, tmp_path):
    from biofeedback.importing.batch import import_paths

    folder = tmp_path / "in"
    folder.mkdir()
    for name, n in (("a.txt", 50), ("b.txt", 30000)):
        (folder / name).write_text("\n".join(["800"] * n) + "\n")
    with SessionStore.open(data_dir) as store:
        limit_pages(store, 30)
        with pytest.raises(DiskFullError) as raised:
            import_paths(store, [folder / "a.txt", folder / "b.txt"])
        assert re.search(r"b\.txt was not imported \(nothing of it was stored\); the 1 "
                         r"recording imported before it are kept; import it and the files "
                         r"after it again$", str(raised.value)), str(raised.value)
        assert [s.n_beats for s in store.list_sessions()] == [50]


def test_reading_a_full_or_read_only_store_writes_nothing(data_dir):
    path = data_dir / "biofeedback.sqlite3"
    with SessionStore.open(data_dir) as store:
        sid = store.create_session(source="sim")  # left "recording" by a process that died
        store._conn.execute(
            "UPDATE sessions SET owner_pid = 2147483646, owner_started = 1 WHERE id = ?", (sid,))
    before = sha256(path)
    with SessionStore(path, read_only=True) as reader:
        [summary] = reader.list_sessions()
        assert (summary.status, summary.end_reason) == ("interrupted", PROCESS_ENDED)
        assert reader.session_info(sid).status == "interrupted"
        with pytest.raises(ReadOnlyStoreError, match=f"cannot write to {re.escape(str(path))}"
                           ": it is read-only"):
            reader.add_marker(sid, _marker())
    assert sha256(path) == before
    # Opened for writing, the reconciliation is stored, with its reason.
    with SessionStore(path) as writer:
        info = writer.session_info(sid)
        assert (info.status, info.end_reason) == ("interrupted", PROCESS_ENDED)


def _marker():
    from biofeedback.core.types import Marker, MarkerKind

    return Marker(1.0, 0.0, "m", MarkerKind.USER, {})


def test_an_upgrade_needed_on_a_read_only_open_is_a_sentence(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(conn, schema.MIGRATIONS[:3])
    conn.close()
    before = sha256(path)
    with pytest.raises(ReadOnlyStoreError, match=r"has database schema v3 from an older "
                       r"version of biofeedback and must be upgraded to v\d+ before it can be "
                       r"read, which needs writing to it"):
        SessionStore(path, read_only=True)
    assert sha256(path) == before


@pytest.fixture
def recorded(data_dir) -> Path:
    with SessionStore.open(data_dir) as store:
        for seed in (1, 2, 3):
            record_free_session(store, seed=seed, duration_s=900.0)
        store._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return data_dir / "biofeedback.sqlite3"


def _beats_page(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        pages = [p for (p,) in conn.execute(
            "SELECT pageno FROM dbstat WHERE name = 'beats' AND pagetype = 'leaf'")]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    return (pages[len(pages) // 2] - 1) * page_size


DAMAGE = {
    "text": lambda path: path.write_text("participant,rr\np01,800\n"),
    "png": lambda path: path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200)),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "page": lambda path: _overwrite(path, _beats_page(path), os.urandom(4096)),
    "newer": lambda path: _overwrite(path, 60, (99).to_bytes(4, "big")),
}
EXPECTED = {
    "text": (DamagedStoreError, r"is not a biofeedback database: it is not an SQLite file"),
    "png": (DamagedStoreError, r"is not a biofeedback database: it is not an SQLite file"),
    "truncated": (DamagedStoreError, r"is damaged: it is cut short \([\d,]+ bytes of the "
                  r"[\d,]+ its header gives\); it was left as it is: run 'biofeedback check"),
    # SQLite's words when a read meets the page, or quick_check's before a write.
    "page": (DamagedStoreError, r"is damaged (or is not a biofeedback database )?\((database "
             r"disk image is malformed|.*(btree|page|cell).*)\); it was left as it is: run "
             r"'biofeedback check --repair"),
    "newer": (StoreError, r"was written by a newer version of biofeedback \(database schema "
              r"v99; this program reads up to v\d+\); it was left as it is"),
}


def _overwrite(path: Path, offset: int, data: bytes) -> None:
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_or_foreign_file_is_refused_and_left_untouched(recorded, damage):
    DAMAGE[damage](recorded)
    before = sha256(recorded)
    kind, pattern = EXPECTED[damage]
    for attempt in (
        lambda: SessionStore(recorded).list_sessions(),
        lambda: SessionStore.for_reading(recorded).list_sessions(),
        lambda: SessionStore(recorded, verify=True).create_session(source="sim"),
    ):
        with pytest.raises(kind, match=pattern):
            attempt()
    assert sha256(recorded) == before
    # The command line says the same, without "internal error", and exits 1.
    commands = [["sessions"]]
    if damage == "page":
        # (a session none of whose beats are on the page still reads: SQLite reads only what
        # it needs; the recorder checks the whole file before it writes)
        commands += [["record", "--source", "sim", "--speed", "max", "--duration", "5"]]
    for command in commands:
        done = subprocess.run(
            [sys.executable, "-m", "biofeedback", *command, "--data-dir",
             str(recorded.parent)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 1, done.stderr
        assert re.search(pattern, done.stderr), done.stderr
        assert "internal error" not in done.stderr
    assert sha256(recorded) == before
