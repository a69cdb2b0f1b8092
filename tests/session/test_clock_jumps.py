"""A calendar-clock jump mid-session moves no beat, phase, marker or duration (issue 14 item 9).

Each run records the stress-reactivity protocol from the simulated strap (maximum speed, the
simulated participant answering) into a real SQLite store, built by the composition root
(:func:`~biofeedback.session.launch.prepare_session`) with an injected
:class:`~biofeedback.core.clock.SessionClock`. Its calendar jumps mid-session (an hour on, an
hour back, a month before the session started, several times); everything stored must equal,
to the last bit, a run whose calendar runs on without a jump, and ``started_utc`` must be the
calendar time the session started at.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from biofeedback.core.clock import SessionClock, utc_iso
from biofeedback.live.events import BeatsProcessed, SessionEvent
from biofeedback.session.launch import SessionRequest, prepare_session
from biofeedback.store.database import SessionStore
from conftest import PYTHON, cli_env

START = datetime(2025, 3, 30, 0, 59, 30, tzinfo=UTC)
"""Calendar time the fake clock starts at (half a minute before Europe's DST change)."""

TICK_S = 0.01
"""Monotonic seconds per reading of the fake clock, so commit throttles are deterministic."""

MARKER_AT_S = 400.0
"""Session time after every jump at which the test adds a user marker, s."""

HOUR = timedelta(hours=1)


@dataclass
class JumpingClock:
    """The system's clocks as the test sets them.

    Time advances ``TICK_S`` at every reading of either clock; the monotonic clock counts it
    from an arbitrary origin, the calendar from ``START`` plus ``offset``, which the test
    changes mid-session (an NTP step, a user setting the clock). Every calendar reading is
    kept, to show the session reads it once.
    """

    offset: timedelta = timedelta(0)
    elapsed_s: float = 0.0
    wall_reads: list[datetime] = field(default_factory=list)

    def monotonic(self) -> float:
        self.elapsed_s += TICK_S
        return 5000.0 + self.elapsed_s

    def wall(self) -> datetime:
        self.elapsed_s += TICK_S
        moment = START + timedelta(seconds=self.elapsed_s) + self.offset
        self.wall_reads.append(moment)
        return moment

    def session_clock(self) -> SessionClock:
        return SessionClock(wall=self.wall, monotonic=self.monotonic)


@dataclass
class Run:
    """What one recording stored, read back from its SQLite file."""

    tables: dict[str, list[tuple[Any, ...]]]
    started_utc: str
    wall_reads: list[datetime]
    committed_at_jumps: list[int]
    committed_later: list[int]


_QUERIES = {
    "notifications": "SELECT seq, received_s, heart_rate_bpm, n_rr FROM notifications"
                     " ORDER BY seq",
    "beats": "SELECT seq, time_s, received_s, rr_ms, rr_corrected_ms, corrected_count,"
             " artifact, sensor_contact FROM beats ORDER BY seq",
    "gaps": "SELECT start_s, end_s, reason FROM gaps ORDER BY id",
    "markers": "SELECT onset_s, duration_s, label, kind, extra FROM markers ORDER BY id",
    "phases": "SELECT phase_id, name, kind, start_s, end_s, practice, category FROM phases"
              " ORDER BY id",
    "session": "SELECT status, duration_s, protocol_id, participant_id FROM sessions",
}


def _committed_beats(db: Path) -> int:
    """Beats another process can read now (committed), through a read-only connection."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM beats").fetchone()[0])


def record(data_dir: Path, jumps: Sequence[tuple[float, timedelta]]) -> Run:
    """Record stress_reactivity with the calendar set to ``offset`` once the beats reach each
    ``(session time s, offset)`` of ``jumps``; a user marker is added at ``MARKER_AT_S``."""
    clock = JumpingClock()
    prepared = prepare_session(
        SessionRequest(source="sim", protocol_id="stress_reactivity", participant_id="p01",
                       speed=None, seed=14, simulated_participant=True),
        data_dir, neurokit=False, clock=clock.session_clock(),
    )
    db = prepared.store.path if prepared.store is not None else None
    assert db is not None
    pending = list(jumps)
    committed_at_jumps: list[int] = []
    committed_later: list[int] = []
    marked: list[bool] = []

    def on_event(event: SessionEvent) -> None:
        if not isinstance(event, BeatsProcessed):
            return
        now = event.batch.received_s
        if pending and now >= pending[0][0]:
            clock.offset = pending.pop(0)[1]
            committed_at_jumps.append(_committed_beats(db))
        if not marked and now >= MARKER_AT_S:
            marked.append(True)
            prepared.session.add_marker("after the jumps")
            committed_later.append(_committed_beats(db))

    prepared.session.subscribe(on_event)
    asyncio.run(prepared.run())
    assert not pending, "the session ended before every jump happened"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        tables = {name: conn.execute(sql).fetchall() for name, sql in _QUERIES.items()}
        (started_utc,) = conn.execute("SELECT started_utc FROM sessions").fetchone()
    return Run(tables, started_utc, clock.wall_reads, committed_at_jumps, committed_later)


@pytest.fixture(scope="module")
def steady(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The recording with a calendar that never jumps."""
    yield record(tmp_path_factory.mktemp("steady") / "data", [])


JUMPS = {
    "an hour on": [(120.0, HOUR)],
    "an hour back": [(120.0, -HOUR)],
    "before the start": [(120.0, -timedelta(days=30))],
    "on, back, before the start": [(60.0, HOUR), (180.0, -HOUR), (300.0, -timedelta(days=30))],
}


@pytest.mark.parametrize("jumps", JUMPS.values(), ids=list(JUMPS))
def test_a_calendar_jump_moves_nothing_stored(
    steady: Run, data_dir: Path, jumps: list[tuple[float, timedelta]]
) -> None:
    jumped = record(data_dir, jumps)

    for name in _QUERIES:
        assert jumped.tables[name] == steady.tables[name], f"{name} moved with the calendar"
    # The run records something worth comparing: every table of the session time line.
    beats = steady.tables["beats"]
    assert len(beats) > 1500
    assert [p[0] for p in steady.tables["phases"]] == [
        "baseline", "report_baseline", "stressor", "report_stressor", "practice",
        "report_practice", "recovery",
    ]
    assert any(m[2] == "after the jumps" and m[0] >= MARKER_AT_S
               for m in steady.tables["markers"])
    ((status, duration_s, _, _),) = steady.tables["session"]
    assert status == "complete"
    assert duration_s == beats[-1][1]

    # The calendar is read once, when the session is created (before any beat), and that
    # reading is what is stored as its start; no jump after it changes it.
    assert len(jumped.wall_reads) == 1
    (read,) = jumped.wall_reads
    assert START <= read < START + timedelta(seconds=1)
    assert jumped.started_utc == utc_iso(read)
    assert datetime.fromisoformat(jumped.started_utc) == read.replace(
        microsecond=read.microsecond // 1000 * 1000
    )

    # A commit throttle on the calendar would hold every beat after a step back in an open
    # transaction (lost if the process then died) until the calendar caught up an hour or a
    # month later; on the monotonic clock another process sees the beats go on arriving.
    assert len(jumped.committed_at_jumps) == len(jumps)
    assert jumped.committed_at_jumps[0] > 0
    (later,) = jumped.committed_later
    assert later > jumped.committed_at_jumps[-1] + 100  # 100 s or more of beats later




_KILLED_RECORDER = """
import asyncio, sqlite3, sys
sys.path[:0] = sys.argv[2:4]  # this module and the tests' conftest
from datetime import timedelta
from biofeedback.live.events import BeatsProcessed
from biofeedback.session.launch import SessionRequest, prepare_session
from test_clock_jumps import HOUR, MARKER_AT_S, JumpingClock

clock = JumpingClock()
prepared = prepare_session(
    SessionRequest(source="sim", protocol_id="stress_reactivity", participant_id="p01",
                   speed=None, seed=14, simulated_participant=True),
    sys.argv[1], neurokit=False, clock=clock.session_clock(),
)
db = prepared.store.path

def on_event(event):
    if not isinstance(event, BeatsProcessed):
        return
    if clock.offset == timedelta(0) and event.batch.received_s >= 120.0:
        clock.offset = -HOUR
    elif event.batch.received_s >= MARKER_AT_S:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            (n,) = conn.execute("SELECT COUNT(*) FROM beats").fetchone()
        print(n, flush=True)
        sys.stdin.readline()  # held here, mid-session, until the test kills the process

prepared.session.subscribe(on_event)
asyncio.run(prepared.run())
"""


def test_a_recorder_killed_after_the_calendar_went_back_keeps_its_beats(
    steady: Run, data_dir: Path
) -> None:
    # A real recording process whose calendar went back an hour, killed (SIGKILL) mid-session
    # 280 s of beats later: every beat it had committed is in the file, with the times a
    # steady calendar gives them, and the file is sound.
    here = Path(__file__).resolve().parent
    child = subprocess.Popen(
        [PYTHON, "-c", _KILLED_RECORDER, str(data_dir), str(here), str(here.parent)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_env(data_dir), cwd=here.parent.parent,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip().isdigit(), child.communicate()[1]
        committed = int(line)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL

    with SessionStore.open(data_dir) as store:  # finds the writer gone: interrupted
        (info,) = store.list_sessions()
        db = store.path
    assert info.status == "interrupted"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        kept = conn.execute(
            "SELECT seq, time_s, received_s, rr_ms FROM beats ORDER BY seq"
        ).fetchall()
    assert committed > 200
    assert len(kept) == committed
    assert kept == [b[:4] for b in steady.tables["beats"][:committed]]
