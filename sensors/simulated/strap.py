"""A heart-rate source that behaves like a Bluetooth chest strap, fed by the simulation."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from typing import Any, ClassVar

from biofeedback.core.beat_clock import BeatClock
from biofeedback.core.source import HeartRateSource, SourceCapabilities
from biofeedback.core.types import Connected, SourceState
from sensors.simulated.artifacts import ArtifactRates
from sensors.simulated.engine import RR_RESOLUTION_S, UNCHANGED, SimulationEngine
from sensors.simulated.physiology import PhysiologyParams, PhysiologySegment
from sensors.simulated.truth import SimulationGroundTruth

FIRMWARE = "sim-1.0"


def _parse_speed(speed: float | str | None) -> float | None:
    """``None``/``"max"`` -> None (as fast as consumed); otherwise a positive float."""
    if speed is None or (isinstance(speed, str) and speed.lower() == "max"):
        return None
    if isinstance(speed, str):
        raise ValueError(f"speed must be a positive number or 'max', got {speed!r}")
    value = float(speed)
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"speed must be a positive number or 'max', got {speed!r}")
    return value


class SimulatedStrap(HeartRateSource):
    """Simulated chest strap: one notification about once a second, each with 0..n RR.

    Beats come from :class:`~sensors.simulated.engine.SimulationEngine` (physiology, then
    missed/extra/ectopic beats, then lost notifications) and are timed by
    :class:`~biofeedback.core.beat_clock.BeatClock` from the receive times, exactly as for a
    real strap; a lost notification therefore shows up as clock drift, and as a
    :class:`~biofeedback.core.types.Gap` once the drift exceeds 1.5 x the median RR.

    Parameters
    ----------
    seed : int
        Seed of every random choice (non-negative).
    speed : float, "max" or None
        Session seconds per wall second (1 = real time, 20 = twenty times faster), or
        ``"max"``/None to deliver as fast as the consumer takes events.
    duration_s : float or None
        Session length, s; None runs until :meth:`stop`.
    schedule : sequence of PhysiologySegment, optional
        Conditions over time; default one resting segment.
    artifacts : ArtifactRates, optional
        Artifact probabilities; default none.
    params : PhysiologyParams, optional
        Model constants.
    rr_resolution_s : float or None
        Resolution of the delivered RR, s; default 1/1024 as on the wire.
    queue_size : int
        Events buffered ahead of the consumer. Small by default so run-time changes
        (:meth:`set_conditions`) act close to what the consumer sees.

    Notes
    -----
    The session clock is the simulated time: notification n is received at about n s plus
    a 10-40 ms link latency, whatever the speed. Beat times from the beat clock are anchored
    to receive times and so differ from the true times in :meth:`ground_truth` by the
    unknown delay between a beat and its notification (0-1 s), as with a real strap.
    """

    kind: ClassVar[str] = "sim"
    capabilities: ClassVar[SourceCapabilities] = SourceCapabilities(live=True, has_battery=True)

    def __init__(
        self,
        *,
        seed: int = 0,
        speed: float | str | None = 1.0,
        duration_s: float | None = None,
        schedule: Sequence[PhysiologySegment] | None = None,
        artifacts: ArtifactRates | None = None,
        params: PhysiologyParams | None = None,
        rr_resolution_s: float | None = RR_RESOLUTION_S,
        queue_size: int = 16,
    ) -> None:
        super().__init__(queue_size=queue_size)
        self._speed = _parse_speed(speed)
        if duration_s is not None and not (duration_s >= 0.0 and math.isfinite(duration_s)):
            raise ValueError(f"duration_s must be >= 0 or None, got {duration_s}")
        self._duration = None if duration_s is None else float(duration_s)
        self._engine = SimulationEngine(
            seed, schedule=schedule, artifacts=artifacts, params=params,
            rr_resolution_s=rr_resolution_s,
        )
        self._initial_schedule = self._engine.schedule
        self._clock = BeatClock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0_wall: float | None = None
        self._delivered_s = 0.0
        self._end_s: float | None = None

    # -- information -------------------------------------------------------------------------

    @property
    def device_info(self) -> dict[str, Any]:
        """What a real strap would report through Device Information and Battery services."""
        return {
            "model": "Simulated strap",
            "manufacturer": "biofeedback",
            "firmware": FIRMWARE,
            "body_location": "chest",
            "battery": 100,
            "address": f"sim:{self._engine.seed}",
        }

    @property
    def settings(self) -> dict[str, Any]:
        """Seed, speed, duration, schedule (as started), artifact rates, model constants."""
        out = self._engine.settings()
        out["schedule"] = [s.to_dict() for s in self._initial_schedule]
        out["speed"] = "max" if self._speed is None else self._speed
        out["duration_s"] = self._duration
        return out

    def session_time_s(self) -> float:
        """Simulated session time, s.

        At a set speed, the scheduled current time (wall time elapsed x speed, never behind
        the last notification delivered); at maximum speed, the receive time of the last
        notification delivered. 0 before streaming starts.
        """
        if self._end_s is not None:
            return self._end_s
        if self._speed is None or self._t0_wall is None or self._loop is None:
            return self._delivered_s
        now = (self._loop.time() - self._t0_wall) * self._speed
        if self._duration is not None:
            now = min(now, self._duration)
        return max(now, self._delivered_s)

    def ground_truth(self) -> SimulationGroundTruth:
        """What really happened up to the last notification produced."""
        return self._engine.ground_truth()

    @property
    def schedule(self) -> tuple[PhysiologySegment, ...]:
        """Conditions in force, run-time changes included."""
        return self._engine.schedule

    # -- control -----------------------------------------------------------------------------

    def set_conditions(
        self,
        *,
        mean_hr_bpm: float | None = UNCHANGED,
        breaths_per_min: float = UNCHANGED,
        vagal_level: float = UNCHANGED,
        transition_s: float = UNCHANGED,
    ) -> PhysiologySegment:
        """Change the simulated person's state from the current session time on.

        Omitted values are kept; ``mean_hr_bpm=None`` lets the heart rate follow the vagal
        level. The change starts within ~0.15 s of :meth:`session_time_s` (after every beat
        already delivered) and is reached along the segment's smooth transition. Scheduled
        segments after it are dropped.

        Returns
        -------
        PhysiologySegment
            The new segment, with the session time it starts at.
        """
        return self._engine.set_conditions(
            self.session_time_s(),
            mean_hr_bpm=mean_hr_bpm,
            breaths_per_min=breaths_per_min,
            vagal_level=vagal_level,
            transition_s=transition_s,
        )

    # -- producer ----------------------------------------------------------------------------

    async def _run(self) -> None:
        await self._set_state(SourceState.CONNECTING, "Connecting to the simulated strap")
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._t0_wall = loop.time()
        # No address: a simulated strap is not one to remember and connect to again.
        await self._emit(Connected(self.session_time_s(), self.device_info))
        await self._set_state(SourceState.STREAMING, "Streaming from the simulated strap")
        engine = self._engine
        while True:
            due = engine.next_notification_s()
            if self._duration is not None and due > self._duration:
                break
            await self._wait_until(due)
            block = engine.advance(due)
            off = block.offsets.tolist()
            rr_all = block.rr_ms.tolist()
            for i, (received, dropped, hr) in enumerate(
                zip(block.received_s.tolist(), block.dropped.tolist(),
                    block.heart_rate_bpm.tolist(), strict=True)
            ):
                if dropped:
                    continue
                batch, gap = self._clock.push(
                    received, tuple(rr_all[off[i] : off[i + 1]]),
                    heart_rate_bpm=None if math.isnan(hr) else hr, sensor_contact=True,
                )
                self._delivered_s = received
                if gap is not None:
                    await self._emit(gap)
                await self._emit(batch)
            self._delivered_s = max(self._delivered_s, engine.received_until_s)
        if self._duration is not None:
            await self._wait_until(self._duration)
            self._delivered_s = self._duration
        self._end_s = self._delivered_s

    async def _cleanup(self) -> None:
        if self._end_s is None:  # stopped early: freeze the clock where it was
            self._end_s = self.session_time_s()

    async def _wait_until(self, session_s: float) -> None:
        """Sleep until ``session_s`` on the paced clock; at max speed just yield."""
        if self._speed is None or self._loop is None or self._t0_wall is None:
            await asyncio.sleep(0)
            return
        delay = self._t0_wall + session_s / self._speed - self._loop.time()
        await asyncio.sleep(max(delay, 0.0))
