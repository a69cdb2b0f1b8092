"""Test helper: run ``python -m sensors.virtual`` (virtual BlueZ + strap) as a subprocess.

Usage::

    from virtual_strap import virtual_strap  # noqa: F401  (the pytest fixture)

    def test_something(virtual_strap):
        # DBUS_SYSTEM_BUS_ADDRESS and PATH (bluetoothctl stub) are already set
        asyncio.run(...bleak...)
        virtual_strap.command("power off")

or ``with VirtualStrap(tmp_path, speed=20) as strap: ...`` with your own environment, or
the ``strap_with`` fixture (conftest.py offers it) to start straps with options of the
test's own::

    def test_pmd(strap_with: StrapFactory):
        strap = strap_with("--pmd", "--pmd-paired")
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADDRESS = "A0:9E:1A:00:00:01"
FACTORY_SPEED = 40.0
"""Virtual seconds per wall second of the straps :func:`strap_with` starts."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """SIGTERM the strap (a clean exit) if the test process dies without stopping it."""
    with contextlib.suppress(OSError, AttributeError):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class VirtualStrapError(RuntimeError):
    """The virtual strap did not start, answer or stop as expected (message has its log)."""


def bluetoothctl_stub(tmp_path: Path) -> Path:
    """Write an executable ``bluetoothctl`` that prints ``5.66`` (bleak checks the version).

    Returns
    -------
    Path
        The folder holding the stub, to put first on ``PATH``.
    """
    folder = tmp_path / "bin"
    folder.mkdir(parents=True, exist_ok=True)
    stub = folder / "bluetoothctl"
    stub.write_text('#!/bin/sh\necho "5.66"\n', encoding="utf-8")
    stub.chmod(0o755)
    return folder


class VirtualStrap:
    """One ``python -m sensors.virtual`` process.

    Parameters
    ----------
    tmp_path : Path
        Folder for the packet log and the process's stderr log.
    speed : float
        Virtual seconds per wall second.
    name, address : str
        Advertised name and Bluetooth address.
    extra_args : sequence of str
        More command-line options (``--rr-file``, ``--seed``, ``--connect-timeout``...).
    startup_timeout_s : float
        How long to wait for ``READY``.

    Attributes
    ----------
    bus_address : str
        The private bus (what ``DBUS_SYSTEM_BUS_ADDRESS`` must be for bleak).
    device_address, name : str
        The strap's address and name.
    packet_log_path, stderr_path : Path
        The JSON-lines packet log and the process's stderr.
    """

    def __init__(
        self,
        tmp_path: Path,
        *,
        speed: float = 20.0,
        name: str = "Virtual HRM",
        address: str = DEFAULT_ADDRESS,
        extra_args: tuple[str, ...] | list[str] = (),
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.tmp_path = Path(tmp_path)
        self.speed = speed
        self.name = name
        self.device_address = address
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.packet_log_path = self.tmp_path / "virtual-strap-packets.jsonl"
        self.stderr_path = self.tmp_path / "virtual-strap.log"
        self.bus_address = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._buf = b""
        self.startup_s: float | None = None
        """Wall seconds from process start to READY."""

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> VirtualStrap:
        """Start the process and wait for ``READY``; raise :class:`VirtualStrapError` if not."""
        self.tmp_path.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-m", "sensors.virtual",
            "--speed", str(self.speed),
            "--name", self.name,
            "--address", self.device_address,
            "--packet-log", str(self.packet_log_path),
            *self.extra_args,
        ]
        env = dict(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        self._stderr = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, preexec_fn=_die_with_parent,
        )
        deadline = t0 + self.startup_timeout_s
        while True:
            line = self._readline(deadline)
            if line is None:
                self._fail(f"no READY within {self.startup_timeout_s} s")
            if line.startswith("DBUS_SYSTEM_BUS_ADDRESS="):
                self.bus_address = line.split("=", 1)[1]
            elif line == "READY":
                break
        if not self.bus_address:
            self._fail("READY without DBUS_SYSTEM_BUS_ADDRESS")
        self.startup_s = time.monotonic() - t0
        return self

    def stop(self, timeout_s: float = 10.0) -> int:
        """SIGTERM, wait, and assert exit status 0 (raise with the log otherwise)."""
        proc = self.proc
        if proc is None:
            return 0
        self.proc = None
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise VirtualStrapError(
                    f"virtual strap did not exit within {timeout_s} s of SIGTERM\n{self.log()}"
                ) from None
        finally:
            for stream in (proc.stdin, proc.stdout):
                if stream is not None:
                    stream.close()
            if self._stderr is not None:
                self._stderr.close()
                self._stderr = None
        if code != 0:
            raise VirtualStrapError(f"virtual strap exited with {code}\n{self.log()}")
        return code

    def __enter__(self) -> VirtualStrap:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.stop()
        else:  # do not hide the test's own failure
            with contextlib.suppress(VirtualStrapError):
                self.stop()

    @property
    def pid(self) -> int:
        """Process id (the process must be running)."""
        assert self.proc is not None
        return self.proc.pid

    # -- control ------------------------------------------------------------------------------

    def link_loss(self) -> None:
        """Simulate a link loss with SIGUSR1."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)

    def command(self, text: str, timeout_s: float = 5.0) -> str:
        """Send one stdin command and return its answer line (``OK ...``, ``ERR ...``...)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        line = self._readline(time.monotonic() + timeout_s)
        if line is None:
            self._fail(f"no answer to {text!r} within {timeout_s} s")
        return line

    def packets(self, delivered: bool | None = None) -> list[dict[str, Any]]:
        """Packet records of the log (events left out); optionally only (un)delivered."""
        return [
            r for r in self.records()
            if "seq" in r and (delivered is None or r["delivered"] is delivered)
        ]

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """Event records of the log, optionally only one kind."""
        return [r for r in self.records() if "event" in r and name in (None, r["event"])]

    def records(self) -> list[dict[str, Any]]:
        """Every complete line of the packet log."""
        if not self.packet_log_path.exists():
            return []
        text = self.packet_log_path.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.endswith("}")]

    def log(self) -> str:
        """The process's stderr so far."""
        try:
            return self.stderr_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    # -- internals ----------------------------------------------------------------------------

    def _readline(self, deadline: float) -> str | None:
        """Next stdout line, or None at the deadline or end of output."""
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buf:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    return None
                chunk = os.read(fd, 4096)
                if not chunk:
                    return None
                self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def _fail(self, reason: str) -> NoReturn:
        proc = self.proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        code = None if proc is None else proc.returncode
        self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        raise VirtualStrapError(f"virtual strap: {reason} (exit {code})\n{self.log()}")


@pytest.fixture
def virtual_strap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[VirtualStrap]:
    """A running virtual strap at speed 20, with ``DBUS_SYSTEM_BUS_ADDRESS`` pointing at its
    private bus and a ``bluetoothctl`` stub first on ``PATH``; stopped (exit 0 asserted)."""
    strap = VirtualStrap(tmp_path / "virtual-strap", speed=20.0)
    strap.start()
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", strap.bus_address)
    monkeypatch.setenv(
        "PATH", f"{bluetoothctl_stub(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    try:
        yield strap
    finally:
        strap.stop()


StrapFactory = Callable[..., VirtualStrap]
"""``start(*extra_args) -> VirtualStrap`` (the :func:`strap_with` fixture)."""


@pytest.fixture
def strap_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StrapFactory]:
    """Starts a virtual strap (speed :data:`FACTORY_SPEED` unless ``speed=`` is given) with the
    options the test passes, and points bleak at its bus (``DBUS_SYSTEM_BUS_ADDRESS``, a
    ``bluetoothctl`` stub first on ``PATH``); every strap started is stopped (exit 0
    asserted)."""
    started: list[VirtualStrap] = []
    monkeypatch.setenv(
        "PATH", f"{bluetoothctl_stub(tmp_path)}{os.pathsep}{os.environ.get('PATH', '')}"
    )

    def start(*args: str, speed: float = FACTORY_SPEED) -> VirtualStrap:
        strap = VirtualStrap(tmp_path / "strap", speed=speed, extra_args=list(args))
        strap.start()
        started.append(strap)
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", strap.bus_address)
        return strap

    try:
        yield start
    finally:
        for strap in started:
            strap.stop()
