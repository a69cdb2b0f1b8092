"""Runs the virtual BlueZ on a bus until SIGTERM: wiring of bus, strap, scheduler, controls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from dbus_fast.aio import MessageBus

from sensors.virtual.bluez import VirtualBlueZ
from sensors.virtual.control import Controller, answer
from sensors.virtual.daemon import refuse_system_bus
from sensors.virtual.gatt import StrapInfo
from sensors.virtual.packet_log import PacketLog
from sensors.virtual.pmd_device import PmdDevice, PmdOptions
from sensors.virtual.pmd_signals import BeatTrack, ChestSignals, breathing_for
from sensors.virtual.rr_source import RRSource
from sensors.virtual.strap import PacketScheduler

logger = logging.getLogger(__name__)


@dataclass
class StrapOptions:
    """Everything the command line sets.

    Attributes
    ----------
    address : str
        The strap's Bluetooth address.
    name : str
        Its advertised name.
    speed : float
        Virtual seconds per wall second.
    info : StrapInfo
        Read-only characteristic values.
    connect_timeout_s : float
        How long a Connect to an absent strap is held before it fails.
    relink_delay_s : float
        Silence after a link loss before advertising again.
    rssi_dbm : int
        Mean RSSI.
    seed : int
        Seed of the RSSI jitter (the RR source has its own).
    connected_at_start : bool
        The strap is connected (by a crashed app) when the fake starts: no advertising.
    late_gatt_s : float
        GATT objects exported this long after ``ServicesResolved`` (0: before it).
    h10_flags : bool
        Flags without contact support (0x10), as a Polar H10 sends.
    pmd : PmdOptions, optional
        The strap speaks PMD (ECG and ACC) with these settings; None: heart rate only.
    breathing_per_min : float, optional
        Fixed breathing rate of the synthetic signals (default: the simulator's schedule,
        12/min for RR files).
    movement_per_min : float
        Mean movement artifacts per minute in the accelerometer.
    """

    address: str = "A0:9E:1A:00:00:01"
    name: str = "Virtual HRM"
    speed: float = 1.0
    info: StrapInfo = field(default_factory=StrapInfo)
    connect_timeout_s: float = 20.0
    relink_delay_s: float = 0.5
    rssi_dbm: int = -60
    seed: int = 0
    connected_at_start: bool = False
    late_gatt_s: float = 0.0
    h10_flags: bool = False
    pmd: PmdOptions | None = None
    breathing_per_min: float | None = None
    movement_per_min: float = 0.5


async def _pump_pmd(bluez: VirtualBlueZ, log: PacketLog, clock: PacketScheduler) -> None:
    """Send the PMD frames as they fall due on the strap's clock (a few per frame period)."""
    period = max(0.005, min(0.05, 0.1 / clock.speed))
    while True:
        await asyncio.sleep(period)
        for frame, sessions in bluez.pmd_frames():
            log.pmd_frame(clock.virtual_time_s, frame.record, sessions)


async def serve(bus_address: str, source: RRSource, log: PacketLog, opts: StrapOptions) -> None:
    """Export the fake BlueZ on ``bus_address`` and run until SIGTERM or SIGINT.

    Prints ``DBUS_SYSTEM_BUS_ADDRESS=<address>`` and ``READY`` once everything is exported
    and ``org.bluez`` is owned. SIGUSR1 simulates a link loss.

    Parameters
    ----------
    bus_address : str
        A private bus (the system bus is refused).
    source : RRSource
        The strap's beats.
    log : PacketLog
        Packet and event log.
    opts : StrapOptions
        Strap settings.
    """
    refuse_system_bus(bus_address)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)

    async def new_bus() -> MessageBus:
        # unix fds: AcquireWrite hands the client a socket (bleak's _acquire_mtu).
        return await MessageBus(bus_address=bus_address, negotiate_unix_fd=True).connect()

    bus = await new_bus()
    scheduler: PacketScheduler
    device: PmdDevice | None = None
    if opts.pmd is not None:
        # The ECG needs the beats around each sample: the source is read a little ahead.
        track = BeatTrack(source)
        signals = ChestSignals(track, breathing_for(track, opts.breathing_per_min),
                               seed=opts.seed, movement_per_min=opts.movement_per_min)
        device = PmdDevice(signals, opts.pmd)
        source = track

    def log_event(event: str, /, **details: Any) -> None:
        log.event(event, scheduler.virtual_time_s, **details)

    bluez = VirtualBlueZ(
        bus,
        address=opts.address,
        name=opts.name,
        info=opts.info,
        log=log_event,
        connect_timeout_s=opts.connect_timeout_s,
        relink_delay_s=opts.relink_delay_s,
        rssi_dbm=opts.rssi_dbm,
        seed=opts.seed,
        new_bus=new_bus,
        connected_at_start=opts.connected_at_start,
        late_gatt_s=opts.late_gatt_s,
        pmd=device,
    )
    scheduler = PacketScheduler(
        source, bluez.notify_heart_rate, log, speed=opts.speed, on_sleep=bluez.set_asleep
    )
    scheduler.h10_flags = opts.h10_flags
    bluez.clock = lambda: scheduler.virtual_time_s
    if device is not None:
        device.signals.worn = lambda: not scheduler.off_body
    controller = Controller(bluez, scheduler)
    tasks: list[asyncio.Task[None]] = []
    try:
        await bluez.start()
        loop.add_signal_handler(signal.SIGUSR1, bluez.link_loss)
        scheduler.start_clock()
        log_event("start", address=opts.address, strap_name=opts.name, speed=opts.speed,
                  device_path=bluez.device_path)
        tasks.append(asyncio.create_task(scheduler.run()))
        tasks.append(asyncio.create_task(controller.serve_stdin()))
        if device is not None:
            tasks.append(asyncio.create_task(_pump_pmd(bluez, log, scheduler)))
        answer(f"DBUS_SYSTEM_BUS_ADDRESS={bus_address}")
        answer("READY")
        await stop.wait()
    finally:
        loop.remove_signal_handler(signal.SIGUSR1)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await controller.close()
        await bluez.close()
        log_event("stop", packets_built=log.packets_built,
                  packets_delivered=log.packets_delivered)
        bluez.bus.disconnect()
        try:
            await asyncio.wait_for(bluez.bus.wait_for_disconnect(), 2.0)
        except Exception:  # broad: dbus-fast re-raises whatever broke the bus; we are stopping
            logger.debug("waiting for the bus to disconnect failed", exc_info=True)
