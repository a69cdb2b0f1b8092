"""``biofeedback backup`` and ``biofeedback restore`` as a user runs them: real processes,
a recording going on meanwhile, a full disk and a read-only one (small tmpfs file systems in
a private mount namespace)."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest
from helpers import s1_study

from conftest import PYTHON, cli_env

BIOFEEDBACK = [PYTHON, "-m", "biofeedback"]
RECORD = [*BIOFEEDBACK, "record", "--source", "sim", "--quiet", "--no-neurokit"]


def cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BIOFEEDBACK, *args], capture_output=True, text=True,
                          env=cli_env(data_dir), timeout=120)


def sessions(data_dir: Path) -> list[dict]:
    done = cli(data_dir, "sessions", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["sessions"]


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_backup_during_a_recording_then_restore_into_a_new_folder(
    data_dir: Path, tmp_path: Path
) -> None:
    proc = subprocess.Popen(
        [*RECORD, "--seed", "8", "--speed", "60", "--duration", "7200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(data_dir),
    )
    try:
        live_id = int(proc.stdout.readline())  # type: ignore[union-attr]
        out = tmp_path / "backup.sqlite3"
        while True:  # until the recording has stored a few notifications
            backup = cli(data_dir, "backup", "--out", str(out), "--force", "--json")
            assert backup.returncode == 0, backup.stderr
            if json.loads(backup.stdout)["beats"] >= 50:
                break
        assert proc.poll() is None  # the recording went on throughout
    finally:
        proc.send_signal(signal.SIGTERM)
        _stdout, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    report = json.loads(backup.stdout)
    assert report["path"] == str(out) and report["verified"] is True
    assert report["sessions"] == 1 and report["bytes"] == out.stat().st_size

    restored_dir = tmp_path / "restored"
    restore = cli(restored_dir, "restore", str(out))
    assert restore.returncode == 0, restore.stderr
    assert restore.stdout == (
        f"Restored 1 session ({report['beats']:,} beats) from {out} into "
        f"{restored_dir / 'biofeedback.sqlite3'}\n")
    [copy] = sessions(restored_dir)
    [original] = sessions(data_dir)
    assert copy["id"] == original["id"] == live_id
    assert copy["beats"] == report["beats"] < original["beats"]
    # The copy was taken mid-recording; its writer is gone, so the copy reads as interrupted.
    assert copy["status"] == "interrupted" and original["status"] == "complete"

    # A second restore into the same folder is refused: it holds a session now.
    before = file_digest(restored_dir / "biofeedback.sqlite3")
    again = cli(restored_dir, "restore", str(out))
    assert again.returncode == 1
    assert again.stderr == (
        f"biofeedback restore: error: {restored_dir} already holds 1 session; a backup is "
        "restored only into an empty data folder, and nothing was changed: restore with "
        "--data-dir NEW_FOLDER, or move the folder away first\n")
    assert file_digest(restored_dir / "biofeedback.sqlite3") == before


def test_an_existing_out_file_is_refused_unless_forced(data_dir: Path, tmp_path: Path) -> None:
    assert cli(data_dir, *RECORD[3:], "--speed", "max", "--duration", "120").returncode == 0
    out = tmp_path / "mine.sqlite3"
    out.write_text("not to be lost")
    refused = cli(data_dir, "backup", "--out", str(out))
    assert refused.returncode == 1
    assert refused.stderr == (
        f"biofeedback backup: error: {out} already exists; it was left as it is (use --force "
        "to replace it with the new backup, or give another file name)\n")
    assert out.read_text() == "not to be lost"
    forced = cli(data_dir, "backup", "--out", str(out), "--force")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("Backed up 1 session (") and forced.stdout.endswith(
        " (verified)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "mine.sqlite3"]


def test_a_file_that_is_no_backup_is_refused_with_its_name(data_dir: Path, tmp_path: Path):
    notes = tmp_path / "notes.txt"
    notes.write_text("rr\n800\n")
    done = cli(data_dir, "restore", str(notes))
    assert done.returncode == 1
    assert done.stderr == (
        f"biofeedback restore: error: {notes} is not a biofeedback backup: it is not a SQLite "
        "database file\n")
    assert not data_dir.exists() or not any(data_dir.iterdir())


# -- full and read-only disks --------------------------------------------------------------


def private_mounts_allowed() -> bool:
    """Whether this user may mount a tmpfs in a user namespace of its own."""
    try:
        return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                              capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def in_small_tmpfs(mount_point: Path, size_kib: int, script: str, env: dict[str, str],
                   *, read_only_after: str = "") -> subprocess.CompletedProcess[str]:
    """Run the shell ``script`` with a ``size_kib`` tmpfs on ``mount_point`` (and, when
    ``read_only_after`` is given, that set-up script run first, then the tmpfs made
    read-only), in a mount namespace of its own: the tmpfs vanishes with it."""
    mount_point.mkdir(exist_ok=True)
    where = shlex.quote(str(mount_point))
    steps = [f"mount -t tmpfs -o size={size_kib}k tmpfs {where}"]
    if read_only_after:
        steps += [read_only_after, f"mount -o remount,ro {where}"]
    steps.append(script)
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", " && ".join(steps)],
        capture_output=True, text=True, env=env, timeout=120,
    )


@pytest.fixture
def source_dir(recorded_data_dir) -> Path:
    return recorded_data_dir(s1_study(["P1", "P2"]))


def test_a_full_disk_leaves_no_partial_backup_and_says_so(source_dir: Path, tmp_path: Path):
    py = shlex.quote(PYTHON)
    small = tmp_path / "small"
    db_kib = (source_dir / "biofeedback.sqlite3").stat().st_size // 1024
    if not private_mounts_allowed():
        # No small file system can be mounted here: the one full device there is.
        done = cli(source_dir, "backup", "--out", "/dev/full", "--force")
        assert done.returncode == 1
        assert "cannot back up to /dev/full: it is not a regular file" in done.stderr
        return
    backup = in_small_tmpfs(small, db_kib // 2, (
        f"{py} -m biofeedback backup --out {small}/backup.sqlite3; echo exit=$?; "
        f"ls -A {small}"), cli_env(source_dir))
    assert backup.stderr == (
        f"biofeedback backup: error: the disk holding {small} is full: the backup "
        f"{small}/backup.sqlite3 was not written (the partial copy was removed); free space on "
        "it, or choose a file on another disk, and try again\n")
    assert backup.stdout == "exit=1\n"  # and ls found nothing left in the tmpfs

    good = tmp_path / "good.sqlite3"
    assert cli(source_dir, "backup", "--out", str(good)).returncode == 0
    restore = in_small_tmpfs(small, db_kib // 2, (
        f"{py} -m biofeedback restore {good} --data-dir {small}/data; echo exit=$?; "
        f"ls -A {small}/data"), cli_env(source_dir))
    assert restore.stderr == (
        f"biofeedback restore: error: the disk holding {small}/data is full: nothing was "
        "restored (the partial copy was removed); free space on it, or choose a file on "
        "another disk, and try again\n")
    assert restore.stdout == "exit=1\n"


def test_a_backup_reads_from_a_read_only_or_full_disk(source_dir: Path, tmp_path: Path):
    if not private_mounts_allowed():
        pytest.skip("needs a private tmpfs (unshare --user --mount is not permitted here)")
    py = shlex.quote(PYTHON)
    disk = tmp_path / "disk"
    db = source_dir / "biofeedback.sqlite3"
    copy = f"mkdir {disk}/data && cp {shlex.quote(str(db))} {disk}/data/"
    outs = {name: tmp_path / f"{name}.sqlite3" for name in ("read_only", "full")}
    read_only = in_small_tmpfs(
        disk, 4 * db.stat().st_size // 1024,
        f"{py} -m biofeedback backup --out {outs['read_only']} --data-dir {disk}/data --json",
        cli_env(source_dir), read_only_after=copy)
    assert read_only.returncode == 0, read_only.stderr
    fill = f"{copy} && (cat /dev/zero > {disk}/filler 2>/dev/null; true)"
    full = in_small_tmpfs(
        disk, 2 * db.stat().st_size // 1024,
        f"{fill} && {py} -m biofeedback backup --out {outs['full']} --data-dir {disk}/data "
        f"--json && df -k {disk} | tail -1", cli_env(source_dir))
    assert full.returncode == 0, full.stderr
    assert full.stdout.split()[-3] == "0"  # df: no space was available
    expected = [(s["id"], s["beats"]) for s in sessions(source_dir)]
    for name, out in outs.items():
        conn = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), name
        got = conn.execute("SELECT session_id, COUNT(*) FROM beats GROUP BY session_id"
                           " ORDER BY session_id DESC").fetchall()
        conn.close()
        assert got == expected, name
    assert os.path.getsize(outs["full"]) == os.path.getsize(outs["read_only"])
