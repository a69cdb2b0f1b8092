"""A private ``dbus-daemon`` for the virtual BlueZ, and the guard against the real system bus.

The virtual BlueZ claims the name ``org.bluez``. On the real system bus that would either
fail (policy) or, worse, impersonate the machine's Bluetooth stack, so every bus address is
checked by :func:`is_system_bus` before anything connects to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

SYSTEM_BUS_SOCKETS = ("/run/dbus/system_bus_socket", "/var/run/dbus/system_bus_socket")
"""Where the real system bus listens (``/var/run`` is usually a link to ``/run``)."""

DEFAULT_SYSTEM_BUS_ADDRESS = "unix:path=/var/run/dbus/system_bus_socket"
"""What D-Bus libraries use when ``DBUS_SYSTEM_BUS_ADDRESS`` is unset."""

DBUS_DAEMON = "/usr/bin/dbus-daemon"

_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <!-- private bus of the virtual BlueZ: session type, EXTERNAL auth, everything allowed -->
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
    <allow eavesdrop="true"/>
  </policy>
</busconfig>
"""


class SystemBusRefusedError(RuntimeError):
    """The address names the real system bus; the virtual BlueZ never connects to it."""


def _socket_paths(address: str) -> list[str]:
    """The ``path=`` of every ``unix:`` transport in a D-Bus address (``;``-separated)."""
    paths = []
    for transport in address.split(";"):
        kind, _, params = transport.strip().partition(":")
        if kind != "unix":
            continue
        for param in params.split(","):
            key, _, value = param.partition("=")
            if key == "path" and value:
                paths.append(value)
    return paths


def is_system_bus(address: str) -> bool:
    """Whether a D-Bus address (or a bare socket path) names the machine's system bus.

    Parameters
    ----------
    address : str
        A D-Bus address such as ``unix:path=/run/dbus/system_bus_socket`` or a socket path.
        Empty means "unset", which D-Bus libraries resolve to the system bus.

    Returns
    -------
    bool
        True for the empty address, the default system bus address, or any ``unix:path=``
        (or bare path) that resolves to one of :data:`SYSTEM_BUS_SOCKETS`.
    """
    address = address.strip()
    if not address or address == DEFAULT_SYSTEM_BUS_ADDRESS:
        return True
    paths = _socket_paths(address) if ":" in address else [address]
    system = {os.path.realpath(p) for p in SYSTEM_BUS_SOCKETS} | set(SYSTEM_BUS_SOCKETS)
    return any(p in system or os.path.realpath(p) in system for p in paths)


def refuse_system_bus(address: str) -> None:
    """Raise :class:`SystemBusRefusedError` if ``address`` is the real system bus."""
    if is_system_bus(address):
        raise SystemBusRefusedError(
            f"refusing to use D-Bus address {address!r}: it is the machine's system bus; "
            "the virtual BlueZ only runs on a private bus"
        )


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to SIGTERM the daemon when the virtual strap process dies (even by SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class PrivateBus:
    """A ``dbus-daemon`` on a unix socket in a private temporary folder.

    Parameters
    ----------
    executable : str
        The daemon binary.
    startup_timeout_s : float
        How long to wait for the daemon to print its address.

    Attributes
    ----------
    address : str
        The bus address, once started.
    folder : Path
        The private folder (socket and configuration), removed by :meth:`stop`.
    """

    def __init__(self, executable: str = DBUS_DAEMON, startup_timeout_s: float = 5.0) -> None:
        self.executable = executable
        self.startup_timeout_s = startup_timeout_s
        self.address = ""
        self.folder = Path(tempfile.mkdtemp(prefix="virtual-bluez-"))
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """Process id of the daemon, None before start."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> str:
        """Start the daemon and return its address.

        Raises
        ------
        RuntimeError
            The daemon is missing, exits early or prints no address in time.
        SystemBusRefusedError
            The printed address is the system bus (cannot happen with the generated config;
            checked anyway).
        """
        exe = shutil.which(self.executable) or self.executable
        if not os.access(exe, os.X_OK):
            raise RuntimeError(f"dbus-daemon not found at {self.executable}")
        socket_path = self.folder / "bus"
        config = self.folder / "bus.conf"
        config.write_text(_CONFIG.format(socket=socket_path), encoding="utf-8")
        self._proc = subprocess.Popen(
            [exe, f"--config-file={config}", "--nofork", "--nopidfile", "--print-address=1"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,
            preexec_fn=_die_with_parent,
            close_fds=True,
        )
        assert self._proc.stdout is not None
        line = _readline_with_timeout(self._proc.stdout, self.startup_timeout_s)
        if not line:
            code = self._proc.poll()
            self.stop()
            raise RuntimeError(f"dbus-daemon printed no address (exit status {code})")
        self.address = line.decode().strip()
        refuse_system_bus(self.address)
        return self.address

    def stop(self, timeout_s: float = 5.0) -> None:
        """Terminate the daemon (SIGTERM, then SIGKILL) and remove the private folder."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _readline_with_timeout(stream: IO[bytes], timeout_s: float) -> bytes:
    """Read one line from a pipe, giving up after ``timeout_s`` (returns b"")."""
    import selectors

    deadline = time.monotonic() + timeout_s
    buf = b""
    with selectors.DefaultSelector() as sel:
        sel.register(stream, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or not sel.select(left):
                return b""
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                return b""
            buf += chunk
    return buf.split(b"\n", 1)[0]
