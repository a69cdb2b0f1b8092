"""Schema of the session database and the migrations that reach it.

Each entry of :data:`MIGRATIONS` takes the database from version ``i`` to ``i + 1``; a new
schema version is added by appending a script, never by editing an old one.
"""

from __future__ import annotations

import sqlite3
from typing import Final

_V1: Final = """
CREATE TABLE participants (
    id          TEXT PRIMARY KEY,           -- pseudonymous id chosen by the study, never a name
    created_utc TEXT NOT NULL,
    notes       TEXT NOT NULL DEFAULT ''
);

CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY,
    participant_id TEXT REFERENCES participants(id),
    status         TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
    source         TEXT NOT NULL,
    device_info    TEXT NOT NULL DEFAULT '{}',   -- JSON
    protocol_id    TEXT,
    settings       TEXT NOT NULL DEFAULT '{}',   -- JSON: source, pipeline and protocol settings
    versions       TEXT NOT NULL DEFAULT '{}',   -- JSON: software versions
    started_utc    TEXT NOT NULL,                -- wall clock at session time 0, ISO 8601
    ended_utc      TEXT,
    duration_s     REAL,
    owner_host     TEXT,                         -- which process is writing it, to tell a
    owner_pid      INTEGER,                      -- live recording from one whose process died
    owner_started  REAL,
    notes          TEXT NOT NULL DEFAULT ''
);

CREATE TABLE notifications (
    session_id     INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    received_s     REAL NOT NULL,
    heart_rate_bpm REAL,
    n_rr           INTEGER NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE beats (
    session_id      INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    time_s          REAL NOT NULL,
    received_s      REAL NOT NULL,
    rr_ms           REAL NOT NULL,     -- raw, as the sensor sent it; never updated
    rr_corrected_ms REAL,              -- NULL while pending or when the beat was removed
    corrected_count INTEGER,           -- corrected intervals this beat stands for (0, 1, 2...)
    artifact        TEXT,              -- ArtifactClass; NULL while the look-ahead is pending
    sensor_contact  INTEGER,           -- 1, 0, or NULL when not reported
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE TABLE gaps (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    start_s    REAL NOT NULL,
    end_s      REAL NOT NULL,
    reason     TEXT NOT NULL
);
CREATE INDEX gaps_session ON gaps(session_id, start_s);

CREATE TABLE markers (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    onset_s    REAL NOT NULL,
    duration_s REAL NOT NULL DEFAULT 0,
    label      TEXT NOT NULL,
    kind       TEXT NOT NULL,
    extra      TEXT NOT NULL DEFAULT '{}'   -- JSON
);
CREATE INDEX markers_session ON markers(session_id, onset_s);

CREATE TABLE phases (
    id         INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    phase_id   TEXT NOT NULL,
    name       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    start_s    REAL NOT NULL,
    end_s      REAL,                        -- NULL while the phase runs
    practice   TEXT,
    category   TEXT
);
CREATE INDEX phases_session ON phases(session_id, start_s);
"""

_V2: Final = """
CREATE TABLE studies (
    id                      INTEGER PRIMARY KEY,
    name                    TEXT NOT NULL UNIQUE,
    created_utc             TEXT NOT NULL,
    conditions              TEXT NOT NULL,               -- JSON list of condition names
    exclusion_threshold_pct REAL NOT NULL DEFAULT 5.0,   -- max % corrected beats per phase
    settings                TEXT NOT NULL DEFAULT '{}'   -- JSON
);

CREATE TABLE study_participants (
    study_id        INTEGER NOT NULL REFERENCES studies(id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL REFERENCES participants(id),
    enrol_index     INTEGER NOT NULL,                    -- 0-based, in order of enrolment
    condition_order TEXT NOT NULL,                       -- JSON list of condition names
    enrolled_utc    TEXT NOT NULL,
    PRIMARY KEY (study_id, participant_id),
    UNIQUE (study_id, enrol_index)
) WITHOUT ROWID;

ALTER TABLE sessions ADD COLUMN study_id INTEGER REFERENCES studies(id);
ALTER TABLE sessions ADD COLUMN condition_order TEXT;     -- JSON list, as enrolled
ALTER TABLE sessions ADD COLUMN condition_position INTEGER;  -- 0-based index in that order
CREATE INDEX sessions_study ON sessions(study_id, participant_id);
"""

# Raw channels (ECG, acceleration) kept with a session. The samples are cut into chunks of
# rows (row-major, little-endian) so that a day of 1 kHz ECG is not one 350 MB value that
# SQLite must hold in memory at once. channel_chunks keeps its rowid on purpose: SQLite
# advises against WITHOUT ROWID tables for rows this large (hundreds of KB).
_V3: Final = """
CREATE TABLE channels (
    id               INTEGER PRIMARY KEY,
    session_id       INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL,               -- 'ecg', 'acc'
    unit             TEXT NOT NULL,
    sampling_rate_hz REAL NOT NULL CHECK (sampling_rate_hz > 0),
    start_s          REAL NOT NULL,               -- session time of the first sample
    columns          TEXT NOT NULL,               -- JSON list of column names
    n_samples        INTEGER NOT NULL CHECK (n_samples >= 0),
    sample_format    TEXT NOT NULL CHECK (sample_format IN ('<f4', '<f8')),
    source_file      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX channels_session ON channels(session_id);

CREATE TABLE channel_chunks (
    channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    chunk_index INTEGER NOT NULL,
    data        BLOB NOT NULL,                    -- rows of sample_format, row-major
    PRIMARY KEY (channel_id, chunk_index)
);
"""

# Why an interrupted session ended ("disk full", "the recording process ended without finishing
# the session"), stored as soon as it can be written.
_V4: Final = """
ALTER TABLE sessions ADD COLUMN end_reason TEXT;
"""

# Whether the participant saw their own physiology during a phase ('shown' or 'hidden'):
# watching it is itself an intervention, so the report's methods must be able to say so.
# NULL for phases stored before it was recorded, and for imported recordings.
_V5: Final = """
ALTER TABLE phases ADD COLUMN feedback TEXT CHECK (feedback IN ('shown', 'hidden'));
"""

# Raw samples a live source streams (a Polar H10's ECG at 130 Hz, its accelerometer at 25-200
# Hz), written as they arrive: a block per ~1-2 s of one stream, its int32 samples encoded by
# biofeedback/store/signal_blocks.py (ENCODING names the codec). Sample i of a block is at
# session time t0_s + i / rate_hz; first_index numbers samples since the stream started, so a
# jump between blocks is samples lost. Kept apart from channels (v3), which holds imported
# float signals of a whole file in fixed-size chunks.
_V6: Final = """
CREATE TABLE signal_blocks (
    id          INTEGER PRIMARY KEY,
    session_id  INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    stream      TEXT NOT NULL,                -- 'ecg', 'acc'
    first_index INTEGER NOT NULL CHECK (first_index >= 0),
    t0_s        REAL NOT NULL,                -- session time of the block's first sample
    rate_hz     REAL NOT NULL CHECK (rate_hz > 0),
    n_samples   INTEGER NOT NULL CHECK (n_samples > 0),
    channels    TEXT NOT NULL,                -- JSON list of channel names
    unit        TEXT NOT NULL,                -- 'uV', 'mG'
    encoding    TEXT NOT NULL,
    data        BLOB NOT NULL
);
CREATE INDEX signal_blocks_session ON signal_blocks(session_id, stream, first_index);
"""

MIGRATIONS: Final[tuple[str, ...]] = (_V1, _V2, _V3, _V4, _V5, _V6)
"""``MIGRATIONS[i]`` upgrades a database at schema version ``i`` to ``i + 1``."""

SCHEMA_VERSION: Final = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """Schema version stored in the database (``PRAGMA user_version``; 0 for a new file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: tuple[str, ...] = MIGRATIONS) -> int:
    """Bring the database up to the newest schema, one version per transaction.

    Parameters
    ----------
    conn : sqlite3.Connection
        Open connection in autocommit mode (``isolation_level=None``).
    migrations : tuple of str
        The migration scripts (tests pass their own to exercise the path).

    Returns
    -------
    int
        The schema version after migrating.

    Raises
    ------
    ValueError
        When the database was written by a newer version of the program.
    """
    current = schema_version(conn)
    if current > len(migrations):
        raise ValueError(
            f"database schema version {current} is newer than this program supports "
            f"({len(migrations)}); update biofeedback"
        )
    for version in range(current, len(migrations)):
        conn.execute("BEGIN IMMEDIATE")
        if schema_version(conn) > version:
            # Another process migrated this step while we waited for the write lock.
            conn.execute("ROLLBACK")
            continue
        try:
            for statement in _statements(migrations[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        except BaseException:  # broad on purpose: roll back on any exit, then re-raise
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(migrations)


def _statements(script: str) -> list[str]:
    """Split a script into statements (executescript would commit on its own)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return [s for s in statements if s]
