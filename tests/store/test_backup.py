"""Backups (issue 14, item 6): SQLite's online backup of the store, taken while a real
recording writes to it, verified before it is called done; restore only into an empty data
folder; nothing existing is ever overwritten or modified."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import s1_study

from biofeedback.core.errors import DamagedStoreError, StoreError
from biofeedback.store import SessionStore, database_path, schema
from biofeedback.store.backup import backup_database, restore_database, verify_backup
from conftest import PYTHON, cli_env

RECORD = [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--quiet", "--no-neurokit"]

RAW_BEAT = "seq, time_s, received_s, rr_ms, sensor_contact"
"""Columns of a beat written once, with its notification, and never updated."""
CLASSIFIED_BEAT = "seq, rr_corrected_ms, corrected_count, artifact"
"""Columns filled in once the artifact detector's look-ahead has decided the beat."""


def digest(folder: Path) -> dict[str, str]:
    """Name -> SHA-256 of every file in ``folder`` (to show that nothing was touched)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def rows(path: Path, sql: str, *params: object) -> list[tuple]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_for_beats(path: Path, session_id: int, n: int, proc: subprocess.Popen) -> None:
    conn = sqlite3.connect(path, timeout=10)
    try:
        while conn.execute("SELECT COUNT(*) FROM beats WHERE session_id = ?",
                           (session_id,)).fetchone()[0] < n:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
    finally:
        conn.close()


def test_a_backup_taken_while_recording_holds_a_verified_prefix_of_the_recording(
    data_dir: Path, tmp_path: Path
) -> None:
    # An earlier, long session makes the file many copy steps long.
    done = subprocess.run([*RECORD, "--seed", "2", "--speed", "max", "--duration", "7200"],
                          capture_output=True, text=True, env=cli_env(data_dir), timeout=120)
    assert done.returncode == 0, done.stderr
    proc = subprocess.Popen(
        [*RECORD, "--seed", "3", "--speed", "60", "--duration", "7200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(data_dir),
    )
    try:
        live_id = int(proc.stdout.readline())  # type: ignore[union-attr]
        source = database_path(data_dir)
        wait_for_beats(source, live_id, 200, proc)
        steps: list[tuple[int, int]] = []
        result = backup_database(source, tmp_path / "backup.sqlite3",
                                 lambda done, total: steps.append((done, total)))
        backed_up = rows(result.path, "SELECT COUNT(*) FROM beats WHERE session_id = ?",
                         live_id)[0][0]
        wait_for_beats(source, live_id, backed_up + 100, proc)  # it went on recording
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)  # finishes the session
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err

    backup = result.path
    assert rows(backup, "PRAGMA integrity_check") == [("ok",)]
    assert rows(backup, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
    assert rows(backup, "PRAGMA journal_mode") == [("delete",)]  # one self-contained file
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "data") == ["backup.sqlite3"]
    assert len(steps) > 1 and steps[-1][0] == steps[-1][1]
    assert result.bytes == backup.stat().st_size
    assert (result.sessions, result.beats) == (
        rows(backup, "SELECT COUNT(*) FROM sessions")[0][0],
        rows(backup, "SELECT COUNT(*) FROM beats")[0][0],
    )
    assert result.sessions == 2
    assert rows(backup, "SELECT status FROM sessions WHERE id = ?", live_id) == [("recording",)]

    for session_id in (1, live_id):
        where = "FROM beats WHERE session_id = ? ORDER BY seq"
        saved = rows(backup, f"SELECT {RAW_BEAT} {where}", session_id)
        later = rows(source, f"SELECT {RAW_BEAT} {where}", session_id)
        # A prefix: the first beats of the session, each exactly as the recording stored it.
        assert [row[0] for row in saved] == list(range(len(saved)))
        assert saved == later[: len(saved)]
        classified = [row for row in rows(backup, f"SELECT {CLASSIFIED_BEAT} {where}",
                                          session_id) if row[3] is not None]
        final = {row[0]: row for row in rows(source, f"SELECT {CLASSIFIED_BEAT} {where}",
                                             session_id)}
        assert classified and all(final[row[0]] == row for row in classified)
        # Whole notifications only: every notification's beats are there.
        announced = rows(backup, "SELECT COALESCE(SUM(n_rr), 0) FROM notifications"
                                 " WHERE session_id = ?", session_id)[0][0]
        assert announced == len(saved)
    assert len(rows(backup, "SELECT 1 FROM beats WHERE session_id = ?", live_id)) < len(
        rows(source, "SELECT 1 FROM beats WHERE session_id = ?", live_id))


def assert_same_sessions(a: SessionStore, b: SessionStore) -> None:
    assert [s.to_dict() for s in a.list_sessions()] == [s.to_dict() for s in b.list_sessions()]
    for summary in a.list_sessions():
        x, y = a.load_recording(summary.id), b.load_recording(summary.id)
        for name in ("rr_ms", "time_s", "rr_corrected_ms", "received_s", "sensor_contact",
                     "artifact", "corrected_count"):
            np.testing.assert_array_equal(getattr(x, name), getattr(y, name), err_msg=name)
        assert (x.gaps, x.phases, x.markers, x.metadata) == (y.gaps, y.phases, y.markers,
                                                             y.metadata)
        assert a.load_channels(summary.id) == b.load_channels(summary.id)


def test_restore_into_an_empty_folder_gives_identical_sessions(
    recorded_data_dir, tmp_path: Path
) -> None:
    source_dir = recorded_data_dir(s1_study(["P1", "P2"]))
    before = digest(source_dir)
    result = backup_database(database_path(source_dir), tmp_path / "s1.backup")
    # A backup only reads: the database is unchanged; SQLite's read-only connection may
    # leave the empty -wal and the -shm index a WAL database's readers share.
    after = digest(source_dir)
    assert after["biofeedback.sqlite3"] == before["biofeedback.sqlite3"]
    assert set(after) <= {"biofeedback.sqlite3", "biofeedback.sqlite3-wal",
                          "biofeedback.sqlite3-shm", ".space-reserve"}
    assert (source_dir / "biofeedback.sqlite3-wal").stat().st_size == 0
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in source_dir.iterdir())
    assert (result.sessions, result.schema_version) == (2, schema.SCHEMA_VERSION)

    new_dir = tmp_path / "new" / "data"
    restored = restore_database(result.path, new_dir)
    assert (restored.sessions, restored.beats) == (result.sessions, result.beats)
    assert restored.path == database_path(new_dir)
    assert stat.S_IMODE(new_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(restored.path.stat().st_mode) == 0o600
    assert [p.name for p in new_dir.iterdir()] == ["biofeedback.sqlite3"]
    with SessionStore.open(source_dir) as a, SessionStore.open(new_dir) as b:
        assert_same_sessions(a, b)
        assert any(a.load_recording(s.id).phases for s in a.list_sessions())
        # Each phase's feedback (shown/hidden) comes back too; the recording stored it.
        assert {p.feedback for s in b.list_sessions() for p in b.load_recording(s.id).phases} \
            <= {"shown", "hidden"}
        assert rows(a.path, "SELECT * FROM study_participants") == \
            rows(b.path, "SELECT * FROM study_participants")


def test_restore_into_a_database_without_sessions_fills_it(
    recorded_data_dir, tmp_path: Path
) -> None:
    source_dir = recorded_data_dir(s1_study(["P1"]))
    backup = backup_database(database_path(source_dir), tmp_path / "b.sqlite3").path
    empty = tmp_path / "empty"
    SessionStore.open(empty).close()  # the window opened a new folder once
    restore_database(backup, empty)
    with SessionStore.open(source_dir) as a, SessionStore.open(empty) as b:
        assert_same_sessions(a, b)


def test_restore_into_a_folder_with_sessions_is_refused_and_leaves_it_untouched(
    recorded_data_dir, tmp_path: Path
) -> None:
    folder = recorded_data_dir(s1_study(["P1"]))
    backup = backup_database(database_path(folder), tmp_path / "b.sqlite3").path
    before = digest(folder)
    with pytest.raises(StoreError) as refused:
        restore_database(backup, folder)
    assert str(refused.value) == (
        f"{folder} already holds 1 session; a backup is restored only into an empty data "
        "folder, and nothing was changed: restore with --data-dir NEW_FOLDER, or move the "
        "folder away first")
    assert digest(folder) == before


def test_an_existing_file_is_never_overwritten_without_asking(store, tmp_path: Path) -> None:
    out = tmp_path / "kept.sqlite3"
    out.write_bytes(b"the user's own file")
    with pytest.raises(StoreError, match=r"kept.sqlite3 already exists; it was left as it is"):
        backup_database(store.path, out)
    assert out.read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "kept.sqlite3"]
    replaced = backup_database(store.path, out, overwrite=True)
    assert rows(replaced.path, "PRAGMA integrity_check") == [("ok",)]
    with pytest.raises(StoreError, match="onto itself"):
        backup_database(store.path, store.path, overwrite=True)
    with pytest.raises(StoreError, match="not a regular file"):
        backup_database(store.path, Path(os.devnull), overwrite=True)
    assert stat.S_ISCHR(Path(os.devnull).stat().st_mode)
    with pytest.raises(StoreError, match=r"the folder .*nowhere does not exist"):
        backup_database(store.path, tmp_path / "nowhere" / "b.sqlite3")


def test_no_database_means_nothing_to_back_up(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"there is no session database at .*: nothing to back"):
        backup_database(tmp_path / "biofeedback.sqlite3", tmp_path / "b.sqlite3")
    assert list(tmp_path.iterdir()) == []


NEWER = schema.SCHEMA_VERSION + 1


@pytest.fixture
def good_backup(recorded_data_dir, tmp_path: Path) -> Path:
    return backup_database(database_path(recorded_data_dir(s1_study(["P1"]))),
                           tmp_path / "good.sqlite3").path


def damaged_copy(good: Path, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / f"{how}.sqlite3"
    shutil.copy(good, bad)
    if how == "text":
        bad.write_text("id,rr\n1,800\n")
    elif how == "truncated":
        with bad.open("r+b") as f:
            f.truncate(good.stat().st_size // 2)
    elif how == "page":
        # Overwrite the middle of the beats table's pages with noise.
        with bad.open("r+b") as f:
            f.seek(good.stat().st_size // 2)
            f.write(np.random.default_rng(1).bytes(8192))
    elif how == "newer":
        conn = sqlite3.connect(bad)
        conn.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION + 1}")
        conn.commit()
        conn.close()
    elif how == "foreign":
        bad.unlink()
        conn = sqlite3.connect(bad)
        conn.execute("CREATE TABLE contacts (name TEXT)")
        conn.commit()
        conn.close()
    return bad


@pytest.mark.parametrize(("how", "error", "says"), [
    ("text", DamagedStoreError, "is not a biofeedback backup: it is not a SQLite database"),
    ("foreign", DamagedStoreError, "is a SQLite database but not a biofeedback backup"),
    ("newer", StoreError, f"was written by a newer version of biofeedback (schema version "
                          f"{NEWER}; this program reads up to {schema.SCHEMA_VERSION})"),
    ("truncated", DamagedStoreError, "is damaged"),
    ("page", DamagedStoreError, "is damaged"),
])
def test_a_damaged_or_foreign_backup_is_refused_and_left_as_it_is(
    good_backup: Path, tmp_path: Path, how: str, error: type, says: str
) -> None:
    bad = damaged_copy(good_backup, tmp_path, how)
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    target = tmp_path / "target"
    with pytest.raises(error) as refused:
        restore_database(bad, target)
    assert str(refused.value).startswith(str(bad)), refused.value
    assert says in str(refused.value)
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in bad.parent.iterdir() if p.name.startswith(bad.name)) == \
        [bad.name]
    assert not target.exists() or list(target.iterdir()) == []


def test_an_older_schema_is_restored_and_migrated_on_opening(tmp_path: Path) -> None:
    old = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(old, isolation_level=None)
    schema.migrate(conn, schema.MIGRATIONS[:1])
    conn.execute("INSERT INTO sessions (id, status, source, started_utc) VALUES "
                 "(1, 'complete', 'sim', '2024-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO notifications VALUES (1, 0, 0.8, 75.0, 1)")
    conn.execute("INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms) "
                 "VALUES (1, 0, 0.8, 0.8, 800.0)")
    conn.close()
    assert verify_backup(old).schema_version == 1
    folder = tmp_path / "restored"
    assert restore_database(old, folder).schema_version == 1
    with SessionStore.open(folder) as restored:
        assert rows(restored.path, "PRAGMA user_version") == [(schema.SCHEMA_VERSION,)]
        assert restored.load_recording(1).rr_ms.tolist() == [800.0]
