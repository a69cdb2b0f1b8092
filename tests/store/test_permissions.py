"""Privacy (issue 14, item 8): only the owner can read the data folder, and nothing listens
on the network unless Lab Streaming Layer is switched on."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from biofeedback.viewmodels.preferences import WindowPreferences
from conftest import cli_env

PYTHON = sys.executable


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_recording_leaves_a_private_folder_and_private_files(tmp_path: Path) -> None:
    data = tmp_path / "new" / "biofeedback-data"
    env = cli_env(data)
    out = subprocess.run(
        [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--duration", "30",
         "--speed", "max", "--no-neurokit", "--data-dir", str(data)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    WindowPreferences().save(data)
    files = sorted(p.name for p in data.iterdir())
    assert "settings.json" in files and any(name.endswith(".sqlite3") for name in files)
    assert mode(data) == 0o700
    loose = {p.name: oct(mode(p)) for p in data.iterdir() if mode(p) & 0o077}
    assert loose == {}


def test_a_folder_and_database_made_loose_by_another_program_are_tightened(
        tmp_path: Path) -> None:
    from biofeedback.store import SessionStore

    data = tmp_path / "data"
    with SessionStore.open(data) as store:
        store.create_session(source="sim")
    data.chmod(0o755)
    (data / "biofeedback.sqlite3").chmod(0o644)
    with SessionStore.open(data) as store:
        assert len(store.list_sessions()) == 1
        assert mode(data) == 0o700
        loose = {p.name: oct(mode(p)) for p in data.iterdir() if mode(p) & 0o077}
        assert loose == {}


def listening_sockets(pid: int) -> list[str]:
    """The listening TCP sockets and bound UDP sockets of process ``pid`` (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink()
        except OSError:
            continue
        if str(target).startswith("socket:["):
            inodes.add(str(target)[8:-1])
    found = []
    for table in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for line in lines:
            cols = line.split()
            listening = cols[3] == "0A" if table.startswith("tcp") else True
            if cols[9] in inodes and listening:
                found.append(f"{table} {cols[1]}")
    return found


@pytest.mark.parametrize("lsl", [False, True])
def test_recording_opens_network_sockets_only_with_lsl(tmp_path: Path, lsl: bool) -> None:
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [PYTHON, "-m", "biofeedback", "record", "--source", "sim", "--duration", "6",
         "--speed", "1", "--no-neurokit", "--data-dir", str(data), "--quiet",
         *(["--lsl"] if lsl else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(data),
    )
    try:
        deadline = time.monotonic() + 30
        # Once the database exists the session is recording.
        while not any(data.glob("*.sqlite3")) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        sockets = listening_sockets(proc.pid)
    finally:
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # LSL's outlets listen (the same detection sees them); without LSL nothing does.
    assert bool(sockets) is lsl, sockets
