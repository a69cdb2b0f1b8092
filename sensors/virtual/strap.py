"""The strap's packet scheduler: one Heart Rate Measurement per virtual second.

The strap's virtual clock starts when the process starts and runs while it is powered,
whether or not anyone listens: virtual second ``k`` (1, 2, ...) ends at wall time
``start + k / speed``. Its packet carries the RR completed in that second (0..n values) and
the heart rate; it is sent if a connected client has notifications on, otherwise its RR are
lost (a real strap does not buffer them) and it is logged with ``"delivered": false``.
Deadlines are absolute, so the packet rate does not drift with the event loop's latency.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sensors.ble.gatt import build_heart_rate_measurement
from sensors.virtual.packet_log import PacketLog
from sensors.virtual.rr_source import RRSource


class PacketScheduler:
    """Builds and sends (or drops) one packet per virtual second.

    Parameters
    ----------
    source : RRSource
        Where the RR come from.
    deliver : callable
        ``deliver(packet) -> bool``: send one notification; False when nobody listens.
    log : PacketLog
        Records every packet, delivered or not.
    speed : float
        Virtual seconds per wall second (1 = real time).

    Attributes
    ----------
    sensor_contact : bool
        Contact flag put in the packets (``contact on`` / ``contact off``); the RR keep
        coming either way.
    """

    def __init__(
        self,
        source: RRSource,
        deliver: Callable[[bytes], bool],
        log: PacketLog,
        speed: float = 1.0,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.source = source
        self.deliver = deliver
        self.log = log
        self.speed = float(speed)
        self.sensor_contact = True
        self.seq = 0
        self._t0: float | None = None

    def start_clock(self) -> None:
        """Start the virtual clock now (called once, when the strap is powered)."""
        if self._t0 is None:
            self._t0 = asyncio.get_running_loop().time()

    @property
    def virtual_time_s(self) -> float:
        """Virtual seconds since the strap was powered (0 before)."""
        if self._t0 is None:
            return 0.0
        return (asyncio.get_running_loop().time() - self._t0) * self.speed

    def tick(self) -> bytes:
        """Build the next packet, send it if anyone listens, and log it."""
        self.seq += 1
        rr_raw, hr = self.source.next_second()
        packet = build_heart_rate_measurement(hr, rr_raw, sensor_contact=self.sensor_contact)
        delivered = self.deliver(packet)
        self.log.packet(
            self.seq, float(self.seq), packet, rr_raw, hr, self.sensor_contact, delivered
        )
        return packet

    async def run(self) -> None:
        """Send packets forever, one per ``1 / speed`` wall seconds."""
        self.start_clock()
        assert self._t0 is not None
        loop = asyncio.get_running_loop()
        while True:
            deadline = self._t0 + (self.seq + 1) / self.speed
            delay = deadline - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.tick()
