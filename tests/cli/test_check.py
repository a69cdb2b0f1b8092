"""``biofeedback check [--repair --out FILE]`` as a user runs it: real processes, real damage."""

from __future__ import annotations

import json
import subprocess

from damage import fingerprint, keys_by_page, overwrite_page, record_sessions

from biofeedback.store import schema
from biofeedback.store.database import SessionStore
from conftest import PYTHON, cli_env


def check(data_dir, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PYTHON, "-m", "biofeedback", "check", *args], env=cli_env(data_dir),
                          capture_output=True, text=True, timeout=120)


def test_check_and_repair_of_a_damaged_data_folder(data_dir, tmp_path):
    with SessionStore.open(data_dir) as store:
        record_sessions(store, 4, 600)
    db = data_dir / "biofeedback.sqlite3"
    done = check(data_dir)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (f"ok: {db} (schema version {schema.SCHEMA_VERSION}): 4 sessions, "
                           "2,400 beats\n")

    page, lost = next((p, k) for p, k in sorted(keys_by_page(db, "beats").items())
                      if k and {s for s, _ in k} == {2} and k[0][1] > 100)
    overwrite_page(db, page, seed=2)
    before = fingerprint(db)
    done = check(data_dir)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{db} is damaged: SQLite's integrity check stopped at a damaged page (database disk "
        "image is malformed)",
        "run 'biofeedback check --repair --out NEW_FILE' to salvage what it holds into a new "
        "file (this one is left as it is)"]

    out = tmp_path / "repaired.sqlite3"
    done = check(data_dir, "--repair", "--out", str(out))
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == f"salvaged from {db} into {out}:"
    assert lines[3] == (f"  session    2  P02          partly  {600 - len(lost)}/600 beats, "
                        f"3 markers, 2 phases; not readable: beats seq {lost[0][1]}-"
                        f"{lost[-1][1]}")
    assert lines[2].startswith("  session    1  P01          whole   600/600 beats")
    assert lines[-1] == (f"3 sessions saved whole, 1 partly, 0 lost; {out} passed SQLite's "
                         f"integrity check, {db} was left as it is")
    assert fingerprint(db) == before
    done = check(data_dir, "--database", str(out), "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["beats"] == 2400 - len(lost)

    again = check(data_dir, "--repair", "--out", str(out))
    assert again.returncode == 1
    assert again.stderr == (f"biofeedback check: error: {out} already exists: a repair never "
                            "overwrites a file; name a new file with --out\n")
    assert check(data_dir, "--repair").stderr == (
        "biofeedback check: error: --repair and --out FILE go together: --repair --out "
        "NEW_FILE\n")


def test_check_names_a_file_that_is_not_a_database(data_dir, tmp_path):
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are my notes\n")
    done = check(data_dir, "--database", str(path), "--repair", "--out",
                 str(tmp_path / "out.sqlite3"), "--json")
    assert done.returncode == 1
    doc = json.loads(done.stdout)
    assert doc["problems"] == [f"{path} is not a SQLite database: it is a text file (it "
                               "starts 'these are my notes')"]
    assert doc["repair"] is None and not (tmp_path / "out.sqlite3").exists()
    done = check(data_dir, "--database", str(tmp_path / "absent.sqlite3"))
    assert done.returncode == 1
    assert done.stderr == (f"biofeedback check: error: there is no database at "
                           f"{tmp_path / 'absent.sqlite3'}\n")
