"""The strap's packet scheduler: one Heart Rate Measurement per virtual second.

The strap's virtual clock starts when the process starts and runs while it is powered,
whether or not anyone listens: virtual second ``k`` (1, 2, ...) ends at wall time
``start + k / speed``. Its packet carries the RR completed in that second (0..n values) and
the heart rate; it is sent once per live notify session of a connected client, otherwise
its RR are lost (a real strap does not buffer them) and it is logged with
``"delivered": false``. Deadlines are absolute, so the packet rate does not drift with the
event loop's latency.

Strap-side behaviour of a Polar H10 (``docs/straps.md``): with ``h10_flags`` the flags byte
is 0x10 (RR present, skin contact *not supported*), so contact never shows in the flags.
Off the body the strap keeps the link and sends heart rate 0 without RR, after a few
packets with garbled RR as the electrodes dry; :data:`OFF_BODY_DISCONNECT_S` later it ends
the link itself and stops advertising until it is worn again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sensors.ble.gatt import build_heart_rate_measurement
from sensors.virtual.packet_log import PacketLog
from sensors.virtual.rr_source import RRSource

OFF_BODY_DISCONNECT_S = 45.0
"""Virtual seconds after removal at which an H10 ends the BLE link (the known issues of
the Polar BLE SDK, H10 issue 1)."""
GARBLED_RR_RAW = (65535, 31, 40000)
"""RR (1/1024 s) of the first packets after removal, one per packet: implausible values as
users report them near the start and end of wear (polar-ble-sdk issues 194, 312)."""


class PacketScheduler:
    """Builds and sends (or drops) one packet per virtual second.

    Parameters
    ----------
    source : RRSource
        Where the RR come from.
    deliver : callable
        ``deliver(packet) -> sessions``: send one notification per live session; returns
        the sessions' bus names (empty when nobody listens).
    log : PacketLog
        Records every packet, delivered or not.
    speed : float
        Virtual seconds per wall second (1 = real time).

    Attributes
    ----------
    sensor_contact : bool
        Contact flag put in the packets (``contact on`` / ``contact off``); the RR keep
        coming either way.
    h10_flags : bool
        Send flags without contact support, as a Polar H10 does (``h10-flags on|off``).
    on_sleep : callable, optional
        ``on_sleep(asleep)``: the strap, off the body for :data:`OFF_BODY_DISCONNECT_S`,
        ends the link and stops advertising (True), or is worn again (False).
    """

    def __init__(
        self,
        source: RRSource,
        deliver: Callable[[bytes], list[str]],
        log: PacketLog,
        speed: float = 1.0,
        on_sleep: Callable[[bool], None] | None = None,
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.source = source
        self.deliver = deliver
        self.log = log
        self.speed = float(speed)
        self.sensor_contact = True
        self.h10_flags = False
        self.on_sleep = on_sleep
        self.seq = 0
        self._t0: float | None = None
        self._off_body_since: float | None = None
        self._asleep = False

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

    @property
    def off_body(self) -> bool:
        """Whether the strap is off the body (``off-body`` / ``on-body``)."""
        return self._off_body_since is not None

    def set_off_body(self, off: bool) -> None:
        """Take the strap off the body (True) or put it back on (False)."""
        if off == self.off_body:
            return
        self._off_body_since = float(self.seq) if off else None
        if not off and self._asleep:
            self._asleep = False
            if self.on_sleep is not None:
                self.on_sleep(False)

    def _off_body_packet(self) -> tuple[list[int], int]:
        """What an unworn strap sends (its RR source runs on unseen)."""
        self.source.next_second()
        assert self._off_body_since is not None
        since = int(self.seq - self._off_body_since)
        if since >= OFF_BODY_DISCONNECT_S and not self._asleep:
            self._asleep = True
            if self.on_sleep is not None:
                self.on_sleep(True)
        if 1 <= since <= len(GARBLED_RR_RAW):
            return [GARBLED_RR_RAW[since - 1]], 0
        return [], 0

    def tick(self) -> bytes:
        """Build the next packet, send it to every listening session, and log it."""
        self.seq += 1
        rr_raw, hr = self._off_body_packet() if self.off_body else self.source.next_second()
        contact = None if self.h10_flags else self.sensor_contact
        packet = build_heart_rate_measurement(hr, rr_raw, sensor_contact=contact)
        sessions = self.deliver(packet)
        self.log.packet(self.seq, float(self.seq), packet, rr_raw, hr, contact, sessions)
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
