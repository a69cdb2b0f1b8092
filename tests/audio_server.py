"""Test helper: a private PulseAudio server with a null sink, its monitor recorded, and the
player run against it in a fresh interpreter.

The sound goes through the real stack (Qt Multimedia -> libpulse -> the server's null sink);
``parec`` records the sink's monitor, and onsets are found in that recording by signal
processing, never by reading the schedule back.

The Qt side runs in a subprocess (``tests/audio_play.py``): Qt Multimedia connects to the
sound server once per process and keeps its device list, so the server must be chosen
(``PULSE_SERVER``) before Qt first looks, whatever other tests of the session did.

Usage::

    from audio_server import pulse_server  # noqa: F401  (the pytest fixture)

    def test_something(pulse_server):
        with pulse_server.recording() as rec:
            result = play(pulse_server.env, {...})
        samples = rec.samples()
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
PLAYER_SCRIPT = TESTS / "audio_play.py"
RECORD_RATE = 48000
"""Frames per second of the monitor recording (mono s16le)."""
NULL_SINK = "null"
NO_SOUND_SERVER = f"unix:{Path(tempfile.gettempdir()) / 'biofeedback-no-sound-server'}/native"
"""A sound server address where none runs (libpulse does not autospawn a named server)."""


class AudioServerError(RuntimeError):
    """The private sound server did not start (the message has its log)."""


def audio_env(runtime_dir: Path | None) -> dict[str, str]:
    """Environment of a process that should play on the server in ``runtime_dir``.

    ``None`` points at a server that does not exist (no sound device, as in CI); libpulse
    does not autospawn a daemon when the server is named.
    """
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    # Qt picks PipeWire first where its library is installed; the private server is Pulse.
    env["QT_AUDIO_BACKEND"] = "pulseaudio"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    if runtime_dir is None:
        env["PULSE_SERVER"] = NO_SOUND_SERVER
    else:
        env["PULSE_SERVER"] = f"unix:{runtime_dir}/pulse/native"
        env["XDG_RUNTIME_DIR"] = str(runtime_dir)
    env.pop("PIPEWIRE_REMOTE", None)
    return env


@dataclass
class Recording:
    """``parec`` recording the null sink's monitor into a raw file."""

    path: Path
    process: subprocess.Popen[bytes] | None = None

    def samples(self) -> np.ndarray:
        """The recording as floats in [-1, 1] (mono, :data:`RECORD_RATE`)."""
        raw = np.frombuffer(self.path.read_bytes(), dtype="<i2")
        return raw.astype(np.float64) / 32768.0


@dataclass
class PulseServer:
    """A running private PulseAudio server (``pulseaudio -n`` with a null sink only)."""

    runtime_dir: Path
    process: subprocess.Popen[bytes]
    env: dict[str, str] = field(default_factory=dict)

    @contextlib.contextmanager
    def recording(self, path: Path) -> Iterator[Recording]:
        """Record the null sink's monitor while the block runs."""
        rec = Recording(path)
        with path.open("wb") as out:
            rec.process = subprocess.Popen(
                ["parec", "-d", f"{NULL_SINK}.monitor", "--raw", "--format=s16le",
                 "--channels=1", f"--rate={RECORD_RATE}", "--latency-msec=10"],
                stdout=out, stderr=subprocess.PIPE, env=self.env,
            )
            try:
                _wait_for_record_stream(self.env)
                yield rec
            finally:
                rec.process.send_signal(signal.SIGINT)
                try:
                    rec.process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    rec.process.kill()
                    rec.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait_for_record_stream(env: dict[str, str], timeout_s: float = 5.0) -> None:
    """Return once the server lists parec's record stream (it records from then on)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        out = subprocess.run(["pactl", "list", "short", "source-outputs"], env=env,
                             capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return
        time.sleep(0.02)
    raise AudioServerError("parec's record stream did not appear")


def start_pulse_server(runtime_dir: Path, timeout_s: float = 10.0) -> PulseServer:
    """Start ``pulseaudio`` with a null sink in ``runtime_dir`` and wait until it answers."""
    for tool in ("pulseaudio", "pactl", "parec"):
        if shutil.which(tool) is None:
            raise AudioServerError(f"{tool} is not installed (./dev setup installs it)")
    runtime_dir.mkdir(parents=True, exist_ok=True)
    runtime_dir.chmod(0o700)
    env = audio_env(runtime_dir)
    env["HOME"] = str(runtime_dir)  # the server keeps its cookie and state here
    log = runtime_dir / "pulseaudio.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
             f"--load=module-null-sink sink_name={NULL_SINK}",
             "--load=module-native-protocol-unix"],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )
    server = PulseServer(runtime_dir, process, env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        info = subprocess.run(["pactl", "info"], env=env, capture_output=True, text=True,
                              check=False)
        if info.returncode == 0 and f"Default Sink: {NULL_SINK}" in info.stdout:
            return server
        time.sleep(0.05)
    server.stop()
    raise AudioServerError(f"pulseaudio did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def pulse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PulseServer]:
    """A private PulseAudio server for the test module (stopped afterwards)."""
    # A short path: a unix socket path must stay under ~108 bytes.
    runtime_dir = Path(tempfile.mkdtemp(prefix="bf-pulse-"))
    server = start_pulse_server(runtime_dir)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(runtime_dir, ignore_errors=True)


def play(env: dict[str, str], scenario: dict[str, Any], timeout_s: float = 60.0) -> dict:
    """Run ``tests/audio_play.py`` with ``scenario`` (see there); its JSON result."""
    out = subprocess.run(
        [sys.executable, str(PLAYER_SCRIPT), json.dumps(scenario)], env=env,
        capture_output=True, text=True, timeout=timeout_s, check=False, cwd=ROOT,
    )
    assert out.returncode == 0, f"audio_play.py failed ({out.returncode}):\n{out.stderr}"
    return json.loads(out.stdout.strip().splitlines()[-1])


def click_onsets(
    samples: np.ndarray, rate: int = RECORD_RATE, threshold: float = 0.05,
    refractory_s: float = 0.1,
) -> list[int]:
    """Sample indices where a click starts: the first sample whose magnitude exceeds
    ``threshold`` after at least ``refractory_s`` of samples below it."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    onsets: list[int] = []
    gap = int(refractory_s * rate)
    previous = -gap - 1
    for i in loud:
        if i - previous > gap:
            onsets.append(int(i))
        previous = int(i)
    return onsets


def peaks_after(samples: np.ndarray, onsets: list[int], span_s: float,
                rate: int = RECORD_RATE) -> list[float]:
    """Largest magnitude in the ``span_s`` after each onset."""
    n = int(span_s * rate)
    return [float(np.abs(samples[i:i + n]).max()) for i in onsets]
