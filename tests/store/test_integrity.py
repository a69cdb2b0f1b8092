"""Checking and salvaging session databases with real damage: the damaged file never changes."""

from __future__ import annotations

import shutil
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from damage import fingerprint, keys_by_page, overwrite_page, record_sessions, root_page

from biofeedback.core.errors import DamagedStoreError, StoreError
from biofeedback.store import schema
from biofeedback.store.database import SessionStore
from biofeedback.store.integrity import check_database
from biofeedback.store.salvage import repair_database

N_SESSIONS = 10
BEATS = 1500


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed database of 10 sessions of 1,500 beats each, made by the real store."""
    folder = tmp_path_factory.mktemp("pristine")
    with SessionStore(folder / "biofeedback.sqlite3") as store:
        record_sessions(store, N_SESSIONS, BEATS)
    return folder / "biofeedback.sqlite3"


@pytest.fixture
def db(pristine: Path, tmp_path: Path) -> Path:
    """This test's own copy of the pristine database."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copyfile(pristine, folder / pristine.name)
    return folder / pristine.name


def same_session(a: SessionStore, b: SessionStore, session_id: int) -> None:
    """Assert a session holds the same metadata, beats, gaps, markers and phases in both."""
    ra, rb = a.load_recording(session_id), b.load_recording(session_id)
    for name in ("rr_ms", "time_s", "received_s", "rr_corrected_ms", "sensor_contact"):
        np.testing.assert_array_equal(getattr(ra, name), getattr(rb, name))
    assert (ra.gaps, ra.markers, ra.phases) == (rb.gaps, rb.markers, rb.phases)
    assert a.session_info(session_id).to_dict() == b.session_info(session_id).to_dict()


def test_a_sound_database_is_ok_with_its_counts_and_nothing_is_created(db):
    before = fingerprint(db)
    result = check_database(db)
    assert result.ok and result.problems == ()
    assert (result.sessions, result.beats, result.schema_version) == (
        N_SESSIONS, N_SESSIONS * BEATS, schema.SCHEMA_VERSION)
    assert fingerprint(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]  # no -wal, no -shm


def test_a_garbage_page_of_beats_loses_exactly_the_rows_on_it(db, pristine, tmp_path):
    pages = keys_by_page(db, "beats")
    # A leaf in the middle of session 6: its rows, and only they, must be lost.
    page, lost = next((p, keys) for p, keys in sorted(pages.items())
                      if keys and {k[0] for k in keys} == {6} and 200 < keys[0][1] < 1200)
    overwrite_page(db, page, seed=14)
    before = fingerprint(db)

    checked = check_database(db)
    assert not checked.ok
    assert checked.problems[0].startswith(f"{db} is damaged: SQLite's integrity check")
    out = tmp_path / "repaired.sqlite3"
    result = repair_database(db, out)

    assert fingerprint(db) == before
    assert sorted(p.name for p in db.parent.iterdir()) == [db.name]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", out.name]  # no temp left
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert check_database(out).ok
    assert result.counts() == {"whole": 9, "partly": 1, "lost": 0}
    six = result.sessions[5]
    assert (six.id, six.participant, six.outcome) == (6, "P06", "partly")
    assert (six.beats_saved, six.beats_expected) == (BEATS - len(lost), BEATS)
    assert six.unreadable == [f"beats seq {lost[0][1]}-{lost[-1][1]}"]
    assert (six.markers, six.phases, six.gaps, six.notifications) == (3, 2, 1, BEATS // 5)
    print(f"figure: {result.summary()} ({six.beats_saved}/{six.beats_expected} beats of "
          f"session 6; page {page} held {len(lost)} beats)")

    conn = sqlite3.connect(out)
    saved = set(conn.execute("SELECT session_id, seq FROM beats").fetchall())
    conn.close()
    every = {(s, q) for s in range(1, N_SESSIONS + 1) for q in range(BEATS)}
    assert saved == every - set(lost)
    shutil.copyfile(pristine, tmp_path / "original.sqlite3")
    with SessionStore(tmp_path / "original.sqlite3") as a, SessionStore(out) as b:
        for sid in [s for s in range(1, N_SESSIONS + 1) if s != 6]:
            same_session(a, b, sid)
        kept = b.load_recording(6)
        full = a.load_recording(6)
        seqs = [q for q in range(BEATS) if (6, q) not in set(lost)]
        np.testing.assert_array_equal(kept.rr_ms, full.rr_ms[seqs])
        assert (kept.markers, kept.phases) == (full.markers, full.phases)
        assert [p.feedback for p in kept.phases] == ["hidden", "shown"]


def test_lost_session_rows_keep_their_beats_under_placeholder_sessions(db, tmp_path):
    overwrite_page(db, root_page(db, "sessions"), seed=3)  # every session row is on it
    before = fingerprint(db)
    assert not check_database(db).ok
    result = repair_database(db, tmp_path / "out.sqlite3")
    assert fingerprint(db) == before
    assert result.counts() == {"whole": 0, "partly": N_SESSIONS, "lost": 0}
    for s in result.sessions:
        assert (s.beats_saved, s.beats_expected, s.metadata_saved) == (BEATS, BEATS, False)
        assert s.unreadable == ["its session row (participant, start, settings)"]
    assert result.not_saved == ["sessions: rows with rowid all are on a damaged page",
                                "sessions: the rows with id all are unreadable; sessions of "
                                "which nothing else was found cannot be counted"]
    with SessionStore(tmp_path / "out.sqlite3") as store:
        rows = store.list_sessions()
        assert [r.n_beats for r in rows] == [BEATS] * N_SESSIONS
        assert {r.status for r in rows} == {"interrupted"} and not rows[0].start_known


def test_a_truncated_file_is_named_and_every_row_in_its_first_half_salvaged(db, pristine,
                                                                            tmp_path):
    data = db.read_bytes()
    kept_pages = len(data) // 2 // 4096
    lost = {key for page, keys in keys_by_page(db, "beats").items() if page > kept_pages
            for key in keys}
    db.write_bytes(data[:kept_pages * 4096])
    before = fingerprint(db)
    checked = check_database(db)
    assert checked.problems == (
        f"{db} is truncated: it has {kept_pages * 4096:,} bytes of the {len(data):,} its "
        f"header announces ({len(data) // 4096:,} pages of 4,096 bytes); the rest of it was "
        "lost",)
    out = tmp_path / "out.sqlite3"
    result = repair_database(db, out)
    assert fingerprint(db) == before
    # The leaves below the b-tree's lost interior pages are read from the file itself.
    conn = sqlite3.connect(out)
    saved = set(conn.execute("SELECT session_id, seq FROM beats").fetchall())
    conn.close()
    every = {(s, q) for s in range(1, N_SESSIONS + 1) for q in range(BEATS)}
    assert saved == every - lost
    assert sum(s.beats_saved for s in result.sessions) == len(every - lost)
    assert [s.id for s in result.sessions] == list(range(1, N_SESSIONS + 1))
    shutil.copyfile(pristine, tmp_path / "original.sqlite3")
    with SessionStore(tmp_path / "original.sqlite3") as a, SessionStore(out) as b:
        for s in result.sessions:
            assert (s.markers, s.phases, s.gaps) == (3, 2, 1)
            full, kept = a.load_recording(s.id), b.load_recording(s.id)
            seqs = sorted(q for sid, q in saved if sid == s.id)
            np.testing.assert_array_equal(kept.rr_ms, full.rr_ms[seqs])
    print(f"figure: truncated at half: {result.summary()}, {len(saved)} of {len(every)} beats")


@pytest.mark.parametrize(("content", "described"), [
    (b"participant,rr_ms\nP01,812\n", "a text file (it starts 'participant,rr_ms')"),
    (b"\x89PNG\r\n\x1a\n" + bytes(200), "a PNG image"),
])
def test_a_file_that_is_not_sqlite_is_named_and_untouched(tmp_path, content, described):
    path = tmp_path / "biofeedback.sqlite3"
    path.write_bytes(content)
    before = fingerprint(path)
    result = check_database(path)
    assert result.problems == (f"{path} is not a SQLite database: it is {described}",)
    assert not result.repairable
    with pytest.raises(DamagedStoreError, match="there is nothing in it to salvage"):
        repair_database(path, tmp_path / "out.sqlite3")
    assert fingerprint(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_newer_schema_is_refused_and_untouched(db, tmp_path):
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = fingerprint(db)
    result = check_database(db)
    assert result.problems == (
        f"{db} was written by a newer biofeedback (schema version 99; this one reads up to "
        f"{schema.SCHEMA_VERSION}):"
        " update biofeedback to open it; it was left as it is",)
    with pytest.raises(DamagedStoreError, match="schema version 99"):
        repair_database(db, tmp_path / "out.sqlite3")
    assert fingerprint(db) == before
    assert not (tmp_path / "out.sqlite3").exists()


def test_a_database_in_use_is_checked_through_a_copy_of_it_and_its_wal(db):
    with SessionStore(db) as store:
        record_sessions(store, 2, 300, first_participant=20)  # in the WAL, not yet in the file
        wal = db.with_name(db.name + "-wal")
        before = fingerprint(db), fingerprint(wal)
        result = check_database(db)
        assert result.ok and (result.sessions, result.beats) == (12, N_SESSIONS * BEATS + 600)
        assert (fingerprint(db), fingerprint(wal)) == before
        store.beat_count(11)  # the writer's connection still works


def test_a_damaged_file_left_with_its_wal_is_read_from_a_copy(db, tmp_path):
    crashed = tmp_path / "crashed"
    crashed.mkdir()
    with SessionStore(db) as store:
        record_sessions(store, 1, 300, first_participant=30)
        for name in (db.name, db.name + "-wal"):  # as a power cut leaves them
            shutil.copyfile(db.with_name(name), crashed / name)
    copy = crashed / db.name
    page, lost = next((p, keys) for p, keys in sorted(keys_by_page(db, "beats").items())
                      if keys and {k[0] for k in keys} == {3} and 200 < keys[0][1] < 1200)
    overwrite_page(copy, page, seed=5)
    before = [fingerprint(p) for p in sorted(crashed.iterdir())]
    assert not check_database(copy).ok
    result = repair_database(copy, tmp_path / "out.sqlite3")
    assert [fingerprint(p) for p in sorted(crashed.iterdir())] == before
    assert result.counts() == {"whole": N_SESSIONS, "partly": 1, "lost": 0}
    assert result.sessions[2].beats_saved == BEATS - len(lost)
    assert result.sessions[10].beats_saved == 300  # the session only the WAL held


def test_repair_never_overwrites_a_file(db, tmp_path):
    overwrite_page(db, next(p for p, k in keys_by_page(db, "beats").items() if k), seed=1)
    out = tmp_path / "taken.sqlite3"
    out.write_text("mine")
    with pytest.raises(StoreError, match="already exists: a repair never overwrites a file"):
        repair_database(db, out)
    assert out.read_text() == "mine"
    with pytest.raises(StoreError, match=r"the folder .*missing does not exist"):
        repair_database(db, tmp_path / "missing" / "out.sqlite3")
