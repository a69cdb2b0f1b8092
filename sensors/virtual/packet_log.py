"""The virtual strap's packet log: one JSON object per line, flushed line by line.

Records
-------
Packet (one per virtual second)::

    {"seq": 12, "virtual_time_s": 12.0, "monotonic_s": 8231.402,
     "wall_time_s": 1718000000.123, "hex": "1640a003", "rr_raw": [928], "heart_rate_bpm": 64,
     "sensor_contact": true, "delivered": true, "to": [":1.7"]}

``to`` lists the notify sessions (unique bus names) that received it, one
``PropertiesChanged(Value)`` each, so two names mean the client saw the packet twice.
``delivered`` is false when nobody received it (no connection, a silent link, or no
StartNotify on 0x2A37): the strap discarded that second's RR as a real strap does. ``seq``
counts every packet the strap built, delivered or not, from 1. ``sensor_contact`` is null
with H10 flags (contact not supported).

PMD frame (``--pmd``; one per notification on the PMD data characteristic)::

    {"pmd": "ecg", "virtual_time_s": 12.61, "monotonic_s": ..., "wall_time_s": ...,
     "first_index": 1533, "t0_s": 12.0, "t_last_s": 12.55, "rate_hz": 130.52,
     "timestamp_ns": 599616012553000000, "samples": [12, 40, ...], "r_peaks_s": [12.31],
     "hex": "00...", "delivered": true, "to": [":1.7"]}

``samples`` are the raw integers sent (ECG µV; ACC ``[x, y, z]`` mG per sample), sample
``i`` at virtual time ``t0_s + i / rate_hz`` (the real rate); ``timestamp_ns`` is the
frame's device time (ns since 2000) of its last sample. Ground truth: ``r_peaks_s`` (ECG) are
the R-peak times in the frame, on the strap's virtual clock; ``breathing_per_min`` (ACC) the
breathing rate at the frame's middle and ``movement`` whether a movement artifact overlaps
the frame.

Event::

    {"event": "link_loss", "virtual_time_s": 12.4, "monotonic_s": ..., "wall_time_s": ...,
     ...details}

``monotonic_s`` (``time.monotonic()``) orders records and measures the time between them: no
clock change moves it. ``wall_time_s`` (Unix time) is for reading the log beside other logs.

Events and their details: ``start`` (address, strap_name, speed, device_path),
``connect`` (sessions re-armed, or at_start), ``disconnect`` (reason: local_disconnect,
link_loss, out_of_range, power_off, removed, strap_off_body), ``link_loss``
(was_connected), ``advertising`` (again, after a link loss or ``back``),
``connect_pending`` (timeout_s: Connect held while the strap is away), ``connect_failed``
(reason), ``notify_start`` / ``notify_stop`` (a connected client subscribed to / left
0x2A37), ``power`` (powered), ``gone``, ``back``, ``contact`` (detected), ``heart_rate``
(mean_hr_bpm), ``zombie`` (was_connected), ``restart_bluez`` (was_connected, down_s),
``bluez_back``, ``unplug_adapter`` (was_connected), ``plug_adapter``, ``off_body`` (off),
``strap_asleep``, ``strap_awake``, ``h10_flags`` (on), ``late_gatt`` (ms),
``gatt_exported``, ``stop`` (packets_built, packets_delivered); with PMD:
``pmd_command`` (request, response: hex; at_s: the strap clock it took effect),
``pmd_indication`` (hex, to), ``pmd_refused`` (request, reason), ``paired`` (auto: by
BlueZ on a refused write, or false: ``Device1.Pair``), ``pair_failed``,
``pmd_device_stop`` (stream), ``pmd_stopped`` (reason, streams), ``hr_silent`` (on).
``virtual_time_s`` of an event is the strap clock at that moment (not a whole second).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import IO, Any


class PacketLog:
    """Append-only JSON-lines log; without a path it only counts.

    Parameters
    ----------
    path : path-like or None
        The log file (truncated at start), or None for no file.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = None if path is None else Path(path)
        self._fh: IO[str] | None = None
        if self.path is not None:
            self._fh = open(self.path, "w", encoding="utf-8")  # noqa: SIM115 - kept open
        self.packets_built = 0
        self.packets_delivered = 0

    def _write(self, record: dict[str, Any]) -> None:
        if self._fh is not None:
            self._fh.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._fh.flush()

    def packet(
        self,
        seq: int,
        virtual_time_s: float,
        data: bytes,
        rr_raw: list[int],
        heart_rate_bpm: int,
        sensor_contact: bool | None,
        sessions: list[str],
    ) -> None:
        """Record one packet, delivered (to ``sessions``) or dropped."""
        delivered = bool(sessions)
        self.packets_built += 1
        self.packets_delivered += int(delivered)
        self._write({
            "seq": seq,
            "virtual_time_s": round(virtual_time_s, 6),
            "monotonic_s": time.monotonic(),
            "wall_time_s": time.time(),
            "hex": data.hex(),
            "rr_raw": list(rr_raw),
            "heart_rate_bpm": heart_rate_bpm,
            "sensor_contact": sensor_contact,
            "delivered": delivered,
            "to": list(sessions),
        })

    def pmd_frame(self, virtual_time_s: float, record: dict[str, Any], sessions: list[str]) -> None:
        """Record one PMD data frame, delivered (to ``sessions``) or not."""
        self._write({
            **record,
            "virtual_time_s": round(virtual_time_s, 6),
            "monotonic_s": time.monotonic(),
            "wall_time_s": time.time(),
            "delivered": bool(sessions),
            "to": list(sessions),
        })

    def event(self, name: str, virtual_time_s: float, /, **details: Any) -> None:
        """Record an event (connect, link loss...) with optional details."""
        self._write({
            "event": name,
            "virtual_time_s": round(virtual_time_s, 6),
            "monotonic_s": time.monotonic(),
            "wall_time_s": time.time(),
            **details,
        })

    def close(self) -> None:
        """Close the file."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
