"""The SQLite session store: durability, layout, migrations, interrupted sessions."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys

import numpy as np
import pytest

from biofeedback.core.errors import DamagedStoreError, SessionNotFoundError, StoreError
from biofeedback.core.recording import Recording
from biofeedback.core.types import Beat, BeatBatch, Gap, GapReason, Marker, MarkerKind, PhaseSpan
from biofeedback.store import (
    BeatClassification,
    SessionStore,
    database_path,
    resolve_data_dir,
    schema,
)


def batch(t: float, rrs: list[float], start: float, first_seq: int = 0) -> BeatBatch:
    """A notification of ``rrs`` (ms) numbered from ``first_seq``, as a session numbers it."""
    beats, time_s = [], start
    for k, rr in enumerate(rrs):
        time_s += rr / 1000
        beats.append(Beat(rr, time_s, t, True, first_seq + k))
    return BeatBatch(t, tuple(beats), 60.0)


def test_data_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("BIOFEEDBACK_DATA_DIR", raising=False)
    assert "biofeedback" in str(resolve_data_dir())
    monkeypatch.setenv("BIOFEEDBACK_DATA_DIR", str(tmp_path / "env"))
    assert resolve_data_dir() == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "flag") == tmp_path / "flag"
    assert database_path(tmp_path).name == "biofeedback.sqlite3"


def test_new_database_is_private_wal_and_current(tmp_path):
    with SessionStore.open(tmp_path / "d") as store:
        mode = stat.S_IMODE(store.path.stat().st_mode)
        assert mode == 0o600
        assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
        conn = sqlite3.connect(store.path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        sid = store.create_session(source="sim")
        store.append_notification(sid, 0, batch(1.0, [800.0], 0.0, first_seq=0))
        wal = store.path.with_name(store.path.name + "-wal")
        assert wal.exists() and stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_each_notification_is_visible_to_another_connection_at_once(tmp_path):
    with SessionStore.open(tmp_path) as store:
        sid = store.create_session(source="sim", participant_id="P01")
        store.append_notification(sid, 0, batch(1.0, [800.0, 810.0], 0.0, first_seq=0))
        other = sqlite3.connect(store.path)
        assert other.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 2
        store.append_notification(sid, 1, batch(2.0, [820.0], 1.61, first_seq=2))
        assert other.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == 3
        assert other.execute("SELECT status FROM sessions").fetchone()[0] == "recording"


def test_round_trip_of_beats_classes_gaps_markers_phases(tmp_path):
    with SessionStore.open(tmp_path) as store:
        sid = store.create_session(
            source="sim", participant_id="P01", protocol_id="resonance",
            device_info={"model": "X"}, settings={"seed": 3}, versions={"numpy": "2"},
        )
        row = store.start_phase(sid, PhaseSpan("baseline", "Baseline", "baseline", 0.0, 0.0))
        store.append_notification(sid, 0, batch(1.0, [800.0, 1600.0], 0.0, first_seq=0))
        store.append_notification(
            sid, 1, batch(4.0, [810.0], 3.0, first_seq=2),
            [BeatClassification(0, "normal", (800.0,)),
             BeatClassification(1, "missed", (800.0, 800.0))],
            [Gap(2.4, 3.0, GapReason.CLOCK_DRIFT)],
        )
        store.add_marker(sid, Marker(2.0, 0.0, "itch", MarkerKind.USER, {"note": "left"}))
        store.end_phase(row, 3.5)
        store.finish_session(sid)
        rec = store.load_recording(sid)
        info = store.session_info(sid)
    np.testing.assert_allclose(rec.rr_ms, [800.0, 1600.0, 810.0])
    np.testing.assert_allclose(rec.time_s, [0.8, 2.4, 3.81])
    assert list(rec.artifact) == ["normal", "missed", ""]
    np.testing.assert_allclose(rec.rr_corrected_ms[:2], [800.0, 800.0])
    assert np.isnan(rec.rr_corrected_ms[2])
    assert list(rec.corrected_count) == [1, 2, 0]
    assert rec.gaps == [Gap(2.4, 3.0, GapReason.CLOCK_DRIFT)]
    assert rec.markers[0].label == "itch" and rec.markers[0].extra == {"note": "left"}
    assert rec.phases == [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 3.5)]
    assert list(rec.segment_ids()) == [0, 0, 1]
    assert info.status == "complete" and info.duration_s == pytest.approx(3.81)
    assert info.device_info == {"model": "X"} and info.settings == {"seed": 3}
    assert info.participant_id == "P01" and info.protocol_id == "resonance"


def test_feedback_shown_or_hidden_is_stored_with_each_phase(tmp_path):
    stressor = PhaseSpan("stressor", "Stressor", "stressor", 0.0, 0.0, feedback="hidden")
    practice = PhaseSpan("practice", "Resonance", "practice", 60.0, 60.0, "resonance",
                         "breathing", "shown")
    imported = [PhaseSpan("baseline", "Baseline", "baseline", 0.0, 1.0),
                PhaseSpan("practice", "Practice", "practice", 1.0, 2.0, feedback="hidden")]
    with SessionStore.open(tmp_path) as store:
        sid = store.create_session(source="sim")
        store.end_phase(store.start_phase(sid, stressor), 60.0)
        store.start_phase(sid, practice)  # still running: it ends at the last beat, 70.8 s
        store.append_notification(sid, 0, batch(70.0, [800.0], 70.0, first_seq=0))
        rec = store.load_recording(sid)
        copy = store.import_recording(
            Recording(np.array([800.0, 810.0]), np.array([0.8, 1.61]), phases=imported),
            source="import")
        copied = store.load_recording(copy).phases
        with pytest.raises(StoreError, match="CHECK constraint failed"):
            store.start_phase(sid, PhaseSpan("x", "X", "rest", 1.0, 1.0, feedback="maybe"))
    assert [(p.phase_id, p.end_s, p.feedback) for p in rec.phases] == [
        ("stressor", 60.0, "hidden"), ("practice", 70.8, "shown")]
    assert copied == imported
    assert [p.feedback for p in copied] == [None, "hidden"]


def test_raw_rr_is_never_changed_by_classification(tmp_path):
    with SessionStore.open(tmp_path) as store:
        sid = store.create_session(source="sim")
        store.append_notification(sid, 0, batch(1.0, [400.0], 0.0, first_seq=0))
        store.write_classes(sid, [BeatClassification(0, "extra", ())])
        rec = store.load_recording(sid)
    assert rec.rr_ms[0] == 400.0 and rec.artifact[0] == "extra" and rec.corrected_count[0] == 0


def test_the_detectors_classified_beats_are_stored_as_they_are(tmp_path):
    """The session hands ClassifiedBeat over unchanged; rows equal the plain classification."""
    from biofeedback.core.types import ArtifactClass
    from biofeedback.live.artifacts import ClassifiedBeat

    def rows(classified) -> list[tuple]:
        with SessionStore.open(tmp_path / str(len(list(tmp_path.iterdir())))) as store:
            sid = store.create_session(source="sim")
            store.append_notification(sid, 0, batch(1.0, [800.0, 1600.0], 0.0, first_seq=0))
            store.append_notification(sid, 1, batch(2.0, [810.0], 2.4, first_seq=2), classified[:1])
            store.write_classes(sid, classified[1:])
            return store._conn.execute(
                "SELECT seq, artifact, rr_corrected_ms, corrected_count FROM beats ORDER BY seq"
            ).fetchall()

    detector = [
        ClassifiedBeat(0, 800.0, 0.8, ArtifactClass.NORMAL, (800.0,)),
        ClassifiedBeat(1, 1600.0, 2.4, ArtifactClass.MISSED, (800.0, 800.0)),
    ]
    plain = [BeatClassification(0, "normal", (800.0,)),
             BeatClassification(1, "missed", (800.0, 800.0))]
    stored = rows(detector)
    assert stored == rows(plain)
    assert stored[:2] == [(0, "normal", 800.0, 1), (1, "missed", 800.0, 2)]
    assert type(stored[1][1]) is str  # the enum's value, not its repr


def test_participant_ids_must_be_pseudonymous_tokens(tmp_path):
    with SessionStore.open(tmp_path) as store, pytest.raises(StoreError, match="participant"):
        store.create_session(source="sim", participant_id="Jane Doe")


def test_unknown_session_is_a_clear_error(tmp_path):
    with SessionStore.open(tmp_path) as store, pytest.raises(SessionNotFoundError, match="42"):
        store.load_recording(42)


def test_migration_path_from_older_schema_and_refusal_of_newer(tmp_path):
    path = tmp_path / "db.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
    assert schema.migrate(conn, (*schema.MIGRATIONS, extra)) == schema.SCHEMA_VERSION + 1
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"sessions", "beats", "notes"} <= tables
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match=r"written by a newer version of biofeedback \(database "
                       rf"schema v{schema.SCHEMA_VERSION + 1}; this program reads up to "
                       rf"v{schema.SCHEMA_VERSION}\); it was left as it is"):
        SessionStore(path)
    assert path.read_bytes() == before


def test_failed_migration_leaves_version_unchanged(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    with pytest.raises(sqlite3.OperationalError):
        schema.migrate(conn, ("CREATE TABLE a (x INT);", "CREATE TABLE b (; broken"))
    assert schema.schema_version(conn) == 1


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "biofeedback.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DamagedStoreError, match="is not a biofeedback database: it is not an "
                       "SQLite file"):
        SessionStore(path)
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_session_of_dead_process_becomes_interrupted(tmp_path):
    code = (
        "import sys\n"
        "from biofeedback.store import SessionStore\n"
        "from biofeedback.core.types import Beat, BeatBatch\n"
        "s = SessionStore(sys.argv[1])\n"
        "sid = s.create_session(source='sim')\n"
        "s.append_notification(sid, 0, BeatBatch(1.0, (Beat(800.0, 0.8, 1.0, None, 0),)))\n"
        "print(sid)\n"
        "import os; os._exit(0)\n"  # no finish_session: as if killed
    )
    path = tmp_path / "db.sqlite3"
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                         text=True, check=True)
    sid = int(out.stdout.strip())
    with SessionStore(path) as store:
        info = store.session_info(sid)
        assert info.status == "interrupted"
        assert info.duration_s == pytest.approx(0.8)
        assert store.beat_count(sid) == 1


def test_live_session_of_this_process_stays_recording(tmp_path):
    with SessionStore(tmp_path / "db") as store:
        sid = store.create_session(source="sim")
        with SessionStore(tmp_path / "db") as second:
            assert second.reconcile_interrupted() == []
            assert second.session_info(sid).status == "recording"


def test_list_sessions_counts_beats_and_durations(tmp_path):
    with SessionStore(tmp_path / "db") as store:
        a = store.create_session(source="sim", participant_id="P1")
        store.append_notification(a, 0, batch(1.0, [800.0, 800.0], 0.0, first_seq=0))
        store.finish_session(a)
        b = store.create_session(source="replay")
        rows = store.list_sessions()
        assert [r.id for r in rows] == [b, a]
        assert rows[1].n_beats == 2 and rows[1].duration_s == pytest.approx(1.6)
        assert rows[0].status == "recording"
        assert [r.id for r in store.list_sessions("P1")] == [a]


def test_the_write_ahead_log_is_cut_back_after_a_big_transaction(tmp_path):
    from biofeedback.store.connection import JOURNAL_SIZE_LIMIT_BYTES

    path = tmp_path / "s.sqlite3"
    with SessionStore(path) as store:
        conn = store._conn
        assert conn.execute("PRAGMA journal_size_limit").fetchone()[0] == JOURNAL_SIZE_LIMIT_BYTES
        conn.execute("PRAGMA journal_size_limit = 65536")  # small, to see it work quickly
        rr = np.full(50_000, 800.0)
        store.import_recording(Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0),
                               source="import")
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size > 1_000_000
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        store.create_session(source="sim")  # starts the log over, cut back to the limit
        assert wal.stat().st_size <= 65536


def test_a_session_id_beyond_sqlites_integers_is_not_found(store):
    with pytest.raises(SessionNotFoundError, match="no session 99999999999999999999"):
        store.load_recording(99999999999999999999)
