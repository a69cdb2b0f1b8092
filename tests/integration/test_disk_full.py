"""Real commands on a real small (and a read-only) file system: a tmpfs mounted in a private
user and mount namespace (``unshare``), so no root on the host and no loop device is needed.

Where user namespaces are not allowed, the disk-full runs fall back to SQLite's own size
limit (``PRAGMA max_page_count``, set by tests/integration/page_limit/sitecustomize.py on every
connection the store opens), as the issue allows.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from damage import integrity

from biofeedback.store import schema

ROOT = Path(__file__).resolve().parents[2]
PAGE_LIMIT_SHIM = Path(__file__).with_name("page_limit")


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\" && umount \"$d\""],
        capture_output=True, timeout=30)
    return done.returncode == 0


UNSHARE = _unshare_works()


def bf(*args: str | Path) -> str:
    """A ``biofeedback`` command line for the shell script."""
    return shlex.join([sys.executable, "-m", "biofeedback", *map(str, args)])


def bfd(*args: str | Path) -> str:
    """:func:`bf` on the data folder of the small disk, ``$D/data``."""
    return bf(*args) + ' --data-dir "$D/data"'


def run_on_small_disk(tmp_path: Path, script: str, *, size: str = "2m",
                      read_only_after: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) with ``$D`` a fresh tmpfs of ``size``; its data folder is copied to
    ``tmp_path/after`` at the end (the tmpfs goes with the namespace).

    ``read_only_after`` is a marker line in the script after which the tmpfs is remounted
    read-only.
    """
    mount = tmp_path / "mnt"
    mount.mkdir()
    if read_only_after is not None:
        script = script.replace(read_only_after, "mount -o remount,ro \"$D\"")
    body = (f"set -u\nD={shlex.quote(str(mount))}\n"
            "mount -t tmpfs -o size=" + size + ",mode=0700 tmpfs \"$D\"\n"
            + script + f"\ncp -a \"$D/data\" {shlex.quote(str(tmp_path / 'after'))}\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("BIOFEEDBACK_DATA_DIR", None)
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", body],
                          capture_output=True, text=True, timeout=300, env=env)


def steps(output: str) -> dict[str, tuple[int, str]]:
    """``### NAME rc=N`` sections of a script's combined output: name -> (rc, text)."""
    found = {}
    for match in re.finditer(r"(?s)### (\w+)\n(.*?)### \1 rc=(\d+)\n", output):
        found[match[1]] = (int(match[3]), match[2])
    return found


def step(name: str, command: str) -> str:
    return f"echo '### {name}'\n{command} 2>&1\necho \"### {name} rc=$?\"\n"


SAVED = (r"biofeedback record: error: the disk holding \S+/data is full: session 1 was saved "
         r"up to \d\d:\d\d:\d\d \(([\d,]+) beats\) and closed as interrupted; free space on it "
         r"and start a new recording")


SESSIONS_TAB = (
    "import sys; from pathlib import Path; from biofeedback.viewmodels.queries import "
    "list_sessions; [print(s.id, s.status, s.n_beats) for s in list_sessions(Path(sys.argv[1]))]")
"""What the window's Sessions tab reads, run in the namespace of the small disk."""



needs_unshare = pytest.mark.skipif(
    not UNSHARE, reason="user namespaces not allowed here: the page-limit runs below cover "
    "disk full; the read-only medium is covered in-process by tests/store/test_store_faults.py")


@needs_unshare
def test_record_fills_the_disk_then_every_reading_command_works(tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    script = (
        step("record", bfd("record", "--source", "sim", "--seed", "3", "--speed", "max",
                           "--duration", "86400", "--quiet", "--no-neurokit"))
        + step("sessions", bfd("sessions"))
        + step("analyze", bfd("analyze", "1"))
        + step("export", bfd("export", "1", "--format", "csv", "--out", out / "rr.csv"))
        + step("record2", bfd("record", "--source", "sim", "--speed", "max", "--duration",
                              "600", "--quiet", "--no-neurokit"))
        # (the failed recording gave its space reserve back: fill the disk again)
        + "dd if=/dev/zero of=$D/filler bs=4k 2>/dev/null\n"
        + step("export_full", bf("export", "1", "--format", "csv", "--out")
               + ' "$D/rr.csv" --data-dir "$D/data"')
        + step("listing", 'ls "$D"')
    )
    done = run_on_small_disk(tmp_path, script)
    result = steps(done.stdout)
    assert set(result) == {"record", "sessions", "analyze", "export", "record2",
                           "export_full", "listing"}, done.stdout + done.stderr
    rc, text = result["record"]
    match = re.search(SAVED, text)
    assert rc == 1 and match, text
    beats = int(match[1].replace(",", ""))
    rc, text = result["sessions"]
    assert rc == 0 and re.search(rf"\b{beats}\s+interrupted \(disk full\)", text), text
    rc, text = result["analyze"]
    assert rc == 0 and re.search(rf"whole recording .* {beats} ", text), text
    rc, text = result["export"]
    assert rc == 0, text
    assert len((out / "rr.csv").read_text().splitlines()) == beats + 1
    rc, text = result["record2"]
    assert rc == 1 and "is full" in text and "internal error" not in text, text
    rc, text = result["export_full"]
    assert rc == 1 and re.search(r"the disk holding \S+ is full: \S+rr\S*\.csv was not written "
                                 r"\(nothing half-written was left\)", text), text
    assert "rr" not in result["listing"][1]  # no partial file, no temporary left
    db = tmp_path / "after" / "biofeedback.sqlite3"
    assert integrity(db) == "ok"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM beats WHERE session_id = 1").fetchone()[0] == beats
    assert conn.execute("SELECT status, end_reason FROM sessions WHERE id = 1").fetchone() == (
        "interrupted", "disk full")
    conn.close()


@needs_unshare
def test_a_killed_recording_on_a_full_disk_is_shown_interrupted_and_stored_so_later(tmp_path):
    record = bfd("record", "--source", "sim", "--speed", "20", "--quiet", "--no-neurokit")
    script = (
        f"{record} > /dev/null 2>&1 &\npid=$!\nsleep 6\nkill -9 $pid\nwait $pid\n"
        # fill what is left of the disk, as another program would
        "dd if=/dev/zero of=$D/filler bs=4k 2>/dev/null\n"
        + step("full", bfd("sessions"))
        + step("tab", shlex.join([sys.executable, "-c", SESSIONS_TAB]) + ' "$D/data"')
        + "rm $D/filler\n"
        + step("freed", bfd("sessions"))
    )
    done = run_on_small_disk(tmp_path, script, size="8m")
    assert re.fullmatch(r"1 interrupted \d+\n", steps(done.stdout)["tab"][1]), done.stdout
    result = steps(done.stdout)
    for name in ("full", "freed"):
        rc, text = result[name]
        assert rc == 0 and re.search(
            r"\s1\s+-\s+sim .* interrupted \(the recording process ended without finishing "
            r"the session\)", text), (name, text, done.stderr)
    conn = sqlite3.connect(tmp_path / "after" / "biofeedback.sqlite3")
    assert conn.execute("SELECT status FROM sessions WHERE id = 1").fetchone() == (
        "interrupted",)
    conn.close()


@needs_unshare
def test_an_upgrade_on_a_full_disk_is_rolled_back_and_said(tmp_path):
    old = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(old, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")  # as every database this program wrote
    schema.migrate(conn, schema.MIGRATIONS[:-1])
    conn.execute("INSERT INTO sessions (id, status, source, started_utc) VALUES (1, "
                 "'complete', 'import', '2020-01-01T00:00:00+00:00')")
    conn.close()
    version = len(schema.MIGRATIONS) - 1
    script = (
        f"mkdir -m 700 $D/data && cp {old} $D/data/biofeedback.sqlite3\n"
        "dd if=/dev/zero of=$D/filler bs=4k 2>/dev/null\n"
        # room for SQLite's 32 KiB shared-memory file, not for the upgrade's log
        "truncate -s -36k $D/filler\n"
        + step("full", bfd("sessions"))
        + "rm $D/filler\n"
        + step("freed", bfd("sessions"))
    )
    done = run_on_small_disk(tmp_path, script, size="1m")
    result = steps(done.stdout)
    rc, text = result["full"]
    assert rc == 1 and re.search(
        rf"the disk holding \S+ is full: cannot upgrade biofeedback.sqlite3; .*; the upgrade from "
        rf"database schema v{version} to v{schema.SCHEMA_VERSION} was rolled back: the file is "
        rf"still at v{version} with all its data", text), (text, done.stderr)
    rc, text = result["freed"]
    assert rc == 0 and re.search(r"\s1\s+-\s+import .* complete", text), text
    conn = sqlite3.connect(tmp_path / "after" / "biofeedback.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    conn.close()


@needs_unshare
def test_a_read_only_data_folder_reads_and_refuses_writing_by_name(tmp_path):
    import_file = tmp_path / "rr.txt"
    import_file.write_text("\n".join(["812", "790", "805"] * 100) + "\n")
    script = (
        step("record", bfd("record", "--source", "sim", "--speed", "max", "--duration", "600",
                           "--quiet", "--no-neurokit"))
        + "READ_ONLY_NOW\n"
        + step("sessions", bfd("sessions"))
        + step("analyze", bfd("analyze", "1"))
        + step("tab", shlex.join([sys.executable, "-c", SESSIONS_TAB]) + ' "$D/data"')
        + step("export", bfd("export", "1", "--format", "csv", "--out", tmp_path / "x.csv"))
        + step("record2", bfd("record", "--source", "sim", "--speed", "max", "--duration", "60",
                              "--quiet"))
        + step("import", bfd("import", import_file))
    )
    done = run_on_small_disk(tmp_path, script, size="4m", read_only_after="READ_ONLY_NOW")
    result = steps(done.stdout)
    assert result["record"][0] == 0, result["record"]
    for name in ("sessions", "analyze", "tab", "export"):
        assert result[name][0] == 0, (name, result[name])
    assert re.fullmatch(r"1 complete \d{3}\n", result["tab"][1]), result["tab"]
    # 600 s of simulated beats: the last one ends a little before or at 10:00 (rounded).
    assert re.search(r"\s1\s+-\s+sim .* (9:5\d|10:00)\s+\d{3}\s+complete",
                     result["sessions"][1]), \
        result["sessions"]
    assert (tmp_path / "x.csv").exists()
    for name in ("record2", "import"):
        rc, text = result[name]
        assert rc == 1 and re.search(
            rf"biofeedback {'record' if name == 'record2' else 'import'}: error: the data "
            r"folder \S+/data is read-only \(a read-only disk, or no write permission\)", text), \
            (name, text)


def test_record_on_a_page_limited_database_says_disk_full(tmp_path):
    """The fallback fault where no tmpfs can be mounted: SQLite's own size limit."""
    env = dict(os.environ, PYTHONPATH=f"{PAGE_LIMIT_SHIM}{os.pathsep}{ROOT}",
               BIOFEEDBACK_TEST_EXTRA_PAGES="60", BIOFEEDBACK_DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-m", "biofeedback", "record", "--source", "sim", "--speed", "max",
         "--duration", "86400", "--quiet", "--no-neurokit"],
        capture_output=True, text=True, timeout=300, env=env)
    match = re.search(SAVED, done.stderr)
    assert done.returncode == 1 and match, done.stderr
    beats = int(match[1].replace(",", ""))
    db = tmp_path / "data" / "biofeedback.sqlite3"
    assert integrity(db) == "ok"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM beats").fetchone()[0] == beats > 1000
    conn.close()
