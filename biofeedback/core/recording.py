"""A whole recording in memory: the columns the store keeps, as numpy arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from biofeedback.core.signals import SignalChunk
from biofeedback.core.types import Gap, Marker, PhaseSpan

FloatArray = npt.NDArray[np.float64]


@dataclass
class Recording:
    """Beats, gaps, phases and markers of one session or file.

    Attributes
    ----------
    rr_ms : ndarray of float
        Raw RR intervals, ms, in arrival order.
    time_s : ndarray of float
        Beat times (end of each interval), s since session start.
    gaps : list of Gap
        Spans with missing beats; analysis never crosses them.
    phases : list of PhaseSpan
        Protocol phases (empty for a free recording).
    markers : list of Marker
        Annotations.
    artifact : ndarray of str, optional
        Live artifact class per beat (``""`` where not yet classified), when known.
    rr_corrected_ms : ndarray of float, optional
        Live corrected interval per beat (NaN where the beat was removed).
    corrected_count : ndarray of int, optional
        How many corrected intervals each raw beat stands for (0 removed, 2 for a split).
    received_s : ndarray of float, optional
        Receive time of the notification that carried each beat, s (live recordings only).
    sensor_contact : ndarray of float, optional
        1.0 contact, 0.0 no contact, NaN not reported (live recordings only).
    name : str
        Session id or file name, for messages.
    source : str
        Source kind (``"sim"``, ``"ble"``, ``"replay"``, ``"file"``).
    metadata : dict
        Device information, settings and provenance.
    acc : list of SignalChunk
        The chest accelerometer (``"acc"`` chunks, mG) when it was recorded; the analysis
        measures breathing from it (:mod:`biofeedback.core.acc_breathing`). Empty otherwise,
        and when the reader did not ask for it (``SessionStore.load_recording(signals=...)``).
    ecg : list of SignalChunk
        The raw ECG (``"ecg"`` chunks, µV) when it was recorded and asked for (a replay
        plays it to the ECG strip). Empty otherwise.
    """

    rr_ms: FloatArray
    time_s: FloatArray
    gaps: list[Gap] = field(default_factory=list)
    phases: list[PhaseSpan] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    artifact: npt.NDArray[np.str_] | None = None
    rr_corrected_ms: FloatArray | None = None
    corrected_count: npt.NDArray[np.int64] | None = None
    received_s: FloatArray | None = None
    sensor_contact: FloatArray | None = None
    name: str = ""
    source: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    acc: list[SignalChunk] = field(default_factory=list)
    ecg: list[SignalChunk] = field(default_factory=list)

    @property
    def n_beats(self) -> int:
        """Number of raw beats."""
        return int(self.rr_ms.size)

    @property
    def duration_s(self) -> float:
        """From session start (or the first interval's start) to the last beat, s."""
        if self.rr_ms.size == 0:
            return 0.0
        start = min(0.0, float(self.time_s[0] - self.rr_ms[0] / 1000.0))
        return float(self.time_s[-1]) - start

    def segment_ids(self) -> npt.NDArray[np.int64]:
        """Index of the gap-free segment each beat belongs to.

        A beat whose interval overlaps a gap (its time is after the gap start) opens a new
        segment, so successive differences, interpolation and correction can be restricted to
        one segment and never bridge a gap.
        """
        starts = np.zeros(self.rr_ms.size, dtype=np.int64)
        for gap in self.gaps:
            # The gap starts at the last beat before it; 1 us absorbs float rounding of times.
            idx = int(np.searchsorted(self.time_s, gap.start_s + 1e-6, side="right"))
            if 0 < idx < self.rr_ms.size:
                starts[idx] = 1
        return np.cumsum(starts)

    def between(self, start_s: float, end_s: float) -> npt.NDArray[np.bool_]:
        """Mask of beats with ``start_s <= time_s < end_s``."""
        return (self.time_s >= start_s) & (self.time_s < end_s)
