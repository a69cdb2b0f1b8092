"""What really happened in a simulation, for tests and benchmarks to compare analyses with."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sensors.simulated.artifacts import KIND_NAMES, ArtifactRates
from sensors.simulated.physiology import Conditions, PhysiologySegment, Schedule

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class ArtifactEvent:
    """One injected artifact.

    Attributes
    ----------
    kind : str
        ``"missed"``, ``"extra"`` or ``"ectopic"`` (:class:`ArtifactClass` values).
    sensor_index : int
        Index of its first interval in the strap's detected series (``sensor_*`` arrays).
    delivered_index : int
        Index of that interval in the delivered series, -1 if its notification was lost.
    time_s : float
        True time at which that first interval ends, s.
    n_intervals : int
        Delivered intervals it spans: 1 for missed (one ~2 RR interval), 2 for extra
        (two short ones) and ectopic (short then long).
    """

    kind: str
    sensor_index: int
    delivered_index: int
    time_s: float
    n_intervals: int


@dataclass(frozen=True, slots=True)
class DroppedNotification:
    """A notification lost on the link.

    Attributes
    ----------
    index : int
        Notification number (1 = the first, sent at 1 s).
    received_s : float
        Time it would have been received, s.
    rr_ms : tuple of float
        The RR values it carried, ms, never delivered.
    """

    index: int
    received_s: float
    rr_ms: tuple[float, ...]


@dataclass(frozen=True)
class SimulationGroundTruth:
    """Clean beats, detections, deliveries and conditions of one simulation.

    Attributes
    ----------
    clean_rr_ms, clean_time_s : ndarray of float
        The clean (sinus) series: RR ms and true beat time s (end of each interval), from
        the first beat after session start up to the last notification.
    sensor_rr_ms, sensor_time_s : ndarray of float
        What the strap detected (artifacts included, nothing lost yet): RR ms (at the
        strap's 1/1024 s resolution unless disabled) and true detection time s.
    sensor_artifact : ndarray of str
        ``"normal"``, ``"missed"``, ``"extra"`` or ``"ectopic"`` per detected interval.
    sensor_clean_index : ndarray of int
        Index into ``clean_*`` of the clean beat that ends the interval, -1 when it ends at a
        spurious (extra) or premature (ectopic) detection.
    sensor_notification : ndarray of int
        Number of the notification that carried each interval (1-based).
    sensor_delivered : ndarray of bool
        False where that notification was dropped.
    notification_received_s : ndarray of float
        Receive time of every notification sent, dropped ones included, s (index n-1 for
        notification n).
    notification_dropped : ndarray of bool
        Whether each notification was lost.
    artifacts : tuple of ArtifactEvent
        Injected artifacts in time order.
    dropped : tuple of DroppedNotification
        Lost notifications in time order.
    schedule : tuple of PhysiologySegment
        The conditions as they ran, run-time changes included.
    rates : ArtifactRates
        Artifact probabilities used.
    """

    clean_rr_ms: FloatArray
    clean_time_s: FloatArray
    sensor_rr_ms: FloatArray
    sensor_time_s: FloatArray
    sensor_artifact: npt.NDArray[np.str_]
    sensor_clean_index: IntArray
    sensor_notification: IntArray
    sensor_delivered: BoolArray
    notification_received_s: FloatArray
    notification_dropped: BoolArray
    artifacts: tuple[ArtifactEvent, ...]
    dropped: tuple[DroppedNotification, ...]
    schedule: tuple[PhysiologySegment, ...]
    rates: ArtifactRates
    _schedule: Schedule

    # -- delivered series --------------------------------------------------------------------

    @property
    def delivered_rr_ms(self) -> FloatArray:
        """RR values the host received, ms, in order."""
        return self.sensor_rr_ms[self.sensor_delivered]

    @property
    def delivered_time_s(self) -> FloatArray:
        """True end time of each delivered interval, s."""
        return self.sensor_time_s[self.sensor_delivered]

    @property
    def delivered_artifact(self) -> npt.NDArray[np.str_]:
        """Artifact class of each delivered interval."""
        return self.sensor_artifact[self.sensor_delivered]

    @property
    def delivered_clean_index(self) -> IntArray:
        """Clean counterpart (index into ``clean_*``) of each delivered interval, or -1."""
        return self.sensor_clean_index[self.sensor_delivered]

    # -- conditions --------------------------------------------------------------------------

    def conditions_at(self, t: float | FloatArray) -> Conditions:
        """Scheduled mean HR (bpm), breathing rate (breaths/min) and vagal level at ``t`` (s).

        These are the smoothed targets the model follows; the realised heart rate also
        carries the oscillations and a small IPFM bias (< 1 %).
        """
        return self._schedule.conditions_at(t)

    def clean_window(self, start_s: float, end_s: float) -> FloatArray:
        """Clean RR (ms) of the beats whose true time lies in ``[start_s, end_s)``."""
        t = self.clean_time_s
        return self.clean_rr_ms[(t >= start_s) & (t < end_s)]

    @property
    def duration_s(self) -> float:
        """Receive time of the last notification, s (0 before any)."""
        if self.notification_received_s.size == 0:
            return 0.0
        return float(self.notification_received_s[-1])


def build_artifact_events(
    kind_code: IntArray, time_s: FloatArray, delivered: BoolArray
) -> tuple[ArtifactEvent, ...]:
    """List artifacts from per-interval codes (both intervals of a pair carry the code)."""
    delivered_index = np.cumsum(delivered) - 1
    nz = np.flatnonzero(kind_code)
    events: list[ArtifactEvent] = []
    i = 0
    idx = nz.tolist()
    codes = kind_code.tolist()
    while i < len(idx):
        j = idx[i]
        code = codes[j]
        span = 1 if KIND_NAMES[code] == "missed" else 2
        events.append(
            ArtifactEvent(
                str(KIND_NAMES[code]), j,
                int(delivered_index[j]) if delivered[j] else -1,
                float(time_s[j]), span,
            )
        )
        i += span
    return tuple(events)
