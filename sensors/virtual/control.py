"""Test control of the virtual strap: one command per line on stdin, one answer line on stdout.

Commands (answer ``OK <command>`` unless noted; ``ERR <reason>`` on a bad command):

``link-loss``
    The connection drops (as SIGUSR1); the strap advertises again after ~0.5 s.
``zombie``
    The link stays up but goes silent: ``Connected`` stays true, no notification arrives
    and no disconnect is signalled, until the client drops the link.
``power off`` / ``power on``
    Adapter Powered false/true. While off, discovery and Connect fail with
    ``org.bluez.Error.NotReady`` and a connected strap drops.
``gone`` / ``back``
    The strap leaves / re-enters radio range. Gone: a connected strap drops (link loss), it
    stops advertising, and a Connect is held until it comes back or the connect timeout
    (default 20 s) ends it with ``org.bluez.Error.Failed: le-connection-abort-by-local``.
``contact off`` / ``contact on``
    Sensor-contact-detected flag in the packets (RR keep coming).
``hr <bpm>``
    Simulator only: move the mean heart rate to ``bpm`` (smooth transition).
``packets``
    Answers ``PACKETS <n>``: the number of packets delivered to a client so far.
``status``
    Answers ``STATUS powered=0|1 in_range=0|1 connected=0|1 notifying=0|1 discovering=0|1
    built=<n> delivered=<n> virtual_time_s=<t>``.

End of input is ignored: the strap keeps running until SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import Callable

from sensors.simulated import SimulationEngine
from sensors.virtual.bluez import VirtualBlueZ
from sensors.virtual.rr_source import SimulatedRRSource
from sensors.virtual.strap import PacketScheduler


def answer(line: str) -> None:
    """Write one line to stdout and flush it."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Controller:
    """Carries out the control commands.

    Parameters
    ----------
    bluez : VirtualBlueZ
        The fake BlueZ and its strap.
    scheduler : PacketScheduler
        The packet scheduler (contact flag, counters, source).
    """

    def __init__(self, bluez: VirtualBlueZ, scheduler: PacketScheduler) -> None:
        self.bluez = bluez
        self.scheduler = scheduler
        self._commands: dict[str, Callable[[], str | None]] = {
            "link-loss": self._link_loss,
            "zombie": self._zombie,
            "power off": lambda: self.bluez.set_powered(False),
            "power on": lambda: self.bluez.set_powered(True),
            "gone": lambda: self.bluez.set_in_range(False),
            "back": lambda: self.bluez.set_in_range(True),
            "contact off": lambda: self._contact(False),
            "contact on": lambda: self._contact(True),
            "packets": self._packets,
            "status": self._status,
        }

    def _link_loss(self) -> None:
        self.bluez.link_loss()

    def _zombie(self) -> str | None:
        return None if self.bluez.set_zombie() else "ERR not connected"

    def _contact(self, on: bool) -> None:
        self.scheduler.sensor_contact = on
        self.bluez.log("contact", detected=on)

    def _packets(self) -> str:
        return f"PACKETS {self.scheduler.log.packets_delivered}"

    def _status(self) -> str:
        b = self.bluez
        log = self.scheduler.log
        return (
            f"STATUS powered={int(b.powered)} in_range={int(b.in_range)} "
            f"connected={int(b.connected)} notifying={int(b.subscribed)} "
            f"discovering={int(b.discovering)} built={log.packets_built} "
            f"delivered={log.packets_delivered} "
            f"virtual_time_s={self.scheduler.virtual_time_s:.3f}"
        )

    def _heart_rate(self, arg: str) -> str:
        source = self.scheduler.source
        if not isinstance(source, SimulatedRRSource):
            raise ValueError("hr needs the simulator (not --rr-file)")
        bpm = float(arg)
        if not 30 <= bpm <= 220:
            raise ValueError(f"heart rate {arg} outside 30-220 bpm")
        engine: SimulationEngine = source.engine
        engine.set_conditions(engine.received_until_s, mean_hr_bpm=bpm)
        self.bluez.log("heart_rate", mean_hr_bpm=bpm)
        return f"OK hr {arg}"

    def execute(self, line: str) -> str:
        """Run one command line and return its answer line."""
        command = " ".join(line.split()).lower()
        try:
            if command.startswith("hr "):
                return self._heart_rate(command[3:])
            action = self._commands.get(command)
            if action is None:
                return f"ERR unknown command {command!r}"
            result = action()
        except (ValueError, RuntimeError) as exc:
            return f"ERR {exc}"
        return result if isinstance(result, str) else f"OK {command}"

    async def serve_stdin(self) -> None:
        """Read commands from stdin until end of input (then just return)."""
        loop = asyncio.get_running_loop()
        try:
            mode = os.fstat(sys.stdin.fileno()).st_mode
        except (OSError, ValueError, AttributeError):
            return
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()):
            return  # /dev/null or a regular file: nothing to poll, no control channel
        reader = asyncio.StreamReader()
        try:
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
            )
        except (ValueError, OSError):
            return  # stdin is a regular file or closed: no control channel
        while True:
            raw = await reader.readline()
            if not raw:
                return
            line = raw.decode(errors="replace").strip()
            if line:
                answer(self.execute(line))
