"""Small databases of every schema version, with data in every table, and the data itself.

``tests/data/schema_vN.sqlite3`` is made by applying ``MIGRATIONS[:N]`` of
``biofeedback/store/schema.py`` to an empty file and inserting, with plain SQL, the rows that
version can hold (:data:`DATA_STEPS`: the rows a version's tables take, added at the version
that brought the tables). ``tests/store/test_schema_migrations.py`` opens a copy of each with
the current program and checks that every value reads back (:data:`EXPECTED`).

A new schema version only needs its database made (run this file) and, if its tables should
carry rows, a step in :data:`DATA_STEPS`::

    python tests/schema_dbs.py            # writes the missing tests/data/schema_vN.sqlite3
    python tests/schema_dbs.py --all      # rewrites them all
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from biofeedback.store.schema import MIGRATIONS, migrate

DATA = Path(__file__).resolve().parent / "data"
STARTED = ("2024-03-01T09:00:00.000+00:00", "2024-03-02T10:30:00.000+00:00")
ENDED = ("2024-03-01T09:00:40.000+00:00", "2024-03-02T10:30:20.000+00:00")

# Session 1: 40 beats of a protocol session, some of them artifacts (an ectopic beat removed,
# a missed beat standing for two corrected intervals), a gap, markers and phases.
RR_1 = [round(800.0 + 40.0 * np.sin(i / 3.0), 3) for i in range(40)]
TIME_1 = [round(float(t), 6) for t in np.cumsum(RR_1) / 1000.0]
TIME_1 = [t + (5.0 if i >= 20 else 0.0) for i, t in enumerate(TIME_1)]  # a 5-s gap
ARTIFACT_1 = ["normal"] * 40
ARTIFACT_1[7], ARTIFACT_1[15] = "ectopic", "missed"
CORRECTED_1: list[float | None] = [r + 1.5 for r in RR_1]
CORRECTED_1[7] = None
CORRECTED_1[15] = RR_1[15] / 2
COUNT_1 = [1] * 40
COUNT_1[7], COUNT_1[15] = 0, 2
CONTACT_1 = [1] * 38 + [0, None]
# Session 2: 12 beats of a free session that was interrupted, not yet classified.
RR_2 = [1000.0 + 10.0 * i for i in range(12)]
TIME_2 = [round(float(t), 6) for t in np.cumsum(RR_2) / 1000.0]

ECG_RATE_HZ = 130.0
ECG = (np.sin(np.arange(200) / 5.0) * 1000.0).astype("<f4").reshape(200, 1)
# From v6: raw samples a live source streamed, in blocks of the v6 codec (two ECG blocks with
# 5 samples lost between them, one ACC block).
SIGNAL_ECG = (np.cos(np.arange(300) / 7.0) * 900.0).astype(np.int32).reshape(300, 1)
SIGNAL_ACC = np.stack([np.arange(100) - 50, 3 * np.arange(100), np.full(100, 1000)],
                      axis=1).astype(np.int32)

EXPECTED: dict[str, Any] = {
    "participants": ["P01", "P02"],
    # (id, participant, source, protocol, status, start, duration s, beats), newest first
    "sessions": [(2, "P02", "sim", None, "interrupted", STARTED[1], TIME_2[-1], 12),
                 (1, "P01", "ble", "quiet_rest", "complete", STARTED[0], TIME_1[-1], 40)],
    "gaps": [(TIME_1[19], TIME_1[20], "link_loss")],
    "markers": [(2.0, 0.0, "start", "protocol", {}),
                (10.5, 3.0, "felt calm", "self_report", {"calm": 4})],
    "phases": [("baseline", "Baseline", "rest", 0.0, 20.0, None, "rest"),
               ("breathing", "Paced breathing", "practice", 20.0, TIME_1[-1], "paced", "practice")],
    # feedback of each phase, from version 5 (None before: it was not recorded)
    "feedback": ["hidden", "shown"],
    "study": {"name": "S1", "conditions": ["a", "b"], "participant": "P01",
              "order": ["b", "a"], "position": 1},
    # (stream, first_index, t0_s, rate_hz, samples) of each raw signal block, from version 6
    "signal_blocks": [("ecg", 0, 1.25, 130.05, SIGNAL_ECG[:200]),
                      ("ecg", 205, 1.25 + 205 / 130.05, 130.05, SIGNAL_ECG[200:]),
                      ("acc", 0, 1.5, 200.0, SIGNAL_ACC)],
    "channel": {"name": "ECG", "kind": "ecg", "unit": "uV", "rate_hz": ECG_RATE_HZ,
                "start_s": -0.5, "columns": ["ecg"], "samples": ECG, "file": "ecg.txt"},
}
"""What each database holds (``study`` from version 2, ``channel`` from version 3,
``feedback`` from version 5, ``signal_blocks`` from version 6)."""


def _v1(conn: sqlite3.Connection) -> None:
    for pid in EXPECTED["participants"]:
        conn.execute("INSERT INTO participants (id, created_utc) VALUES (?, ?)",
                     (pid, STARTED[0]))
    conn.execute(
        "INSERT INTO sessions (id, participant_id, status, source, device_info, protocol_id,"
        " settings, versions, started_utc, ended_utc, duration_s) VALUES"
        " (1, 'P01', 'complete', 'ble', ?, 'quiet_rest', ?, ?, ?, ?, ?)",
        (json.dumps({"name": "Polar H10 A1B2C3D4"}), json.dumps({"source": {"kind": "ble"}}),
         json.dumps({"biofeedback": "0.1"}), STARTED[0], ENDED[0], TIME_1[-1]))
    conn.execute(
        "INSERT INTO sessions (id, participant_id, status, source, started_utc, ended_utc,"
        " duration_s) VALUES (2, 'P02', 'interrupted', 'sim', ?, ?, ?)",
        (STARTED[1], ENDED[1], TIME_2[-1]))
    for sid, rr, times in ((1, RR_1, TIME_1), (2, RR_2, TIME_2)):
        for n in range(0, len(rr), 4):  # a notification per 4 beats
            conn.execute("INSERT INTO notifications VALUES (?, ?, ?, ?, ?)",
                         (sid, n // 4, times[min(n + 3, len(rr) - 1)], 70.0, 4))
    conn.executemany(
        "INSERT INTO beats VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, TIME_1[i], TIME_1[i] + 0.01, RR_1[i], CORRECTED_1[i], COUNT_1[i], ARTIFACT_1[i],
          CONTACT_1[i]) for i in range(40)])
    conn.executemany(
        "INSERT INTO beats (session_id, seq, time_s, received_s, rr_ms) VALUES (2, ?, ?, ?, ?)",
        [(i, TIME_2[i], TIME_2[i], RR_2[i]) for i in range(12)])
    for start, end, reason in EXPECTED["gaps"]:
        conn.execute("INSERT INTO gaps (session_id, start_s, end_s, reason) VALUES (1, ?, ?, ?)",
                     (start, end, reason))
    for onset, duration, label, kind, extra in EXPECTED["markers"]:
        conn.execute("INSERT INTO markers (session_id, onset_s, duration_s, label, kind, extra)"
                     " VALUES (1, ?, ?, ?, ?, ?)", (onset, duration, label, kind,
                                                    json.dumps(extra)))
    for phase in EXPECTED["phases"]:
        conn.execute("INSERT INTO phases (session_id, phase_id, name, kind, start_s, end_s,"
                     " practice, category) VALUES (1, ?, ?, ?, ?, ?, ?, ?)", phase)


def _v2(conn: sqlite3.Connection) -> None:
    study = EXPECTED["study"]
    conn.execute("INSERT INTO studies (id, name, created_utc, conditions) VALUES (1, ?, ?, ?)",
                 (study["name"], STARTED[0], json.dumps(study["conditions"])))
    conn.execute("INSERT INTO study_participants VALUES (1, ?, 0, ?, ?)",
                 (study["participant"], json.dumps(study["order"]), STARTED[0]))
    conn.execute("UPDATE sessions SET study_id = 1, condition_order = ?, condition_position = ?"
                 " WHERE id = 1", (json.dumps(study["order"]), study["position"]))


def _v3(conn: sqlite3.Connection) -> None:
    ch = EXPECTED["channel"]
    conn.execute(
        "INSERT INTO channels (id, session_id, name, kind, unit, sampling_rate_hz, start_s,"
        " columns, n_samples, sample_format, source_file)"
        " VALUES (1, 1, ?, ?, ?, ?, ?, ?, ?, '<f4', ?)",
        (ch["name"], ch["kind"], ch["unit"], ch["rate_hz"], ch["start_s"],
         json.dumps(ch["columns"]), len(ch["samples"]), ch["file"]))
    samples = ch["samples"]
    for index, start in enumerate(range(0, len(samples), 128)):  # two chunks
        conn.execute("INSERT INTO channel_chunks VALUES (1, ?, ?)",
                     (index, samples[start:start + 128].tobytes()))


def _v5(conn: sqlite3.Connection) -> None:
    for phase, feedback in zip(EXPECTED["phases"], EXPECTED["feedback"], strict=True):
        conn.execute("UPDATE phases SET feedback = ? WHERE session_id = 1 AND phase_id = ?",
                     (feedback, phase[0]))


def _v6(conn: sqlite3.Connection) -> None:
    from biofeedback.core.signals import SIGNAL_STREAMS
    from biofeedback.store.signal_blocks import ENCODING, encode_block

    for stream, first, t0, rate, samples in EXPECTED["signal_blocks"]:
        unit, channels = SIGNAL_STREAMS[stream]
        conn.execute(
            "INSERT INTO signal_blocks (session_id, stream, first_index, t0_s, rate_hz,"
            " n_samples, channels, unit, encoding, data) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (stream, first, t0, rate, len(samples), json.dumps(list(channels)), unit, ENCODING,
             encode_block(samples)))


DATA_STEPS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _v1, 2: _v2, 3: _v3, 5: _v5, 6: _v6}
"""Rows added at the schema version that brought their tables."""


def database_path(version: int) -> Path:
    """``tests/data/schema_vN.sqlite3``."""
    return DATA / f"schema_v{version}.sqlite3"


def make_database(path: Path, version: int) -> Path:
    """Write a database of schema ``version`` with the rows it can hold (small: 512-B pages,
    no WAL, vacuumed)."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA page_size = 512")
        conn.execute("PRAGMA journal_mode = DELETE")
        migrate(conn, MIGRATIONS[:version])
        conn.execute("BEGIN")
        for step in sorted(DATA_STEPS):
            if step <= version:
                DATA_STEPS[step](conn)
        conn.execute("COMMIT")
        conn.execute("VACUUM")
    finally:
        conn.close()
    return path


def main() -> None:
    """Write the missing ``tests/data/schema_vN.sqlite3`` up to the newest version (``--all``
    rewrites the existing ones too: they stand for users' databases, so rarely)."""
    rewrite = "--all" in sys.argv[1:]
    for version in range(1, len(MIGRATIONS) + 1):
        path = database_path(version)
        if path.exists() and not rewrite:
            continue
        make_database(path, version)
        print(f"{path.relative_to(DATA.parent.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()


def schema_of(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    """The database's tables, indexes and their SQL (what a version's schema is)."""
    return {(kind, name, " ".join((sql or "").split())) for kind, name, sql in conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}


def reference_schema(version: int) -> set[tuple[str, str, str]]:
    """The schema an empty database has after ``MIGRATIONS[:version]``."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, MIGRATIONS[:version])
        return schema_of(conn)
    finally:
        conn.close()


def table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table."""
    tables = [name for (name,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {t: int(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]) for t in tables}


def assert_data(store: Any, version: int) -> None:
    """Assert that a store opened on ``schema_vN`` (``version``) reads back every value.

    ``store`` is a :class:`~biofeedback.store.database.SessionStore`.
    """
    from biofeedback.store.studies import get_study, session_study, study_sessions

    sessions = [(s.id, s.participant_id, s.source, s.protocol_id, s.status, s.started_utc,
                 s.duration_s, s.n_beats) for s in store.list_sessions()]
    assert sessions == EXPECTED["sessions"], sessions
    rec = store.load_recording(1)
    np.testing.assert_array_equal(rec.rr_ms, RR_1)
    np.testing.assert_array_equal(rec.time_s, TIME_1)
    np.testing.assert_array_equal(rec.rr_corrected_ms,
                                  [np.nan if c is None else c for c in CORRECTED_1])
    np.testing.assert_array_equal(rec.corrected_count, COUNT_1)
    assert list(rec.artifact) == ARTIFACT_1
    np.testing.assert_array_equal(rec.sensor_contact,
                                  [np.nan if c is None else c for c in CONTACT_1])
    assert [(g.start_s, g.end_s, str(g.reason)) for g in rec.gaps] == EXPECTED["gaps"]
    assert [(m.onset_s, m.duration_s, m.label, str(m.kind), m.extra) for m in rec.markers] == \
        EXPECTED["markers"]
    assert [(p.phase_id, p.name, p.kind, p.start_s, p.end_s, p.practice, p.category)
            for p in rec.phases] == EXPECTED["phases"]
    # Older databases did not record it: None ("not recorded"), never a guessed value.
    assert [p.feedback for p in rec.phases] == (
        EXPECTED["feedback"] if version >= 5 else [None] * len(EXPECTED["phases"]))
    info = store.session_info(1)
    assert info.device_info == {"name": "Polar H10 A1B2C3D4"}
    assert info.settings == {"source": {"kind": "ble"}}
    assert info.versions == {"biofeedback": "0.1"}
    assert info.ended_utc == ENDED[0]
    second = store.load_recording(2)
    np.testing.assert_array_equal(second.rr_ms, RR_2)
    np.testing.assert_array_equal(second.time_s, TIME_2)
    assert list(second.artifact) == [""] * 12
    if version >= 2:
        study = EXPECTED["study"]
        stored = get_study(store, study["name"])
        assert stored.conditions == tuple(study["conditions"])
        assert [(e.participant_id, e.enrol_index, e.condition_order)
                for e in stored.participants] == [(study["participant"], 0,
                                                   tuple(study["order"]))]
        placed = session_study(store, 1)
        assert placed is not None
        assert (placed.study, placed.condition_order, placed.condition_position) == \
            (study["name"], tuple(study["order"]), study["position"])
        assert [s.session_id for s in study_sessions(store, study["name"])] == [1]
        assert session_study(store, 2) is None
    blocks = [(c.stream, c.first_index, c.t0_s, c.rate_hz, c.samples)
              for stream in ("acc", "ecg") for c in store.load_signal_chunks(1, stream)]
    expected = sorted(EXPECTED["signal_blocks"], key=lambda b: (b[0], b[1])) \
        if version >= 6 else []
    assert [b[:4] for b in blocks] == [b[:4] for b in expected]
    for got, want in zip(blocks, expected, strict=True):
        np.testing.assert_array_equal(got[4], want[4])
    assert store.signal_streams(2) == []
    channels = store.load_channels(1)
    if version >= 3:
        ch = EXPECTED["channel"]
        assert [(c.name, c.kind, c.unit, c.sampling_rate_hz, c.start_s, c.columns,
                 c.source_file) for c in channels] == [
            (ch["name"], ch["kind"], ch["unit"], ch["rate_hz"], ch["start_s"],
             tuple(ch["columns"]), ch["file"])]
        np.testing.assert_array_equal(channels[0].samples, ch["samples"].astype(np.float64))
    else:
        assert channels == []
