"""Each commit of a live recording is fsynced and checkpointed by a thread of its own."""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

from biofeedback.core.errors import StoreError
from biofeedback.core.types import Beat, BeatBatch
from biofeedback.store import SessionStore, wal_sync
from biofeedback.store.wal_sync import WalSyncer

THREAD_NAME = "biofeedback-wal-sync"
WAIT_S = 30.0  # a bound on a hung thread, not a speed target


def notification(seq: int) -> BeatBatch:
    t = 0.8 * (seq + 1)
    return BeatBatch(t, (Beat(800.0, t, t, True, seq),), 75.0)


@pytest.fixture
def fsyncs(monkeypatch) -> list[tuple[str, str]]:
    """Every fsync of the process (os.fsync is patched for all its callers), as (file, thread
    name); each is still done."""
    done: list[tuple[str, str]] = []
    real = os.fsync

    def recording_fsync(fd: int) -> None:
        real(fd)
        done.append((os.readlink(f"/proc/self/fd/{fd}"), threading.current_thread().name))

    monkeypatch.setattr(wal_sync.os, "fsync", recording_fsync)
    return done


def _sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_each_commit_is_fsynced_off_the_writing_thread(tmp_path, fsyncs):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        store.sync_every_commit()
        assert store.syncs_every_commit
        sid = store.create_session(source="sim")
        assert store.wait_synced(WAIT_S)
        for seq in range(5):
            before = len(fsyncs)
            store.append_notification(sid, seq, notification(seq))
            assert store.wait_synced(WAIT_S)
            log = f"{store.path}-wal"
            assert (log, THREAD_NAME) in fsyncs[before:], fsyncs[before:]
        # The writer commits without waiting for the disk, and without autocheckpoints.
        assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert all(thread == THREAD_NAME for file, thread in fsyncs if file.endswith("-wal"))
    assert not _sync_threads()
    with SessionStore(tmp_path / "db.sqlite3") as again:
        assert again.load_recording(sid).n_beats == 5


def test_stopping_the_sync_restores_autocheckpoints(tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        store.sync_every_commit()
        store.sync_every_commit()  # twice: still one thread
        assert len(_sync_threads()) == 1
        store.sync_every_commit(False)
        assert not store.syncs_every_commit and not _sync_threads()
        assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
        assert store.wait_synced(0.0)  # nothing to wait for


def test_the_thread_checkpoints_the_log_into_the_database(tmp_path):
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE t (x INTEGER)")
    syncer = WalSyncer(path, checkpoint_every=4)
    try:
        for x in range(12):
            conn.execute("INSERT INTO t VALUES (?)", (x,))
            syncer.committed()
            assert syncer.wait_synced(WAIT_S)
    finally:
        syncer.close()
    assert syncer.fsyncs >= 12 and syncer.checkpoints >= 3
    # The database file alone (without its log) holds every row: the log was checkpointed.
    alone = tmp_path / "alone.sqlite3"
    shutil.copyfile(path, alone)
    copy = sqlite3.connect(alone)
    assert [x for (x,) in copy.execute("SELECT x FROM t ORDER BY x")] == list(range(12))
    copy.close()
    conn.close()


def test_a_write_not_announced_still_reaches_the_disk(tmp_path):
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    syncer = WalSyncer(path)
    try:
        conn.execute("INSERT INTO t VALUES (1)")  # committed, nobody tells the thread
        with syncer._wake:
            seen = syncer._wake.wait_for(lambda: syncer.fsyncs > 0, WAIT_S)
        assert seen
    finally:
        syncer.close()
        conn.close()


def test_a_failed_fsync_is_a_store_error_on_the_next_write(tmp_path, monkeypatch):
    def failing_fsync(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with SessionStore(tmp_path / "db.sqlite3") as store:
        store.sync_every_commit()
        sid = store.create_session(source="sim")
        assert store.wait_synced(WAIT_S)
        monkeypatch.setattr(wal_sync.os, "fsync", failing_fsync)
        store.append_notification(sid, 0, notification(0))
        assert store.wait_synced(WAIT_S)
        monkeypatch.undo()  # the disk is back: the failure is still told, once
        with pytest.raises(StoreError) as raised:
            store.append_notification(sid, 1, notification(1))
        message = str(raised.value)
        assert str(store.path) in message and "Input/output error" in message
        assert "power cut" in message
        # Raised once: the rows were committed, and the next write goes on.
        store.append_notification(sid, 2, notification(2))
        assert store.load_recording(sid).n_beats == 3
