"""A whole simulated strap recording at once: notifications plus ground truth."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sensors.simulated.artifacts import ArtifactRates
from sensors.simulated.engine import DEFAULT_INTERVAL_S, RR_RESOLUTION_S, SimulationEngine
from sensors.simulated.physiology import PhysiologyParams, PhysiologySegment
from sensors.simulated.truth import SimulationGroundTruth

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Notification:
    """One Heart Rate Measurement as the host received it.

    Attributes
    ----------
    received_s : float
        Receive time on the session clock, s.
    rr_ms : tuple of float
        RR values it carried, ms, oldest first (may be empty).
    heart_rate_bpm : float or None
        The strap's own heart rate, bpm (None before its first beat).
    index : int
        Notification number (1-based; gaps in the numbering are dropped notifications).
    """

    received_s: float
    rr_ms: tuple[float, ...]
    heart_rate_bpm: float | None
    index: int


@dataclass(frozen=True)
class SimulatedRecording:
    """The received notifications of a simulated session, as arrays, and its ground truth.

    Attributes
    ----------
    received_s : ndarray of float
        Receive time of each received notification, s (dropped ones are absent).
    index : ndarray of int
        Notification number of each.
    heart_rate_bpm : ndarray of float
        The strap's heart rate per notification, bpm (NaN before the first beat).
    offsets : ndarray of int
        ``rr_ms[offsets[i]:offsets[i+1]]`` are the RR of notification i.
    rr_ms : ndarray of float
        Every delivered RR, ms, in order.
    truth : SimulationGroundTruth
        What really happened.
    settings : dict
        Seed, schedule, artifact rates and model constants (JSON-serialisable).
    """

    received_s: FloatArray
    index: IntArray
    heart_rate_bpm: FloatArray
    offsets: IntArray
    rr_ms: FloatArray
    truth: SimulationGroundTruth
    settings: dict[str, Any]

    def __len__(self) -> int:
        return int(self.received_s.size)

    def iter_notifications(self) -> Iterator[Notification]:
        """The received notifications in order, built on demand."""
        rr = self.rr_ms.tolist()
        off = self.offsets.tolist()
        for i, (t, hr, n) in enumerate(
            zip(self.received_s.tolist(), self.heart_rate_bpm.tolist(), self.index.tolist(),
                strict=True)
        ):
            yield Notification(t, tuple(rr[off[i] : off[i + 1]]), None if hr != hr else hr, n)

    def notifications(self) -> list[Notification]:
        """The received notifications as a list."""
        return list(self.iter_notifications())


def simulate_recording(
    duration_s: float,
    *,
    seed: int = 0,
    schedule: Sequence[PhysiologySegment] | None = None,
    artifacts: ArtifactRates | None = None,
    params: PhysiologyParams | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    rr_resolution_s: float | None = RR_RESOLUTION_S,
) -> SimulatedRecording:
    """Simulate a strap session of ``duration_s`` seconds in one vectorised pass.

    Parameters
    ----------
    duration_s : float
        Session length, s: every notification received up to it is produced.
    seed : int
        Seed (non-negative); same seed, same recording.
    schedule : sequence of PhysiologySegment, optional
        Conditions over time; default one resting segment (65 bpm, 12 breaths/min,
        vagal level 0.5).
    artifacts : ArtifactRates, optional
        Artifact probabilities; default none.
    params : PhysiologyParams, optional
        Model constants.
    interval_s : float
        Notification period, s. Default 1.
    rr_resolution_s : float or None
        RR resolution, s; default 1/1024 as on the wire; None for full precision.

    Returns
    -------
    SimulatedRecording
        Identical to what :class:`SimulatedStrap` with the same arguments delivers.
    """
    if not duration_s >= 0.0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    engine = SimulationEngine(
        seed, schedule=schedule, artifacts=artifacts, params=params, interval_s=interval_s,
        rr_resolution_s=rr_resolution_s,
    )
    block = engine.advance(float(duration_s))
    keep = ~block.dropped
    counts = np.diff(block.offsets)
    per_rr_keep = np.repeat(keep, counts)
    kept_counts = counts[keep]
    offsets = np.concatenate(([0], np.cumsum(kept_counts))).astype(np.int64)
    settings = engine.settings()
    settings["duration_s"] = float(duration_s)
    return SimulatedRecording(
        received_s=block.received_s[keep],
        index=block.index[keep],
        heart_rate_bpm=block.heart_rate_bpm[keep],
        offsets=offsets,
        rr_ms=block.rr_ms[per_rr_keep],
        truth=engine.ground_truth(),
        settings=settings,
    )
