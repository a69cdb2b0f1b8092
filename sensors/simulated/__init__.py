"""Simulated chest strap: plausible RR intervals with artifacts, and their ground truth.

* :func:`simulate_recording` makes a whole recording at once (24 h in a fraction of a
  second), with a :class:`SimulationGroundTruth` to compare analyses against;
* :class:`SimulatedStrap` is a :class:`~biofeedback.core.source.HeartRateSource` that
  delivers the same beats in notification-like batches, in real time, faster, or as fast
  as consumed, and whose conditions can be changed while it runs.

The physiology (heart rate, breathing-coupled RSA with resonance near 6 breaths/min, Mayer
waves, drift, a 0..1 vagal level) is documented in :mod:`sensors.simulated.physiology`.
"""

from sensors.simulated.artifacts import ArtifactRates
from sensors.simulated.engine import UNCHANGED, NotificationBlock, SimulationEngine
from sensors.simulated.physiology import (
    Conditions,
    PhysiologyParams,
    PhysiologySegment,
    Schedule,
    rsa_gain,
)
from sensors.simulated.recording import Notification, SimulatedRecording, simulate_recording
from sensors.simulated.strap import SimulatedStrap
from sensors.simulated.truth import ArtifactEvent, DroppedNotification, SimulationGroundTruth

__all__ = [
    "UNCHANGED",
    "ArtifactEvent",
    "ArtifactRates",
    "Conditions",
    "DroppedNotification",
    "Notification",
    "NotificationBlock",
    "PhysiologyParams",
    "PhysiologySegment",
    "Schedule",
    "SimulatedRecording",
    "SimulatedStrap",
    "SimulationEngine",
    "SimulationGroundTruth",
    "rsa_gain",
    "simulate_recording",
]
