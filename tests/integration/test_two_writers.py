"""Two and three writers on one data folder at once, as real processes (issue 14, item 4).

``record`` in two or three terminals, an ``import`` and a reader (``sessions``, ``export``)
on the same data folder at the same time, three ``record`` started at once on a data folder
that does not exist yet, and the window recording beside two ``record``:
every writer exits 0 with exactly the beats a solo run with the same seed stores, the file
passes SQLite's integrity check, and nobody reads "database is locked". When another program
does hold the write lock for longer than the busy timeout, writers stop with the
:class:`~biofeedback.core.errors.StoreBusyError` sentence (never a traceback), what was
committed stays, and readers keep working.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from biofeedback.cli.main import main
from biofeedback.store import SessionStore, database_path
from conftest import DATA, PYTHON, cli_env

CLI = [PYTHON, "-m", "biofeedback"]
RECORD = [*CLI, "record", "--source", "sim", "--quiet", "--no-neurokit"]
IMPORTED = (
    "2017-10-15 08-31-03_RR_session.csv",
    "Polar_H10_A1B2C3D4_20210312_101530_RR.txt",
    "kubios_ms.txt",
    "generic_rr.csv",
)
"""Files of four formats imported while the recorders write."""
BEAT_COLUMNS = ("seq, time_s, received_s, rr_ms, rr_corrected_ms, corrected_count, artifact,"
                " sensor_contact")
BUSY_SENTENCE = "stayed locked by another program for too long"
"""What :func:`biofeedback.store.faults.store_error` says for SQLite's BUSY."""
SPEED_DURATION_S = {"20": 60.0, "max": 3600.0}
"""Session time each recorder records at a speed, s: a few seconds of wall time either way
(about 4,000 beats at max speed, committed every 50 ms), so that they overlap."""

Beats = list[tuple[object, ...]]


def read_only(db: Path) -> sqlite3.Connection:
    """A read-only connection to the database (the test never writes through its own)."""
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30.0)


def stored_beats(db: Path, session_id: int) -> Beats:
    """Every stored column of every beat of a session, in order."""
    with contextlib.closing(read_only(db)) as conn:
        return conn.execute(
            f"SELECT {BEAT_COLUMNS} FROM beats WHERE session_id = ? ORDER BY seq", (session_id,)
        ).fetchall()


def assert_prefix_of(kept: Beats, whole: Beats) -> None:
    """``kept`` are the first beats of ``whole``: every raw value, and the artifact class and
    corrected value wherever the detector had decided them (a session cut short leaves its
    last beats, still waiting for the detector's two-beat look-ahead, unclassified)."""
    assert len(kept) <= len(whole)
    classified = [beat for beat in kept if beat[6] is not None]
    assert len(classified) >= len(kept) - 2
    assert classified == whole[:len(classified)]
    raw = [0, 1, 2, 3, 7]  # seq, time_s, received_s, rr_ms, sensor_contact
    assert [[beat[i] for i in raw] for beat in kept] == \
        [[beat[i] for i in raw] for beat in whole[:len(kept)]]


def assert_file_intact(db: Path) -> None:
    """SQLite's own checks: the b-trees and the foreign keys."""
    with contextlib.closing(read_only(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def run_in_process(*argv: str) -> None:
    """Run one ``biofeedback`` command here (the solo reference runs), quietly."""
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        assert main(list(argv)) == 0, argv


@pytest.fixture(scope="module")
def solo(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int, float], Beats]:
    """``solo(seed, duration_s) -> beats``: the beats a ``record`` of the simulator with that
    seed stores alone in an empty data folder (at maximum speed: the simulator's beats and
    their times do not depend on the speed), made once per module."""
    made: dict[tuple[int, float], Beats] = {}

    def beats(seed: int, duration_s: float) -> Beats:
        if (seed, duration_s) not in made:
            folder = tmp_path_factory.mktemp("solo") / "data"
            run_in_process("record", "--source", "sim", "--speed", "max", "--seed", str(seed),
                           "--duration", str(duration_s), "--quiet", "--no-neurokit",
                           "--data-dir", str(folder))
            made[seed, duration_s] = stored_beats(database_path(folder), 1)
        return made[seed, duration_s]

    return beats


@pytest.fixture(scope="module")
def solo_imports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Beats]:
    """The beats of each of :data:`IMPORTED` imported alone, by file name."""
    folder = tmp_path_factory.mktemp("solo-import") / "data"
    out: dict[str, Beats] = {}
    for i, name in enumerate(IMPORTED, start=1):
        run_in_process("import", str(DATA / "import" / name), "--data-dir", str(folder))
        out[name] = stored_beats(database_path(folder), i)
    return out


@dataclass
class Finished:
    """A command that ran to its end: exit status, standard output and error."""

    argv: Sequence[str]
    returncode: int
    out: str
    err: str

    def assert_clean(self) -> None:
        """Exit 0 with nothing about locks or tracebacks on standard error."""
        assert self.returncode == 0, (self.argv, self.err)
        assert "locked" not in self.err.lower(), (self.argv, self.err)
        assert "Traceback" not in self.err, (self.argv, self.err)


def start(argv: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def finish(proc: subprocess.Popen[str], timeout_s: float = 180.0) -> Finished:
    out, err = proc.communicate(timeout=timeout_s)
    return Finished(proc.args, proc.returncode, out, err)


@contextlib.contextmanager
def killed_on_exit(procs: list[subprocess.Popen[str]]) -> Iterator[list[subprocess.Popen[str]]]:
    """Kill whatever is still running when the test leaves (a failure), so none lingers."""
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


def read_while(running: Sequence[subprocess.Popen[str]], env: dict[str, str],
               session_id: int, out_dir: Path) -> list[Finished]:
    """Run ``sessions --json`` and ``export SESSION --format csv`` over and over until every
    process of ``running`` has ended (at least once); returns every run."""
    runs: list[Finished] = []
    i = 0
    while i == 0 or any(proc.poll() is None for proc in running):
        runs.append(finish(start([*CLI, "sessions", "--json"], env)))
        out = out_dir / f"export-{i}.csv"
        runs.append(finish(start([*CLI, "export", str(session_id), "--format", "csv",
                                  "--out", str(out)], env)))
        i += 1
    return runs


def wall_span(db: Path, session_id: int) -> tuple[datetime, datetime]:
    """When a session started and ended on the wall clock."""
    with contextlib.closing(read_only(db)) as conn:
        started, ended = conn.execute(
            "SELECT started_utc, ended_utc FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
    return datetime.fromisoformat(started), datetime.fromisoformat(ended)


def assert_overlap(db: Path, session_ids: Sequence[int]) -> None:
    """The sessions were recorded at the same time (else this test tested nothing)."""
    spans = [wall_span(db, sid) for sid in session_ids]
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans


def status_of(db: Path) -> dict[int, str]:
    with contextlib.closing(read_only(db)) as conn:
        return dict(conn.execute("SELECT id, status FROM sessions").fetchall())


# -- everyone at once ----------------------------------------------------------------------


@pytest.mark.parametrize("n_recorders", [2, 3])
@pytest.mark.parametrize("speed", ["20", "max"])
def test_recorders_an_import_and_readers_at_once_all_store_what_they_would_alone(
    data_dir, tmp_path, solo, solo_imports, speed, n_recorders
):
    env = cli_env(data_dir)
    db = database_path(data_dir)
    # Session 1, there before anyone starts: the readers list and export it throughout.
    run_in_process(*RECORD[3:], "--speed", "max", "--seed", "99", "--duration", "60",
                   "--data-dir", str(data_dir))
    reference_export = tmp_path / "reference.csv"
    run_in_process("export", "1", "--format", "csv", "--out", str(reference_export),
                   "--data-dir", str(data_dir))
    seeds = [10 + i for i in range(n_recorders)]
    durations = dict.fromkeys(seeds, SPEED_DURATION_S[speed])
    recorders = {seed: [*RECORD, "--speed", speed, "--seed", str(seed),
                        "--duration", str(durations[seed])] for seed in seeds}
    if speed == "max":
        # Beside the bulk writers, one at real time as a live strap records: it commits
        # and fsyncs every notification, and must never wait too long for the lock.
        durations[30] = 4.0
        recorders[30] = [*RECORD, "--speed", "1", "--seed", "30", "--duration", "4"]
    importing = [*CLI, "import", *(str(DATA / "import" / name) for name in IMPORTED), "--json"]
    exports = tmp_path / "exports"
    exports.mkdir()

    with killed_on_exit([]) as procs:
        procs += [start(argv, env) for argv in recorders.values()]
        procs.append(start(importing, env))
        reads = read_while(procs, env, 1, exports)
        recorded = [finish(proc) for proc in procs[:len(recorders)]]
        imported = finish(procs[-1])

    for run in [*recorded, imported, *reads]:
        run.assert_clean()
    assert_file_intact(db)

    # Each recorder made one complete session holding what a solo run holds, beat for beat.
    session_of = {seed: int(run.out.strip()) for seed, run in zip(recorders, recorded,
                                                                 strict=True)}
    for seed, session_id in session_of.items():
        expected = solo(seed, durations[seed])
        got = stored_beats(db, session_id)
        assert len(got) == len(expected)
        assert got == expected, f"seed {seed}: session {session_id} differs from a solo run"
    assert_overlap(db, [session_of[seed] for seed in seeds])

    summary = json.loads(imported.out)
    assert summary["refused"] == []
    by_file = {Path(item["file"]).name: item["session_id"] for item in summary["imported"]}
    assert sorted(by_file) == sorted(IMPORTED)
    for name, session_id in by_file.items():
        assert stored_beats(db, session_id) == solo_imports[name], name

    assert set(status_of(db).values()) == {"complete"}
    assert len(status_of(db)) == 1 + len(recorders) + len(IMPORTED)
    # Readers saw the sessions list every time and exported session 1 unchanged every time.
    n_first = len(stored_beats(db, 1))
    listings = [json.loads(run.out)["sessions"] for run in reads[::2]]
    for listing in listings:
        first = next(s for s in listing if s["id"] == 1)
        assert (first["beats"], first["status"]) == (n_first, "complete")
    written = sorted(exports.glob("export-*.csv"))
    assert len(written) == 2 * len(listings)  # every beat and, beside it, the markers
    for path in written:
        reference = tmp_path / re.sub(r"^export-\d+", "reference", path.name)
        assert path.read_bytes() == reference.read_bytes(), path


def test_three_recorders_started_at_once_on_a_new_data_folder_create_it_once(data_dir, solo):
    env = cli_env(data_dir)
    assert not data_dir.exists()
    seeds = (61, 62, 63)
    with killed_on_exit([]) as procs:
        procs += [start([*RECORD, "--speed", "max", "--seed", str(seed), "--duration", "600"],
                        env) for seed in seeds]
        recorded = [finish(proc) for proc in procs]

    for run in recorded:
        run.assert_clean()
    db = database_path(data_dir)
    assert_file_intact(db)
    # Whoever won the race created and migrated the file; the others found it done.
    from biofeedback.store.schema import SCHEMA_VERSION

    with contextlib.closing(read_only(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert sorted(int(run.out) for run in recorded) == [1, 2, 3]
    for seed, run in zip(seeds, recorded, strict=True):
        assert stored_beats(db, int(run.out)) == solo(seed, 600.0)


def test_the_window_records_while_a_record_command_writes(data_dir, tmp_path, solo):
    env = cli_env(data_dir)
    env["QT_QPA_PLATFORM"] = "offscreen"
    db = database_path(data_dir)
    shot = tmp_path / "window.png"
    window = [*CLI, "app", "--source", "sim", "--speed", "20", "--seed", "41", "--no-neurokit",
              "--quit-after", "20", "--screenshot", str(shot)]
    # An hour at 120x (30 s): long enough to overlap the window however slowly it starts on
    # a busy machine (at max speed it could finish first, and a fast recorder starves a
    # window still starting on 2 busy cores); the beats do not depend on speed. The second
    # recorder takes 20 s too: at 20x (4 s) it once ended before the window's session began.
    terminal = [*RECORD, "--speed", "120", "--seed", "42", "--duration", "3600"]
    second_terminal = [*RECORD, "--speed", "4", "--seed", "43", "--duration", "80"]

    with killed_on_exit([]) as procs:
        procs += [start(window, env), start(terminal, env), start(second_terminal, env)]
        windowed, recorded, recorded_2 = (finish(proc) for proc in procs)

    for run in (windowed, recorded, recorded_2):
        run.assert_clean()
    assert shot.exists()
    assert_file_intact(db)
    assert stored_beats(db, int(recorded.out)) == solo(42, 3600.0)
    assert stored_beats(db, int(recorded_2.out)) == solo(43, 80.0)
    with contextlib.closing(read_only(db)) as conn:
        (window_session,) = conn.execute(
            "SELECT id FROM sessions WHERE json_extract(settings, '$.app') = 'window'"
        ).fetchone()
    assert status_of(db)[window_session] == "complete"
    assert_overlap(db, [window_session, int(recorded.out), int(recorded_2.out)])
    # The window ran until it was closed, so it holds the start of what a solo run holds.
    got = stored_beats(db, window_session)
    assert len(got) > 40
    assert got == solo(41, 1200.0)[:len(got)]


# -- the lock held beyond the busy timeout -------------------------------------------------


LOCK_HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("held", flush=True)
sys.stdin.read()  # until the test closes our standard input
conn.execute("ROLLBACK")
"""
"""Another program that takes the database's write lock and keeps it."""


def wait_for_beats(db: Path, session_id: int, n: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(stored_beats(db, session_id)) < n:
        assert time.monotonic() < deadline, f"fewer than {n} beats after {timeout_s} s"
        time.sleep(0.05)


def test_a_write_lock_held_too_long_stops_writers_with_a_sentence_and_keeps_what_was_saved(
    data_dir, tmp_path, solo
):
    env = cli_env(data_dir)
    db = database_path(data_dir)
    with killed_on_exit([]) as procs:
        # A recording that runs when another program takes the lock and keeps it.
        running = start([*RECORD, "--speed", "20", "--seed", "51", "--duration", "3600"], env)
        procs.append(running)
        session_id = int(running.stdout.readline())
        wait_for_beats(db, session_id, 20)
        holder = subprocess.Popen([PYTHON, "-c", LOCK_HOLDER, str(db)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        procs.append(holder)
        assert holder.stdout.readline() == "held\n"
        n_committed = len(stored_beats(db, session_id))  # nothing more can be committed now
        # A new recording, an import and a participant's first session, all while it is held.
        new = [start([*RECORD, "--speed", "max", "--seed", "52", "--duration", "60"], env),
               start([*RECORD, "--speed", "max", "--seed", "53", "--duration", "60",
                      "--participant", "p53"], env),
               start([*CLI, "import", str(DATA / "import" / IMPORTED[0])], env)]
        procs += new
        # Reading never needs the write lock.
        listed = finish(start([*CLI, "sessions", "--json"], env))
        ended = [finish(proc) for proc in [running, *new]]
        holder.stdin.close()
        holder.wait(30)

    listed.assert_clean()
    assert [s["id"] for s in json.loads(listed.out)["sessions"]] == [session_id]
    for run in ended:
        assert run.returncode == 1, (run.argv, run.err)
        assert BUSY_SENTENCE in run.out + run.err, (run.argv, run.out, run.err)
        assert str(db) in run.out + run.err
        assert "Traceback" not in run.err and "internal error" not in run.err, run.err
    assert "biofeedback record: error: " in ended[0].err

    # Nothing half-written, and every beat committed before the lock was taken is there.
    assert_file_intact(db)
    with contextlib.closing(read_only(db)) as conn:
        assert conn.execute("SELECT COUNT(*) FROM participants").fetchone() == (0,)
    with SessionStore.open(data_dir) as store:  # which marks the dead recording interrupted
        assert [s.id for s in store.list_sessions()] == [session_id]
        assert store.session_info(session_id).status == "interrupted"
    kept = stored_beats(db, session_id)
    assert len(kept) == n_committed >= 20
    assert_prefix_of(kept, solo(51, 3600.0))
