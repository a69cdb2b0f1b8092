"""Fault soak: hours of virtual-strap time through the real bleak into a real store while a
seeded schedule injects every fault the virtual BlueZ can make, then a check of the store
against the strap's packet log.

Used by ``tests/sensors/ble/test_fault_soak.py`` (2 h compressed into about a minute) and
``benchmarks/fault_soak.py`` (longer, figures as JSON).
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from strap_sessions import StaleSubscriber, match_packets
from virtual_strap import VirtualStrap, bluetoothctl_stub

from biofeedback.core.types import Marker, StatusChange
from biofeedback.session.live_session import BeatsProcessed, LiveSession
from biofeedback.store import SessionStore
from sensors.ble import BleHeartRateStrap

BREAKING = ("link-loss", "zombie", "restart-bluez", "unplug-adapter", "gone", "power-off",
            "off-body-long")
"""Faults that end the link (a gap, a ``disconnected`` and a ``reconnected`` marker)."""
GENTLE = ("stale-join", "stale-leave", "off-body-short", "h10-flags")
"""Faults that keep the link (no gap may come of them)."""
FAULTS = BREAKING + GENTLE


def rss_mb() -> float:
    """Resident memory of this process, MB (Linux ``/proc``)."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


def schedule(n_faults: int, seed: int) -> list[str]:
    """``n_faults`` faults in a seeded order, every kind at least twice."""
    rng = random.Random(seed)
    kinds = list(FAULTS) * 2
    kinds += [rng.choice(FAULTS) for _ in range(max(0, n_faults - len(kinds)))]
    rng.shuffle(kinds)
    # A stale subscriber can only leave after one joined: swap an early leave with a join.
    joined = 0
    for i, kind in enumerate(kinds):
        if kind == "stale-leave" and joined == 0:
            j = next((k for k in range(i + 1, len(kinds)) if kinds[k] == "stale-join"), None)
            if j is None:
                kinds[i] = "stale-join"
            else:
                kinds[i], kinds[j] = kinds[j], kinds[i]
            kind = kinds[i]
        joined += {"stale-join": 1, "stale-leave": -1}.get(kind, 0)
    return kinds


@dataclass
class SoakReport:
    """What the soak saw, and its checks' figures."""

    virtual_hours: float
    speed: float
    faults: list[str]
    wall_s: float
    beats_stored: int
    beats_expected: int
    beats_lost_outside_gaps: int
    disconnections: int
    reconnect_s: list[float]
    gaps: dict[str, int]
    rss_growth_mb: float
    status: str
    copies_dropped_sessions: int
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "virtual_hours": self.virtual_hours,
            "speed": self.speed,
            "n_faults": len(self.faults),
            "faults": {k: self.faults.count(k) for k in FAULTS},
            "wall_s": round(self.wall_s, 2),
            "beats_stored": self.beats_stored,
            "beats_expected": self.beats_expected,
            "beats_lost_outside_gaps": self.beats_lost_outside_gaps,
            "disconnections": self.disconnections,
            "reconnect_wall_s_median": round(statistics.median(self.reconnect_s), 3)
            if self.reconnect_s else None,
            "reconnect_wall_s_max": round(max(self.reconnect_s), 3) if self.reconnect_s else None,
            "gaps": self.gaps,
            "rss_growth_mb": round(self.rss_growth_mb, 2),
            "status": self.status,
            "stale_subscriptions_seen": self.copies_dropped_sessions,
            "problems": self.problems,
        }


class _Driver:
    """Injects the faults one at a time from the session's event stream."""

    def __init__(self, strap: VirtualStrap, faults: list[str], speed: float,
                 end_wall_s: float, beats_between: int) -> None:
        self.strap = strap
        self.pending = list(faults)
        self.done: list[str] = []
        self.speed = speed
        self.end_wall_s = end_wall_s
        self.beats_between = beats_between
        self.ghosts: list[StaleSubscriber] = []
        self.ghost_names: list[str] = []
        self.statuses: list[str] = []
        self.awaiting_reconnect = False
        self.beats_since = 0
        self.tasks: list[asyncio.Task[None]] = []
        self.rss_start: float | None = None

    def _later(self, virtual_s: float, command: str) -> None:
        asyncio.get_running_loop().call_later(virtual_s / self.speed, self._command, command)

    def _command(self, text: str) -> None:
        answer = self.strap.command(text)
        if not answer.startswith(("OK", "PACKETS", "STATUS")):
            raise AssertionError(f"virtual strap refused {text!r}: {answer}")

    def _inject(self, fault: str) -> None:
        loop = asyncio.get_running_loop()
        if fault == "link-loss":
            self._command("link-loss")
        elif fault == "zombie":
            self._command("zombie")
        elif fault == "restart-bluez":
            self._command("restart-bluez 300")
        elif fault == "unplug-adapter":
            self._command("unplug-adapter 600")
        elif fault == "gone":
            self._command("gone")
            loop.call_later(0.4, self._command, "back")
        elif fault == "power-off":
            self._command("power off")
            loop.call_later(0.4, self._command, "power on")
        elif fault == "off-body-long":
            self._command("off-body")
            loop.call_later(1.0, self._command, "on-body")  # after the 45-s hang-up
        elif fault == "off-body-short":
            self._command("off-body")
            self._later(10.0, "on-body")
        elif fault == "h10-flags":
            on = sum(f == "h10-flags" for f in self.done) % 2 == 0
            self._command(f"h10-flags {'on' if on else 'off'}")
        elif fault == "stale-join":
            ghost = StaleSubscriber(self.strap.bus_address, self.strap.device_address)
            self.ghosts.append(ghost)

            async def join() -> None:
                await ghost.subscribe()
                self.ghost_names.append(ghost.name)

            self.tasks.append(loop.create_task(join()))
        elif fault == "stale-leave":
            self.tasks.append(loop.create_task(self.ghosts.pop(0).leave()))
        self.done.append(fault)
        self.awaiting_reconnect = fault in BREAKING
        self.beats_since = 0

    def __call__(self, event: object, session: LiveSession) -> bool:
        loop = asyncio.get_running_loop()
        if isinstance(event, StatusChange):
            self.statuses.append(event.message)
        elif isinstance(event, Marker) and event.label == "reconnected":
            self.awaiting_reconnect = False
            self.beats_since = 0
        elif isinstance(event, BeatsProcessed):
            self.beats_since += len(event.batch.beats)
            if self.rss_start is None and session.stats.n_beats >= 300:
                self.rss_start = rss_mb()
            if (self.pending and not self.awaiting_reconnect
                    and self.beats_since >= self.beats_between):
                self._inject(self.pending.pop(0))
            if not self.pending and not self.awaiting_reconnect and \
                    loop.time() >= self.end_wall_s and self.beats_since >= 10:
                return True
        return False


def run_fault_soak(folder: Path, *, virtual_hours: float = 2.0, speed: float = 150.0,
                   n_faults: int = 34, seed: int = 0,
                   progress: Callable[[str], None] | None = None) -> SoakReport:
    """Run the soak in ``folder`` and check the store against the packet log.

    Parameters
    ----------
    folder : Path
        Working folder (strap log, store).
    virtual_hours : float
        Strap time to stream, h.
    speed : float
        Virtual seconds per wall second.
    n_faults : int
        Faults to inject (every kind at least twice).
    seed : int
        Seed of the schedule and of the simulator.
    """
    folder.mkdir(parents=True, exist_ok=True)
    faults = schedule(n_faults, seed)
    strap = VirtualStrap(folder / "strap", speed=speed,
                         extra_args=["--seed", str(seed), "--relink-delay", "0.2"],
                         startup_timeout_s=20.0)
    saved = {k: os.environ.get(k) for k in ("DBUS_SYSTEM_BUS_ADDRESS", "PATH")}
    strap.start()
    os.environ["DBUS_SYSTEM_BUS_ADDRESS"] = strap.bus_address
    os.environ["PATH"] = f"{bluetoothctl_stub(folder)}{os.pathsep}{saved['PATH'] or ''}"
    try:
        with SessionStore(folder / "soak.sqlite3") as store:
            source = BleHeartRateStrap(
                strap.device_address, scan_timeout_s=5.0, connect_timeout_s=5.0,
                give_up_after_s=30.0, backoff_s=(0.1, 0.2, 0.5), data_timeout_s=0.5,
            )
            session = LiveSession(source, store=store, neurokit=False)

            async def run() -> tuple[_Driver, float]:
                loop = asyncio.get_running_loop()
                t0 = loop.time()
                # Leave the strap time for the faults' recoveries to fit in.
                driver = _Driver(strap, faults, speed, t0 + virtual_hours * 3600.0 / speed,
                                 beats_between=int(virtual_hours * 3600 / n_faults / 3))

                def listen(event: object) -> None:
                    if driver(event, session):
                        session.request_stop()

                session.subscribe(listen)
                await asyncio.wait_for(session.run(), virtual_hours * 3600 / speed * 4 + 60)
                for ghost in driver.ghosts:
                    await ghost.leave()
                for task in driver.tasks:
                    await task
                return driver, loop.time() - t0

            driver, wall_s = asyncio.run(run())
            rss_end = rss_mb()
            rec = store.load_recording(session.session_id)
            info = store.session_info(session.session_id)
    finally:
        strap.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return _check(strap, rec, info.status, driver, wall_s, rss_end, virtual_hours, speed)


def _check(strap: VirtualStrap, rec: Any, status: str, driver: _Driver, wall_s: float,
           rss_end: float, virtual_hours: float, speed: float) -> SoakReport:
    problems: list[str] = []
    packets = strap.packets()
    stored = rec.rr_ms
    n = len(stored)
    match = match_packets(stored, packets, ignore=driver.ghost_names)
    if match.mismatch is not None:
        problems.append(f"stored RR differ from the delivered ones from beat {match.mismatch}"
                        f" (stored {n}, delivered {match.expected})")
    tail = match.expected - n
    if not 0 <= tail <= 9:
        problems.append(f"{tail} delivered beats missing at the end (at most one packet)")
    if np.any(np.diff(rec.time_s) < 0):
        problems.append("beat times go backwards")
    # Every stretch the app did not hear (beats the strap sent, undelivered) lies at a
    # segment break, and every break is a gap with a reason.
    breaks = set((np.flatnonzero(np.diff(rec.segment_ids()) != 0) + 1).tolist())
    lost_outside = 0
    position = 0
    lost_before = False
    for p, heard in zip(packets, match.heard, strict=True):
        if heard:
            if lost_before and p["rr_raw"] and position not in breaks and position < n:
                lost_outside += 1
            if p["rr_raw"]:
                lost_before = False
            position += len(p["rr_raw"])
        elif p["rr_raw"] and position > 0:
            lost_before = True
    if lost_outside:
        problems.append(f"{lost_outside} lost stretches without a gap")
    disconnected = [m for m in rec.markers if m.label == "disconnected"]
    reconnected = [m for m in rec.markers if m.label == "reconnected"]
    breaking = sum(f in BREAKING for f in driver.done)
    if len(disconnected) != breaking or len(reconnected) != breaking:
        problems.append(f"{breaking} link-ending faults but {len(disconnected)} disconnected "
                        f"and {len(reconnected)} reconnected markers")
    if len(rec.gaps) != breaking:
        problems.append(f"{len(rec.gaps)} gaps for {breaking} link-ending faults: "
                        f"{[str(g.reason) for g in rec.gaps]}")
    if status != "complete":
        problems.append(f"session status {status}")
    if driver.rss_start is None:
        problems.append("the soak never reached its memory baseline")
    growth = rss_end - (driver.rss_start or rss_end)
    if growth >= 20.0:
        problems.append(f"memory grew by {growth:.1f} MB")
    gaps: dict[str, int] = {}
    for g in rec.gaps:
        gaps[str(g.reason)] = gaps.get(str(g.reason), 0) + 1
    copies = sum("Each packet arrives" in m for m in driver.statuses)
    return SoakReport(
        virtual_hours=virtual_hours, speed=speed, faults=driver.done, wall_s=wall_s,
        beats_stored=n, beats_expected=match.expected, beats_lost_outside_gaps=lost_outside,
        disconnections=len(disconnected),
        reconnect_s=[float(m.extra["after_s"]) for m in reconnected], gaps=gaps,
        rss_growth_mb=growth, status=status, copies_dropped_sessions=copies,
        problems=problems,
    )
