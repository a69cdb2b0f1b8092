"""Raw channels in the store: schema V3, round trip, cascade, atomic import, migration."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from biofeedback.core.channels import RawChannel
from biofeedback.core.errors import SessionNotFoundError, StoreError
from biofeedback.core.recording import Recording
from biofeedback.core.types import Gap, GapReason, Marker, MarkerKind
from biofeedback.store import BeatClassification, SessionStore, schema
from biofeedback.store.database import CHUNK_ROWS


def recording(n: int = 20) -> Recording:
    rr = np.full(n, 800.0)
    rec = Recording(rr_ms=rr, time_s=np.cumsum(rr) / 1000.0,
                    gaps=[Gap(4.0, 6.0, GapReason.LINK_LOSS)],
                    markers=[Marker(2.0, 0.0, "start", MarkerKind.USER, {})])
    return rec


def acc_channel(n: int = 1000) -> RawChannel:
    rng = np.random.default_rng(3)
    # mg values as a 16-bit accelerometer delivers them (whole mg)
    samples = np.round(rng.normal(0.0, 500.0, size=(n, 3)))
    return RawChannel("ACC", "acc", "mg", 200.0, 0.125, ("x", "y", "z"), samples, "acc.txt")


def ecg_channel(n: int = CHUNK_ROWS * 2 + 17) -> RawChannel:
    t = np.arange(n) / 130.0
    # 130 Hz ECG in uV with a 0.1 uV resolution, more than two chunks long
    samples = np.round(1000.0 * np.sin(2 * np.pi * 1.2 * t) + 37.3, 1)[:, None]
    return RawChannel("ECG", "ecg", "uV", 130.0, -0.5, ("ecg",), samples, "ecg.txt")


def test_schema_is_current_and_foreign_keys_are_on(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        conn = store._conn
        assert schema.SCHEMA_VERSION == 6
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 6
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"channels", "channel_chunks"} <= tables


def test_channels_round_trip_through_a_real_file(tmp_path):
    path = tmp_path / "s.sqlite3"
    acc, ecg = acc_channel(), ecg_channel()
    with SessionStore(path) as store:
        sid = store.import_recording(recording(), source="import", channels=[acc, ecg],
                                     started_utc="2021-03-12T10:15:30")
    with SessionStore(path) as store:
        loaded = store.load_channels(sid)
        info = store.session_info(sid)
        n_chunks = store._conn.execute(
            "SELECT COUNT(*) FROM channel_chunks c JOIN channels h ON h.id = c.channel_id"
            " WHERE h.name = 'ECG'").fetchone()[0]
        fmt = dict(store._conn.execute("SELECT name, sample_format FROM channels"))
    assert info.started_utc == "2021-03-12T10:15:30"
    assert [c.name for c in loaded] == ["ACC", "ECG"]
    back_acc, back_ecg = loaded
    assert back_acc.columns == ("x", "y", "z") and back_acc.unit == "mg"
    assert back_acc.sampling_rate_hz == 200.0 and back_acc.start_s == 0.125
    assert back_acc.source_file == "acc.txt" and back_acc.kind == "acc"
    assert back_acc.samples.shape == (1000, 3) and back_acc.samples.dtype == np.float64
    np.testing.assert_array_equal(back_acc.samples, acc.samples)  # whole mg: exact in float32
    assert back_ecg.samples.shape == (CHUNK_ROWS * 2 + 17, 1)
    assert back_ecg.start_s == -0.5
    assert n_chunks == 3
    assert fmt == {"ACC": "<f4", "ECG": "<f4"}
    # float32 keeps 0.1 uV steps of a +-1 mV ECG to far better than the 0.1 uV resolution
    assert np.max(np.abs(back_ecg.samples - ecg.samples)) < 1e-3
    assert back_ecg.samples[5, 0] == pytest.approx(ecg.samples[5, 0], abs=1e-4)


def test_a_session_without_channels_loads_none_and_a_missing_one_is_an_error(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        sid = store.import_recording(recording(), source="import")
        assert store.load_channels(sid) == []
        with pytest.raises(SessionNotFoundError):
            store.load_channels(sid + 1)


def test_deleting_a_session_deletes_its_channels_and_chunks(tmp_path):
    with SessionStore(tmp_path / "s.sqlite3") as store:
        keep = store.import_recording(recording(), source="import", channels=[acc_channel()])
        gone = store.import_recording(recording(), source="import",
                                      channels=[acc_channel(), ecg_channel()])
        store.delete_session(gone)
        conn = store._conn
        assert conn.execute("SELECT session_id FROM channels").fetchall() == [(keep,)]
        chunk_owners = conn.execute("SELECT DISTINCT channel_id FROM channel_chunks").fetchall()
        assert chunk_owners == conn.execute("SELECT id FROM channels").fetchall()
        assert len(store.load_channels(keep)) == 1


@pytest.mark.parametrize("bad", ["nan", "inf", "shape"])
def test_a_bad_channel_leaves_no_session_beats_or_channels(tmp_path, bad):
    good = acc_channel()
    samples = ecg_channel(500).samples.copy()
    if bad == "nan":
        samples[321, 0] = np.nan
    elif bad == "inf":
        samples[7, 0] = np.inf
    else:
        samples = np.zeros((500, 2))
    broken = RawChannel("ECG", "ecg", "uV", 130.0, 0.0, ("ecg",), samples, "ecg.txt")
    with SessionStore(tmp_path / "s.sqlite3") as store:
        with pytest.raises(StoreError) as err:
            store.import_recording(recording(), source="import", participant_id="P07",
                                   channels=[good, broken])
        if bad == "nan":
            assert "sample 321 is not a finite number" in str(err.value)
        conn = store._conn
        for table in ("sessions", "beats", "gaps", "markers", "channels", "channel_chunks",
                      "participants"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_a_failure_midway_rolls_back_everything(tmp_path):
    # classes for beats are written, then a constraint fails on the second channel's insert
    rec = recording()
    classes = [BeatClassification(i, "normal", (800.0,)) for i in range(rec.n_beats)]
    zero_rate = RawChannel("ECG", "ecg", "uV", 130.0, 0.0, ("ecg",), np.zeros((10, 1)), "e")
    with SessionStore(tmp_path / "s.sqlite3") as store:
        # bypass the up-front check so the CHECK constraint of the table is what fails
        blocks = store._insert_channel
        calls = []

        def failing(session_id, channel, fmt, chunks):
            calls.append(channel.name)
            if len(calls) == 2:
                raise sqlite3.IntegrityError("CHECK constraint failed: simulated")
            blocks(session_id, channel, fmt, chunks)

        store._insert_channel = failing  # type: ignore[method-assign]
        with pytest.raises(StoreError, match="CHECK constraint failed: simulated"):
            store.import_recording(rec, source="import", classified=classes,
                                   channels=[acc_channel(), zero_rate])
        assert calls == ["ACC", "ECG"]
        conn = store._conn
        for table in ("sessions", "beats", "channels", "channel_chunks"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0, table


def test_migrating_a_v2_database_file_keeps_its_sessions(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    assert schema.migrate(conn, schema.MIGRATIONS[:2]) == 2
    conn.execute(
        "INSERT INTO sessions (id, status, source, started_utc) VALUES (4, 'complete',"
        " 'import', '2020-01-01T00:00:00+00:00')")
    conn.execute("INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms)"
                 " VALUES (4, 0, 0.8, 0.8, 800.0)")
    conn.close()
    with SessionStore(path) as store:
        assert store._conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
        assert store.beat_count(4) == 1
        assert store.load_channels(4) == []
        sid = store.import_recording(recording(), source="import", channels=[acc_channel(10)])
        assert store.load_channels(sid)[0].samples.shape == (10, 3)
