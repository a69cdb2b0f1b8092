"""Every earlier schema version, with data in every table, migrates to the newest intact.

The databases are ``tests/data/schema_vN.sqlite3`` (made by ``tests/schema_dbs.py``, which
also holds the values they contain). Nothing here names the newest version: a new migration
only needs its database added.
"""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from damage import integrity
from schema_dbs import (
    assert_data,
    database_path,
    reference_schema,
    schema_of,
    table_counts,
)

from biofeedback.store import SessionStore
from biofeedback.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version

VERSIONS = range(1, SCHEMA_VERSION + 1)


def copy_of(version: int, tmp_path) -> object:
    path = tmp_path / f"v{version}.sqlite3"
    shutil.copyfile(database_path(version), path)
    return path



def test_every_earlier_version_has_a_database():
    # The newest but one must be there so that the next migration is tested from it.
    for version in range(1, SCHEMA_VERSION):
        assert database_path(version).is_file(), f"run tests/schema_dbs.py for v{version}"
    for version in VERSIONS:
        if database_path(version).is_file():
            conn = sqlite3.connect(f"file:{database_path(version)}?mode=ro", uri=True)
            assert schema_version(conn) == version
            assert schema_of(conn) == reference_schema(version)
            conn.close()


@pytest.mark.parametrize("version", [v for v in VERSIONS if database_path(v).is_file()])
def test_old_database_migrates_with_every_value(version, tmp_path):
    path = copy_of(version, tmp_path)
    with SessionStore(path) as store:
        assert_data(store, version)
    conn = sqlite3.connect(path)
    assert schema_version(conn) == SCHEMA_VERSION
    assert schema_of(conn) == reference_schema(SCHEMA_VERSION)
    conn.close()
    assert integrity(path) == "ok"
    with SessionStore(path) as store:  # a second open finds nothing left to do
        assert_data(store, version)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_failing_statement_leaves_the_old_version_and_its_data(version, tmp_path):
    path = copy_of(version, tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    before = table_counts(conn)
    broken = (*MIGRATIONS[:version], MIGRATIONS[version] + "\nINSERT INTO no_such_table"
              " VALUES (1);", *MIGRATIONS[version + 1:])
    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        migrate(conn, broken)
    assert schema_version(conn) == version
    assert schema_of(conn) == reference_schema(version)
    assert table_counts(conn) == before
    conn.close()
    assert integrity(path) == "ok"
    with SessionStore(path) as store:  # and the real migration still works afterwards
        assert_data(store, version)


KILLER = textwrap.dedent("""
    import os, signal, sqlite3, sys
    from biofeedback.store.schema import migrate
    path, kill_at = sys.argv[1], int(sys.argv[2])
    conn = sqlite3.connect(path, isolation_level=None)
    seen = 0
    def trace(statement):
        global seen
        seen += 1
        print(statement.split()[0], flush=True)
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # power cut: no rollback, no close
    conn.set_trace_callback(trace)
    migrate(conn)
""")


def statement_count(version: int, tmp_path) -> int:
    path = copy_of(version, tmp_path)
    conn = sqlite3.connect(path, isolation_level=None)
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    migrate(conn)
    conn.close()
    path.unlink()
    return len(seen)


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
def test_migration_killed_at_any_statement_leaves_a_whole_version(version, tmp_path):
    total = statement_count(version, tmp_path)
    # Every statement (at most 40, spread evenly, should migrations grow long).
    kill_points = sorted({1 + round(i * (total - 1) / 39) for i in range(40)})
    for kill_at in kill_points:
        path = copy_of(version, tmp_path)
        before = table_counts(sqlite3.connect(path))
        out = subprocess.run([sys.executable, "-c", KILLER, str(path), str(kill_at)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == -signal.SIGKILL, out.stderr
        traced = out.stdout.split()
        assert len(traced) == kill_at
        committed = traced[:-1].count("COMMIT")  # the statement traced last never ran
        assert integrity(path) == "ok"
        conn = sqlite3.connect(path)
        reached = schema_version(conn)
        assert reached == version + committed, (kill_at, out.stdout.split())
        assert schema_of(conn) == reference_schema(reached)
        counts = table_counts(conn)
        assert {t: counts[t] for t in before} == before
        conn.close()
        with SessionStore(path) as store:  # the next run finishes the migration
            assert_data(store, version)
        assert integrity(path) == "ok"
        path.unlink()
