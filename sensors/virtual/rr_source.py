"""Where the virtual strap's beats come from: the simulator or an RR text file.

Both sources are read one virtual second at a time: :meth:`RRSource.next_second` returns
the RR intervals (1/1024-s units, as on the wire) completed during that second, 0..n of them,
and the strap's own heart rate at that moment.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

import numpy as np

from biofeedback.core.recording import Recording
from sensors.ble.gatt import RR_UNITS_PER_SECOND, rr_ms_to_raw
from sensors.simulated import SimulationEngine

HR_WINDOW_BEATS = 4
"""Heart rate in a packet = 60000 / mean of the last 4 RR (as the simulator's strap)."""


class RRSource(Protocol):
    """A strap's beat source, read one virtual second at a time."""

    def next_second(self) -> tuple[list[int], int]:
        """RR (1/1024 s) completed in the next virtual second, and the heart rate (bpm)."""
        ...

    @property
    def exhausted(self) -> bool:
        """True once no beat will ever come again (file sources at their end)."""
        ...


class _HeartRate:
    """60000 / mean of the last few RR, kept across seconds with no beat."""

    def __init__(self) -> None:
        self._tail: deque[int] = deque(maxlen=HR_WINDOW_BEATS)
        self.bpm = 0

    def update(self, rr_raw: list[int]) -> int:
        self._tail.extend(rr_raw)
        if rr_raw and self._tail:
            mean_ms = sum(self._tail) * 1000.0 / RR_UNITS_PER_SECOND / len(self._tail)
            self.bpm = max(0, min(255, round(60000.0 / mean_ms)))
        return self.bpm


class SimulatedRRSource:
    """Beats from :class:`~sensors.simulated.SimulationEngine` (resting, no artifacts).

    Notification ``n`` of the engine is the packet of virtual second ``n``; its RR are
    already whole 1/1024-s ticks, so the conversion to raw units is exact.

    Parameters
    ----------
    seed : int
        Simulator seed (non-negative).
    """

    def __init__(self, seed: int = 0) -> None:
        self.engine = SimulationEngine(seed)
        self._hr = _HeartRate()

    @property
    def exhausted(self) -> bool:
        """Never: the simulator runs forever."""
        return False

    def next_second(self) -> tuple[list[int], int]:
        """RR and heart rate of the next notification of the simulator."""
        block = self.engine.advance(self.engine.next_notification_s())
        rr_ms = block.rr_ms[int(block.offsets[0]) : int(block.offsets[1])]
        rr_raw = [rr_ms_to_raw(float(v)) for v in rr_ms]
        fallback = self._hr.update(rr_raw)
        hr = float(block.heart_rate_bpm[0]) if len(block) else math.nan
        return rr_raw, (int(hr) if math.isfinite(hr) else fallback)


class FileRRSource:
    """Beats of a recording (e.g. an RR text file read by the virtual strap's command line).

    Beat ``i`` happens at the cumulative sum of the RR up to it (in whole 1/1024-s ticks);
    virtual second ``k`` (1, 2, ...) carries the beats in ``(k - 1, k]`` s. After the last
    beat the source keeps answering with no RR and the last heart rate: the strap goes on
    sending HR-only packets, as a real strap does while it detects no beat.

    Parameters
    ----------
    recording : Recording
        The beats to play; only their RR intervals (ms) are used. The caller reads the file,
        so this source knows no file format.
    """

    def __init__(self, recording: Recording) -> None:
        self.rr_raw = [rr_ms_to_raw(float(v)) for v in np.asarray(recording.rr_ms)]
        self._ticks = np.cumsum(np.asarray(self.rr_raw, dtype=np.int64))
        self._next = 0
        self._second = 0
        self._hr = _HeartRate()

    @property
    def exhausted(self) -> bool:
        """True once every beat of the file has been handed out."""
        return self._next >= len(self.rr_raw)

    def next_second(self) -> tuple[list[int], int]:
        """RR of the beats in the next virtual second, and the heart rate."""
        self._second += 1
        end_tick = self._second * RR_UNITS_PER_SECOND
        stop = int(np.searchsorted(self._ticks, end_tick, side="right"))
        rr = self.rr_raw[self._next : stop]
        self._next = max(self._next, stop)
        return rr, self._hr.update(rr)
