"""Power loss: SIGKILL a recording, an import, an export, a migration and a study simulation
at seeded random moments, and check after every kill that nothing committed was lost, that
nothing half-written is visible and that the next run works.

A fork server: this process imports the program once, then forks a child per trial that runs
the real code path (a :class:`LiveSession` of the simulated strap writing to a real
:class:`SessionStore`; :func:`import_paths`; :func:`export_session`; :func:`schema.migrate`
on a copy of ``tests/data/schema_v1.sqlite3``; :func:`simulate_study`), and kills it with
SIGKILL after a seeded random delay or a seeded random number of acknowledgements. A child
acknowledges through a pipe what it has committed:

- record: the session's own event stream. ``BeatsProcessed`` is published after the
  notification's ``append_notification`` returned, and with ``commit_interval_s=0`` that
  call commits, so each event is a committed notification (no wrapper of the store needed);
- import: the ``progress`` callback of :func:`import_paths`, called after each file's
  transaction;
- export: :func:`export_session` returning;
- migration: SQLite's own trace callback (``set_trace_callback``) names each statement before
  it runs; in lockstep trials the child waits for the parent after each statement, so the kill
  lands exactly before statement *k* (mid-transaction);
- study simulation: its ``progress`` callback (participant *i* starting: *i - 1* are stored).

Ten more kills hit real ``python -m biofeedback record/import/export`` processes.

The CI test is ``tests/integration/test_power_loss.py`` (200 kills, fixed seed); the
benchmark ``benchmarks/power_loss.py`` runs more. Run this file directly to get the JSON:

    python tests/power_loss.py --kills 200 --cli-kills 10 --seed 1 [--folder DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TESTS = Path(__file__).resolve().parent
sys.path.insert(0, str(TESTS.parent))
sys.path.insert(0, str(TESTS))

from damage import integrity as _integrity  # noqa: E402
from schema_dbs import (  # noqa: E402
    assert_data,
    database_path,
    reference_schema,
    schema_of,
    table_counts,
)

from biofeedback.core.types import Marker  # noqa: E402
from biofeedback.export.stored import export_session  # noqa: E402
from biofeedback.importing import import_paths  # noqa: E402
from biofeedback.live.events import BeatsProcessed  # noqa: E402
from biofeedback.session.live_session import LiveSession  # noqa: E402
from biofeedback.simulation.study import simulate_study  # noqa: E402
from biofeedback.store import SessionStore  # noqa: E402
from biofeedback.store.paths import database_path as store_path  # noqa: E402
from biofeedback.store.schema import SCHEMA_VERSION, migrate, schema_version  # noqa: E402
from sensors.simulated import SimulatedStrap  # noqa: E402

KINDS = ("record", "import", "export", "migrate", "study")
SHARE = {"record": 0.3, "import": 0.2, "export": 0.2, "migrate": 0.2, "study": 0.1}
"""Share of the kills each kind gets."""
EXPORT_FORMATS = ("csv", "kubios", "edf", "bids")
IMPORT_FILES = 5
IMPORT_BEATS = 800
EXPORT_BEATS = 20000
RECORD_S = 200.0
"""Session time of a recording trial, s (about 230 notifications at maximum speed)."""
STUDY_PARTICIPANTS = 2
"""Simulated participants per study trial (one session each)."""
OLDEST = 1
"""Schema version of the database the migration trials start from."""


@dataclass
class PowerLossReport:
    """What was killed, and what the checks found."""

    kills: dict[str, int] = field(default_factory=lambda: {k: 0 for k in KINDS})
    cli_kills: dict[str, int] = field(default_factory=dict)
    finished_before_kill: dict[str, int] = field(default_factory=dict)
    trial_seconds: dict[str, float] = field(default_factory=dict)
    acks_checked: int = 0
    temp_files_left: int = 0
    failures: list[str] = field(default_factory=list)
    failed_trials: set[int] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def total_kills(self) -> int:
        """Every SIGKILL sent (fork-server trials and CLI processes)."""
        return sum(self.kills.values()) + sum(self.cli_kills.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "kills": self.kills, "cli_kills": self.cli_kills, "total_kills": self.total_kills,
            "kills_survived": self.total_kills - len(self.failed_trials),
            "finished_before_kill": self.finished_before_kill,
            "trial_seconds": {k: round(v, 2) for k, v in self.trial_seconds.items()},
            "acks_checked": self.acks_checked, "temp_files_left": self.temp_files_left,
            "failures": self.failures, "seconds": round(self.seconds, 2),
        }


# -- the child side ---------------------------------------------------------------------------


class _Pipe:
    """The child's end: one line per acknowledgement (``os.write`` of a short line is atomic)."""

    def __init__(self, fd: int, go: int | None = None) -> None:
        self.fd = fd
        self.go = go

    def say(self, *words: object) -> None:
        os.write(self.fd, (" ".join(map(str, words)) + "\n").encode())

    def wait_for_go(self) -> None:
        if self.go is not None and os.read(self.go, 1) == b"":
            os._exit(3)  # the parent is gone


def _child_record(pipe: _Pipe, folder: Path, seed: int) -> None:
    with SessionStore.open(folder) as store:
        strap = SimulatedStrap(seed=seed, speed=None, duration_s=3600.0)
        # commit_interval_s=0: every notification committed on arrival, as for a live strap.
        session = LiveSession(strap, store=store, neurokit=False, commit_interval_s=0.0)
        told = False

        def ack(event: object) -> None:
            nonlocal told
            if not told and session.session_id is not None:
                told = True
                pipe.say("S", session.session_id)
            if isinstance(event, BeatsProcessed):
                stats = session.stats
                pipe.say("A", stats.n_notifications, stats.n_beats)
                if stats.n_notifications % 97 == 0:
                    session.add_marker(f"m{stats.n_notifications}")

        session.subscribe(ack)
        asyncio.run(session.run(duration_s=RECORD_S))
        pipe.say("S", session.session_id)
        pipe.say("D")


def _child_import(pipe: _Pipe, folder: Path, source: Path) -> None:
    with SessionStore.open(folder) as store:
        summary = import_paths(store, [source],
                               progress=lambda done, total, file: pipe.say("A", done))
    pipe.say("D", len(summary.imported), len(summary.refused))


def _child_export(pipe: _Pipe, folder: Path, fmt: str, out: Path) -> None:
    with SessionStore.open(folder) as store:
        export_session(store, 1, fmt, out)
    pipe.say("D")


def _child_migrate(pipe: _Pipe, path: Path) -> None:
    conn = sqlite3.connect(path, isolation_level=None)

    def trace(statement: str) -> None:
        pipe.say("A", statement.split()[0])
        pipe.wait_for_go()

    conn.set_trace_callback(trace)
    migrate(conn)
    conn.close()
    pipe.say("D")


def _child_study(pipe: _Pipe, folder: Path, name: str, seed: int) -> None:
    with SessionStore.open(folder) as store:
        simulate_study(store, name, participants=STUDY_PARTICIPANTS, effect_ln_rmssd=0.3, seed=seed,
                       duration_scale=0.02, progress=lambda i, n: pipe.say("A", i))
    pipe.say("D")


@dataclass
class _Outcome:
    lines: list[list[str]]
    killed: bool
    status: int
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return any(words[0] == "D" for words in self.lines)

    def acks(self) -> list[list[str]]:
        return [words[1:] for words in self.lines if words[0] == "A"]


def _fork(child: Callable[[_Pipe], None], *, kill_after_s: float | None = None,
          kill_after_acks: int | None = None, lockstep: bool = False) -> _Outcome:
    """Run ``child`` in a forked process; SIGKILL it after a delay or a number of acks."""
    t0 = time.perf_counter()
    read_fd, write_fd = os.pipe()
    go_read, go_write = os.pipe() if lockstep else (-1, -1)
    pid = os.fork()
    if pid == 0:  # the child: run, then leave without the parent's clean-up
        code = 0
        try:
            os.close(read_fd)
            if lockstep:
                os.close(go_write)
            child(_Pipe(write_fd, go_read if lockstep else None))
        except BaseException:  # broad on purpose: any failure is the child's exit status
            import traceback

            traceback.print_exc()
            code = 2
        finally:
            os._exit(code)
    os.close(write_fd)
    if lockstep:
        os.close(go_read)
    buffer = b""
    lines: list[list[str]] = []
    killed = False
    deadline = None if kill_after_s is None else time.monotonic() + kill_after_s
    os.set_blocking(read_fd, False)
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            killed = True
            break
        try:
            chunk = os.read(read_fd, 65536)
        except BlockingIOError:
            time.sleep(0.0002 if deadline is not None else 0.001)
            continue
        if not chunk:
            break  # the child ended (its end of the pipe closed)
        buffer += chunk
        *done, buffer = buffer.split(b"\n")
        lines += [line.decode().split() for line in done]
        n_acks = sum(words[0] == "A" for words in lines)
        if kill_after_acks is not None and n_acks >= kill_after_acks:
            os.kill(pid, signal.SIGKILL)
            killed = True
            break
        if lockstep:
            os.write(go_write, b"g" * (len(done)))
    _, status = os.waitpid(pid, 0)
    if lockstep:
        os.close(go_write)
    os.set_blocking(read_fd, True)
    rest = buffer + b"".join(iter(lambda: os.read(read_fd, 65536), b""))
    os.close(read_fd)
    *done, _cut = rest.split(b"\n")  # a line cut by the kill is not an ack: dropped
    lines += [line.decode().split() for line in done]
    return _Outcome(lines, killed and os.WIFSIGNALED(status), status, time.perf_counter() - t0)


# -- checks -----------------------------------------------------------------------------------



def _query(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(sql, args).fetchall())
    finally:
        conn.close()


class _Harness:
    def __init__(self, folder: Path, seed: int, report: PowerLossReport) -> None:
        self.folder = folder
        self.rng = random.Random(seed)
        self.report = report
        self.trial = 0
        self.durations: dict[str, float] = {}

    def fail(self, kind: str, problem: str) -> None:
        self.report.failures.append(f"{kind} trial {self.trial}: {problem}")
        self.report.failed_trials.add(self.trial)

    def killed(self, kind: str, outcome: _Outcome, timing: str | None = None) -> None:
        """Count the kill; a run that finished first tells how long a run takes now (the
        machine may be busier or less busy than when it was measured)."""
        if outcome.finished and outcome.status == 0:
            key = timing or kind
            self.durations[key] = min(self.durations[key], outcome.seconds)
        if outcome.killed:
            self.report.kills[kind] += 1
        elif outcome.status != 0:
            self.fail(kind, f"the child failed on its own (status {outcome.status})")
        else:
            done = self.report.finished_before_kill
            done[kind] = done.get(kind, 0) + 1

    def kill_plan(self, kind: str, acks: int) -> dict[str, Any]:
        """Half the trials are killed after a random number of acks, half after a delay."""
        if self.rng.random() < 0.5 and acks > 0:
            return {"kill_after_acks": self.rng.randint(1, acks)}
        return {"kill_after_s": self.rng.uniform(0.0, 0.95 * self.durations[kind])}

    def measure(self, kind: str, child: Callable[[_Pipe], None]) -> _Outcome:
        """A run without a kill: how long the kind takes, and that it works."""
        t0 = time.perf_counter()
        outcome = _fork(child)
        self.durations[kind] = time.perf_counter() - t0
        if outcome.status != 0 or not outcome.finished:
            self.fail(kind, f"an unkilled run failed (status {outcome.status})")
        return outcome

    # record ---------------------------------------------------------------------------------

    def setup_record(self) -> None:
        self.record_dir = self.folder / "record"
        outcome = self.measure("record", lambda pipe: _child_record(pipe, self.record_dir, 0))
        self.record_notifications = len(outcome.acks())
        self.check_record(None, _Outcome([], False, 0), finished=True)

    def record(self) -> None:
        self.trial += 1
        plan = self.kill_plan("record", self.record_notifications)
        seed = self.trial
        outcome = _fork(lambda pipe: _child_record(pipe, self.record_dir, seed), **plan)
        self.killed("record", outcome)
        self.check_record(seed, outcome, finished=outcome.finished)

    def check_record(self, seed: int | None, outcome: _Outcome, *, finished: bool) -> None:
        path = store_path(self.record_dir)
        if (result := _integrity(path)) != "ok":
            self.fail("record", f"integrity_check: {result}")
            return
        ids = [int(w[1]) for w in outcome.lines if w[0] == "S" and w[1] != "None"]
        recording = [sid for (sid,) in _query(
            path, "SELECT id FROM sessions WHERE status = 'recording'")]
        if finished:
            if recording:
                self.fail("record", f"sessions {recording} still recording after a clean end")
            return
        if len(recording) > 1 or (ids and recording and recording != ids[:1]):
            self.fail("record", f"sessions recording {recording}, the killed one was {ids[:1]}")
        sid = ids[0] if ids else (recording[0] if recording else None)
        if sid is None:
            return  # killed before the session was created: nothing to find
        # Killed after the session was finished (before the child said so): complete it is.
        (status,), = _query(path, "SELECT status FROM sessions WHERE id = ?", (sid,))
        if status not in ("recording", "complete"):
            self.fail("record", f"session {sid} is {status} before anyone reopened it")
        acks = outcome.acks()
        n_notes, n_beats = (int(acks[-1][0]), int(acks[-1][1])) if acks else (0, 0)
        self.report.acks_checked += len(acks)
        (notes, announced), = _query(
            path, "SELECT COUNT(*), COALESCE(SUM(n_rr), 0) FROM notifications"
            " WHERE session_id = ? AND seq < ?", (sid, n_notes))
        (beats_before,), = _query(
            path, "SELECT COUNT(*) FROM beats WHERE session_id = ? AND seq < ?", (sid, n_beats))
        (all_beats, all_announced), = _query(
            path, "SELECT (SELECT COUNT(*) FROM beats WHERE session_id = ?),"
            " (SELECT COALESCE(SUM(n_rr), 0) FROM notifications WHERE session_id = ?)",
            (sid, sid))
        if notes != n_notes or beats_before != n_beats or announced != n_beats:
            self.fail("record", f"session {sid}: {n_notes} notifications ({n_beats} beats) "
                      f"acknowledged, {notes} ({beats_before} beats) stored")
        if all_beats != all_announced:
            self.fail("record", f"session {sid}: {all_beats} beats for notifications of "
                      f"{all_announced}: a notification was stored in part")
        expected = "interrupted" if status == "recording" else status
        with SessionStore.open(self.record_dir) as store:  # the next run reconciles it
            info = store.session_info(sid)
            if info.status != expected or store.beat_count(sid) != all_beats:
                self.fail("record", f"session {sid} reopened as {info.status} with "
                          f"{store.beat_count(sid)} beats, not {expected} with {all_beats}")

    # import ---------------------------------------------------------------------------------

    def setup_import(self) -> None:
        self.import_dir = self.folder / "import"
        self.import_source = self.folder / "import-files"
        self.import_source.mkdir()
        rng = np.random.default_rng(7)
        for i in range(IMPORT_FILES):
            rr = np.round(rng.normal(850.0, 40.0, IMPORT_BEATS), 1)
            (self.import_source / f"rec{i}.txt").write_text(
                "# Kubios HRV RR text\n# RR intervals in ms\n"
                + "\n".join(f"{v:g}" for v in rr) + "\n", encoding="ascii")
        self.measure("import", lambda pipe: _child_import(pipe, self.import_dir,
                                                          self.import_source))
        with SessionStore.open(self.import_dir) as store:
            self.import_beats = {
                store.session_info(s.id).settings["original_file"]: s.n_beats
                for s in store.list_sessions()}
        if len(self.import_beats) != IMPORT_FILES:
            self.fail("import", f"the reference import stored {self.import_beats}")

    def import_(self) -> None:
        self.trial += 1
        path = store_path(self.import_dir)
        (before,), = _query(path, "SELECT COALESCE(MAX(id), 0) FROM sessions")
        plan = self.kill_plan("import", IMPORT_FILES)
        outcome = _fork(lambda pipe: _child_import(pipe, self.import_dir, self.import_source),
                        **plan)
        self.killed("import", outcome)
        acked = max((int(a[0]) for a in outcome.acks()), default=0)
        self.check_import(before, acked, outcome.killed)

    def check_import(self, before: int, acked: int, killed: bool) -> None:
        path = store_path(self.import_dir)
        if (result := _integrity(path)) != "ok":
            self.fail("import", f"integrity_check: {result}")
            return
        self.report.acks_checked += acked
        rows = _query(path, "SELECT s.id, s.status, json_extract(s.settings, '$.original_file'),"
                      " (SELECT COUNT(*) FROM beats b WHERE b.session_id = s.id)"
                      " FROM sessions s WHERE s.id > ?", (before,))
        if not acked <= len(rows) <= (IMPORT_FILES if killed else acked):
            self.fail("import", f"{acked} files acknowledged, {len(rows)} sessions stored")
        for sid, status, name, n in rows:
            if status != "complete" or n != self.import_beats.get(name):
                self.fail("import", f"session {sid} ({name}) is {status} with {n} beats, not "
                          f"complete with {self.import_beats.get(name)}: a partial import")

    # export ---------------------------------------------------------------------------------

    def setup_export(self) -> None:
        self.export_dir = self.folder / "export"
        source = self.folder / "export-file"
        source.mkdir()
        rr = np.round(np.random.default_rng(8).normal(800.0, 50.0, EXPORT_BEATS), 1)
        (source / "long.txt").write_text("\n".join(f"{v:g}" for v in rr) + "\n")
        with SessionStore.open(self.export_dir) as store:
            import_paths(store, [source])
            store.add_marker(1, Marker(10.0, 0.0, "a marker", "user", {}))
        self.outside = self.folder / "export-outside"
        self.outside.mkdir()
        self.export_reference: dict[str, dict[str, bytes]] = {}
        for fmt in EXPORT_FORMATS:
            out = self.folder / f"reference.{fmt}"
            t0 = time.perf_counter()
            outcome = _fork(lambda pipe, fmt=fmt, out=out: _child_export(
                pipe, self.export_dir, fmt, out))
            self.durations[f"export {fmt}"] = time.perf_counter() - t0
            if outcome.status != 0:
                self.fail("export", f"the reference {fmt} export failed")
            self.export_reference[fmt] = _snapshot(out)
            _remove(out)

    def export(self) -> None:
        self.trial += 1
        fmt = EXPORT_FORMATS[self.trial % len(EXPORT_FORMATS)]
        inside = self.trial % 2 == 1
        where = self.export_dir if inside else self.outside
        out = where / f"out{self.trial}.{fmt}"
        # Most of a run is opening the store and reading the session: the file is written in
        # its last part, where most kills should land.
        delay = self.rng.uniform(0.2, 0.95) * self.durations[f"export {fmt}"]
        outcome = _fork(lambda pipe: _child_export(pipe, self.export_dir, fmt, out),
                        kill_after_s=delay)
        self.killed("export", outcome, f"export {fmt}")
        if (result := _integrity(store_path(self.export_dir))) != "ok":
            self.fail("export", f"integrity_check: {result}")
        for problem in _export_problems(out, self.export_reference[fmt], outcome.finished,
                                        inside):
            self.fail("export", problem)
        if out.exists():
            self.report.acks_checked += 1
        names = {out.name, f"{out.stem}_markers{out.suffix}"}
        left = [p for p in where.iterdir() if p.name.startswith(f".{out.stem}")]
        others = [p.name for p in where.iterdir()
                  if p.name.startswith(out.stem) and p.name not in names]
        if others:
            self.fail("export", f"unexpected files {others}")
        self.report.temp_files_left += len(left)
        for p in [out, *left]:
            _remove(p)

    # migration ------------------------------------------------------------------------------

    def setup_migrate(self) -> None:
        self.migrate_dir = self.folder / "migrate"
        self.migrate_dir.mkdir()
        copy = self.migrate_dir / "measure.sqlite3"
        shutil.copyfile(database_path(OLDEST), copy)
        outcome = self.measure("migrate", lambda pipe: _child_migrate(pipe, copy))
        self.migrate_statements = len(outcome.acks())
        copy.unlink()

    def migrate(self) -> None:
        self.trial += 1
        path = self.migrate_dir / f"v{OLDEST}-{self.trial}.sqlite3"
        shutil.copyfile(database_path(OLDEST), path)
        before = table_counts(sqlite3.connect(path))
        lockstep = self.rng.random() < 0.7
        plan = ({"kill_after_acks": self.rng.randint(1, self.migrate_statements)}
                if lockstep else {"kill_after_s": self.rng.uniform(0.0, self.durations["migrate"])})
        outcome = _fork(lambda pipe: _child_migrate(pipe, path), lockstep=lockstep, **plan)
        self.killed("migrate", outcome)
        if (result := _integrity(path)) != "ok":
            self.fail("migrate", f"integrity_check: {result}")
            return
        conn = sqlite3.connect(path)
        try:
            version = schema_version(conn)
            if not OLDEST <= version <= SCHEMA_VERSION:
                self.fail("migrate", f"user_version {version}")
            elif schema_of(conn) != reference_schema(version):
                self.fail("migrate", f"the schema does not match user_version {version}")
            counts = table_counts(conn)
        finally:
            conn.close()
        if {t: counts.get(t) for t in before} != before:
            self.fail("migrate", f"rows changed: {before} -> {counts}")
        if outcome.finished and version != SCHEMA_VERSION:
            self.fail("migrate", f"finished at version {version}")
        try:
            with SessionStore(path) as store:  # the next run completes it, with every value
                assert_data(store, OLDEST)
        except AssertionError as exc:
            self.fail("migrate", f"data after the next open: {exc!r}")
        path.unlink()
        for extra in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            extra.unlink(missing_ok=True)

    # study simulation -------------------------------------------------------------------------

    def setup_study(self) -> None:
        self.study_dir = self.folder / "study"
        self.measure("study", lambda pipe: _child_study(pipe, self.study_dir, "S0", 0))

    def study(self) -> None:
        self.trial += 1
        name = f"S{self.trial}"
        outcome = _fork(lambda pipe: _child_study(pipe, self.study_dir, name, self.trial),
                        **self.kill_plan("study", STUDY_PARTICIPANTS))
        self.killed("study", outcome)
        path = store_path(self.study_dir)
        if (result := _integrity(path)) != "ok":
            self.fail("study", f"integrity_check: {result}")
            return
        started = max((int(a[0]) for a in outcome.acks()), default=0)
        done = STUDY_PARTICIPANTS if outcome.finished else max(0, started - 1)
        self.report.acks_checked += done
        rows = _query(path, "SELECT s.id, s.status FROM sessions s JOIN studies t"
                      " ON s.study_id = t.id WHERE t.name = ?", (name,))
        complete = [sid for sid, status in rows if status == "complete"]
        if len(complete) < done or len(rows) > done + 1:
            self.fail("study", f"{done} participants acknowledged; sessions {rows}")
        with SessionStore.open(self.study_dir) as store:  # the next open reconciles
            for sid, _ in rows:
                status = store.session_info(sid).status
                if status not in ("complete", "interrupted"):
                    self.fail("study", f"session {sid} is {status} after reopening")
            leftover = [s.id for s in store.list_sessions() if s.status == "recording"]
            if leftover:
                self.fail("study", f"sessions {leftover} still recording after reopening")

    # the next run -----------------------------------------------------------------------------

    def next_runs(self) -> None:
        """Every kind once more, unkilled: it must work after all those kills."""
        self.trial += 1
        self.measure("record", lambda pipe: _child_record(pipe, self.record_dir, 999))
        self.measure("import", lambda pipe: _child_import(pipe, self.import_dir,
                                                          self.import_source))
        out = self.export_dir / "last.csv"
        self.measure("export", lambda pipe: _child_export(pipe, self.export_dir, "csv", out))
        if _snapshot(out) != self.export_reference["csv"]:
            self.fail("export", "the last export differs from the reference")
        self.measure("study", lambda pipe: _child_study(pipe, self.study_dir, "Slast", 1))
        for path in (store_path(d) for d in (self.record_dir, self.import_dir, self.export_dir,
                                             self.study_dir)):
            if (result := _integrity(path)) != "ok":
                self.fail("next run", f"{path}: integrity_check {result}")


    # real CLI processes -----------------------------------------------------------------------

    def cli(self, kind: str, *, kill: bool = True) -> None:
        """Kill a real ``python -m biofeedback`` process of ``kind`` at a random moment
        (between 0.5 and 0.98 times the time an unkilled run, ``kill=False``, took)."""
        self.trial += 1
        env = dict(os.environ, PYTHONPATH=str(TESTS.parent))
        cmd = [sys.executable, "-m", "biofeedback"]
        if kind == "record":
            argv = ["record", "--source", "sim", "--speed", "20", "--quiet", "--no-neurokit",
                    "--seed", str(self.trial), "--data-dir", str(self.record_dir)]
        elif kind == "import":
            argv = ["import", str(self.import_source), "--progress-json",
                    "--data-dir", str(self.import_dir)]
            (before,), = _query(store_path(self.import_dir),
                                "SELECT COALESCE(MAX(id), 0) FROM sessions")
        else:
            fmt = "csv"
            out = self.export_dir / f"cli{self.trial}.{fmt}"
            argv = ["export", "1", "--format", fmt, "--out", str(out),
                    "--data-dir", str(self.export_dir)]
        proc = subprocess.Popen([*cmd, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=env)
        lines: list[list[str]] = []
        t0 = time.perf_counter()
        if kind == "record":
            first = proc.stdout.readline() if proc.stdout else ""
            if first.strip().isdigit():
                lines.append(["S", first.strip()])
            if kill:
                time.sleep(self.rng.uniform(0.05, 1.0))
            else:
                proc.send_signal(signal.SIGTERM)  # recording runs until stopped: stop it
        elif kind == "import" and kill:
            # A progress line per file stored (after its transaction): kill after a random
            # number of them, a random moment into the next file.
            for _ in range(self.rng.randint(1, IMPORT_FILES - 1)):
                if proc.stderr is not None:
                    proc.stderr.readline()
            time.sleep(self.rng.uniform(0.0, 0.1))
        elif kill:
            # Starting the interpreter is most of a run: most kills land after it.
            time.sleep(self.rng.uniform(0.5, 0.98) * self.durations[f"cli {kind}"])
        if kill:
            proc.kill()
        _, err = proc.communicate(timeout=60)
        self.durations.setdefault(f"cli {kind}", time.perf_counter() - t0)
        if proc.returncode == -signal.SIGKILL:
            self.report.cli_kills[kind] = self.report.cli_kills.get(kind, 0) + 1
        elif proc.returncode != 0:
            self.fail(f"cli {kind}", f"exit {proc.returncode}: {err.strip()[-300:]}")
        elif kill:
            done = self.report.finished_before_kill
            done[f"cli {kind}"] = done.get(f"cli {kind}", 0) + 1
        finished = proc.returncode == 0
        if not kill and not finished:
            self.fail(f"cli {kind}", f"an unkilled run failed: {err.strip()[-300:]}")
        if kind == "record":
            self.check_record(None, _Outcome(lines, not finished, proc.returncode),
                              finished=finished)
        elif kind == "import":
            self.check_import(before, IMPORT_FILES if finished else 0, not finished)
        else:
            for problem in _export_problems(out, self.export_reference[fmt], finished, True):
                self.fail("cli export", problem)
            left = [p for p in self.export_dir.iterdir() if p.name.startswith(f".{out.stem}")]
            self.report.temp_files_left += len(left)
            for p in [out, *left]:
                _remove(p)


def run_power_loss(folder: Path, *, kills: int = 200, cli_kills: int = 10,
                   seed: int = 0) -> PowerLossReport:
    """Run ``kills`` fork-server trials and ``cli_kills`` CLI kills in ``folder``; check all.

    Parameters
    ----------
    folder : Path
        Empty working folder (data folders, import files, exports).
    kills : int
        Kills in the fork server, shared among the kinds by :data:`SHARE` (trials that
        finished before their kill came are checked as well, and more are run).
    cli_kills : int
        Real ``python -m biofeedback`` processes killed (record, import, export in turn).
    seed : int
        Seed of every random moment.

    Returns
    -------
    PowerLossReport
        Kills per kind and every problem found (none expected).
    """
    t0 = time.perf_counter()
    report = PowerLossReport()
    harness = _Harness(folder, seed, report)
    harness.setup_record()
    harness.setup_import()
    harness.setup_export()
    harness.setup_migrate()
    harness.setup_study()
    runs = {"record": harness.record, "import": harness.import_, "export": harness.export,
            "migrate": harness.migrate, "study": harness.study}
    targets = {kind: round(kills * SHARE[kind]) for kind in KINDS}
    targets[KINDS[0]] += kills - sum(targets.values())
    # A run that finished before its kill came is checked too, but does not count: run
    # more until every kind has its kills (at most three times as many trials).
    for _ in range(3 * kills):
        short = [kind for kind in KINDS if report.kills[kind] < targets[kind]]
        if not short:
            break
        kind = harness.rng.choice(short)
        started = time.perf_counter()
        runs[kind]()
        report.trial_seconds[kind] = report.trial_seconds.get(kind, 0.0) + \
            time.perf_counter() - started
    if cli_kills:
        for kind in ("record", "import", "export"):
            harness.cli(kind, kill=False)  # the real CLI works, and how long it takes
    cli_kinds = ("record", "import", "export")
    cli_targets = {kind: cli_kills // 3 + (i < cli_kills % 3) for i, kind in enumerate(cli_kinds)}
    for _ in range(3 * cli_kills):
        short = [k for k in cli_kinds if report.cli_kills.get(k, 0) < cli_targets[k]]
        if not short:
            break
        harness.cli(harness.rng.choice(short))
    harness.next_runs()
    report.seconds = time.perf_counter() - t0
    return report


def main() -> None:
    """Run the trials and print the report as JSON (exit 1 on any failure)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200, help="fork-server trials")
    parser.add_argument("--cli-kills", type=int, default=10, help="CLI processes killed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the moments")
    parser.add_argument("--folder", type=Path, default=None, help="working folder")
    args = parser.parse_args()
    if args.folder is None:
        with tempfile.TemporaryDirectory(prefix="power-loss-") as tmp:
            report = run_power_loss(Path(tmp), kills=args.kills, cli_kills=args.cli_kills,
                                    seed=args.seed)
    else:
        args.folder.mkdir(parents=True, exist_ok=True)
        report = run_power_loss(args.folder, kills=args.kills, cli_kills=args.cli_kills,
                                seed=args.seed)
    print(json.dumps({"power_loss": report.to_dict()}, indent=2))
    sys.exit(1 if report.failures else 0)


def _export_problems(out: Path, reference: dict[str, bytes], finished: bool,
                     inside: bool) -> list[str]:
    """What is wrong with what a (killed) export left at ``out``."""
    found = _snapshot(out)
    problems = []
    if finished and found != reference:
        problems.append(f"the export finished but {out.name} is not whole: {sorted(found)}")
    # Every file visible is whole; the main file is renamed last, so it means all are there.
    if any(reference.get(name) != data for name, data in found.items()):
        problems.append(f"{out.name}: a visible file differs from a whole export")
    if out.exists() and found != reference:
        problems.append(f"{out.name} is there without the rest: {sorted(found)}")
    if out.exists() and inside and os.stat(out).st_mode & 0o077:
        problems.append(f"{out.name} inside the data folder is not 0600/0700")
    return problems


def _snapshot(out: Path) -> dict[str, bytes]:
    """The bytes of an export (a file, the CSV and its markers file, or a folder's files)."""
    if out.is_dir():
        return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                if p.is_file()}
    found = {}
    for p in (out, out.with_name(f"{out.stem}_markers{out.suffix}")):
        if p.exists():
            found[p.name.replace(out.stem, "OUT")] = p.read_bytes()
    return found


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if path.suffix == ".csv":
        path.with_name(f"{path.stem}_markers.csv").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
