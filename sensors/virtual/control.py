"""Test control of the virtual strap: one command per line on stdin, one answer line on stdout.

Commands (answer ``OK <command>`` unless noted; ``ERR <reason>`` on a bad command):

``link-loss``
    The connection drops (as SIGUSR1); the strap advertises again after ~0.5 s.
``zombie``
    The link stays up but goes silent: ``Connected`` stays true, no notification arrives
    and no disconnect is signalled, until the client drops the link.
``restart-bluez [MS]``
    bluetoothd crashes and restarts: the ``org.bluez`` name is lost with no word about the
    link, and after MS milliseconds (default 1000) a new connection owns it with fresh
    objects; links and notify sessions are gone.
``unplug-adapter [MS]`` / ``plug-adapter``
    The USB adapter is pulled: InterfacesRemoved for the GATT objects, the strap and
    ``hci0``, no ``Connected=false``; it comes back with ``plug-adapter`` or by itself
    after MS milliseconds.
``off-body`` / ``on-body``
    The strap is taken off / put back on: heart rate 0 and no RR (the first packets with
    garbled RR), and 45 virtual seconds later the strap ends the link itself and stops
    advertising until it is worn again.
``h10-flags on`` / ``h10-flags off``
    Flags byte without contact support (0x10), as a Polar H10 sends, or with it (0x16/0x06).
``late-gatt MS``
    From the next export of the GATT objects on (first connection, or after a restart or
    unplug), send ``ServicesResolved=true`` MS milliseconds before the objects (0: off).
``power off`` / ``power on``
    Adapter Powered false/true. While off, discovery and Connect fail with
    ``org.bluez.Error.NotReady`` and a connected strap drops.
``gone`` / ``back``
    The strap leaves / re-enters radio range. Gone: a connected strap drops (link loss), it
    stops advertising, and a Connect is held until it comes back or the connect timeout
    (default 20 s) ends it with ``org.bluez.Error.Failed: le-connection-abort-by-local``.
``contact off`` / ``contact on``
    Sensor-contact-detected flag in the packets (RR keep coming; ignored with H10 flags).
``hr <bpm>``
    Simulator only: move the mean heart rate to ``bpm`` (smooth transition).
``pmd-stop ecg`` / ``pmd-stop acc``
    With ``--pmd``: the strap ends that stream by itself and indicates
    ONLINE_MEASUREMENT_STOPPED (``01 <type>``) on the control point; ``ERR not running``
    if it was not streaming.
``hr-silent on`` / ``hr-silent off``
    No Heart Rate Measurement reaches the client while the link and its PMD frames go on
    (``ERR not connected`` without a link); it ends with ``off`` or when the link drops.
``packets``
    Answers ``PACKETS <n>``: the number of packets delivered to a client so far.
``status``
    Answers ``STATUS powered=0|1 in_range=0|1 connected=0|1 notifying=0|1 discovering=0|1
    sessions=<n> adapter=0|1 bluez=0|1 built=<n> delivered=<n> virtual_time_s=<t>``, and
    with ``--pmd`` `` paired=0|1 pmd=<running streams: ecg,acc | none>``.

The same controls are methods of :class:`Controller` (``execute("zombie")``) for a fake run
in-process.

End of input is ignored: the strap keeps running until SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import Callable

from sensors.simulated import SimulationEngine
from sensors.virtual.bluez import VirtualBlueZ
from sensors.virtual.pmd import STREAM_NAMES
from sensors.virtual.pmd_signals import BeatTrack
from sensors.virtual.rr_source import SimulatedRRSource
from sensors.virtual.strap import PacketScheduler


def answer(line: str) -> None:
    """Write one line to stdout and flush it."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _milliseconds(text: str, default: float | None) -> float:
    """A command's optional ``MS`` argument, in seconds."""
    if not text:
        if default is None:
            raise ValueError("expected a number of milliseconds")
        return default / 1000.0
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of milliseconds") from None
    if not 0 <= value <= 600_000:
        raise ValueError(f"{text} ms outside 0-600000")
    return value / 1000.0


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
        self._background: set[asyncio.Task[None]] = set()
        self._commands: dict[str, Callable[[], str | None]] = {
            "link-loss": self._link_loss,
            "zombie": self._zombie,
            "hr-silent on": lambda: self._hr_silent(True),
            "hr-silent off": lambda: self._hr_silent(False),
            "plug-adapter": lambda: None if self.bluez.plug_adapter() else "ERR adapter present",
            "off-body": lambda: self._off_body(True),
            "on-body": lambda: self._off_body(False),
            "h10-flags on": lambda: self._h10_flags(True),
            "h10-flags off": lambda: self._h10_flags(False),
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

    def _hr_silent(self, on: bool) -> str | None:
        return None if self.bluez.set_hr_silent(on) else "ERR not connected"

    def _off_body(self, off: bool) -> None:
        self.scheduler.set_off_body(off)
        self.bluez.log("off_body", off=off)

    def _h10_flags(self, on: bool) -> None:
        self.scheduler.h10_flags = on
        self.bluez.log("h10_flags", on=on)

    def _restart(self, down_s: float) -> None:
        if self.bluez.restarting:
            raise RuntimeError("bluetoothd is already restarting")
        task = asyncio.create_task(self.bluez.restart(down_s))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _unplug(self, replug_after_s: float | None) -> str | None:
        return None if self.bluez.unplug_adapter(replug_after_s) else "ERR adapter unplugged"

    def _late_gatt(self, delay_s: float) -> None:
        self.bluez.late_gatt_s = delay_s
        self.bluez.log("late_gatt", ms=round(delay_s * 1000.0, 3))

    async def close(self) -> None:
        """Wait for a restart under way (so the fake stops on a whole bus)."""
        for task in list(self._background):
            with contextlib.suppress(asyncio.CancelledError, RuntimeError, OSError):
                await task

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
            f"discovering={int(b.discovering)} "
            f"sessions={len(b.gatt.heart_rate.notify_sessions)} "
            f"adapter={int(b.adapter_present)} bluez={int(not b.restarting)} "
            f"built={log.packets_built} "
            f"delivered={log.packets_delivered} "
            f"virtual_time_s={self.scheduler.virtual_time_s:.3f}"
            + self._pmd_status()
        )

    def _pmd_status(self) -> str:
        device = self.bluez.pmd
        if device is None:
            return ""
        running = ",".join(STREAM_NAMES[k] for k in sorted(device.streams)) or "none"
        return f" paired={int(self.bluez.paired)} pmd={running}"

    def _heart_rate(self, arg: str) -> str:
        source = self.scheduler.source
        if isinstance(source, BeatTrack):  # --pmd reads the simulator through its beat track
            source = source.source
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
        name, _, arg = command.partition(" ")
        try:
            if name == "hr":
                return self._heart_rate(arg)
            if name == "pmd-stop":
                if not self.bluez.pmd_device_stop(arg):
                    return "ERR not running"
                return f"OK {command}"
            with_ms: dict[str, Callable[[], str | None]] = {
                "restart-bluez": lambda: self._restart(_milliseconds(arg, 1000.0)),
                "unplug-adapter": lambda: self._unplug(
                    _milliseconds(arg, None) if arg else None),
                "late-gatt": lambda: self._late_gatt(_milliseconds(arg, None)),
            }
            action = with_ms.get(name) or self._commands.get(command)
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
