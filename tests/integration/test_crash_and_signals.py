"""A recording killed with SIGKILL is `interrupted` with its beats; SIGTERM/SIGINT finish it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time

import pytest

from biofeedback.store import SessionStore, database_path
from conftest import PYTHON, cli_env

RECORD = [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--quiet", "--no-neurokit"]


def start_recording(data_dir, *args: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(
        [*RECORD, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=cli_env(data_dir),
    )
    line = proc.stdout.readline()
    assert line.strip().isdigit(), (line, proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(line)


def wait_for_beats(data_dir, session_id: int, n: int, timeout_s: float = 30.0) -> int:
    deadline = time.monotonic() + timeout_s
    conn = sqlite3.connect(database_path(data_dir))
    try:
        while time.monotonic() < deadline:
            count = conn.execute(
                "SELECT COUNT(*) FROM beats WHERE session_id = ?", (session_id,)
            ).fetchone()[0]
            if count >= n:
                return count
            time.sleep(0.05)
    finally:
        conn.close()
    raise AssertionError(f"fewer than {n} beats after {timeout_s} s")


def test_kill_9_leaves_an_interrupted_session_with_its_beats(data_dir):
    proc, sid = start_recording(data_dir, "--seed", "3", "--speed", "20", "--duration", "3600")
    wait_for_beats(data_dir, sid, 60)
    proc.kill()  # SIGKILL: no clean-up runs
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    # Before anyone reconciles it, the file says the session is still recording.
    raw = sqlite3.connect(database_path(data_dir))
    assert raw.execute("SELECT status FROM sessions WHERE id = ?", (sid,)).fetchone()[0] == \
        "recording"
    n_beats = raw.execute("SELECT COUNT(*) FROM beats WHERE session_id = ?", (sid,)).fetchone()[0]
    n_announced = raw.execute(
        "SELECT SUM(n_rr) FROM notifications WHERE session_id = ?", (sid,)
    ).fetchone()[0]
    raw.close()
    # Whole notifications only: every notification row has all of its beats.
    assert n_beats == n_announced >= 60

    with SessionStore.open(data_dir) as store:
        info = store.session_info(sid)
        assert info.status == "interrupted"
        rec = store.load_recording(sid)
        assert rec.n_beats == n_beats
        assert info.duration_s == pytest.approx(float(rec.time_s[-1]))

    # A new recording works and the interrupted one stays as it was.
    out = subprocess.run(
        [*RECORD, "--seed", "4", "--speed", "max", "--duration", "60"], capture_output=True,
        text=True, env=cli_env(data_dir), timeout=60,
    )
    assert out.returncode == 0, out.stderr
    new_id = int(out.stdout.strip())
    with SessionStore.open(data_dir) as store:
        assert store.session_info(new_id).status == "complete"
        assert store.session_info(sid).status == "interrupted"
        assert store.beat_count(sid) == n_beats


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_finish_the_session_cleanly(data_dir, sig):
    proc, sid = start_recording(data_dir, "--seed", "9", "--speed", "20")
    wait_for_beats(data_dir, sid, 20)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    with SessionStore.open(data_dir) as store:
        info = store.session_info(sid)
        assert info.status == "complete"
        assert store.beat_count(sid) >= 20
