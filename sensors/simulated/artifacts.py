"""Artifacts a chest strap adds to the clean beats: missed, extra and ectopic beats.

Dropped notifications are link-level losses and are applied later, per notification (see
``engine``); their rate lives here too so one object describes every artifact.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from biofeedback.core.types import ArtifactClass
from sensors.simulated._streams import IndexedStream, Stream, check_seed
from sensors.simulated.physiology import CleanBeats

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

NORMAL: Final = 0
MISSED: Final = 1
EXTRA: Final = 2
ECTOPIC: Final = 3
KIND_NAMES: Final = np.array(
    [ArtifactClass.NORMAL.value, ArtifactClass.MISSED.value, ArtifactClass.EXTRA.value,
     ArtifactClass.ECTOPIC.value]
)
"""Artifact class name by code; the names are those of :class:`ArtifactClass`."""

EXTRA_SPLIT = (0.2, 0.8)
"""A spurious detection falls uniformly within this fraction of the interval it splits."""
ECTOPIC_PREMATURITY = (0.2, 0.4)
"""A premature beat comes this fraction of an RR early; the compensatory pause makes up for
it, so the pair sums to the two clean intervals (a full compensatory pause, as after most
premature ventricular contractions; model choice)."""


@dataclass(frozen=True, slots=True)
class ArtifactRates:
    """How often the simulated strap errs.

    Parameters
    ----------
    missed : float
        Probability per clean beat that the strap misses it: its interval and the next are
        delivered as one (about 2 RR).
    extra : float
        Probability per clean beat that a spurious detection splits its interval in two.
    ectopic_pair : float
        Probability per clean beat of a premature beat followed by a compensatory long
        interval (short + long ~= 2 RR).
    dropped_notification : float
        Probability per notification that it is lost on the link: its RR values are never
        delivered, as on a real strap.

    Notes
    -----
    A beat that already belongs to a missed or ectopic pair cannot start another artifact,
    so realised counts are lower by a factor ``1 - missed - ectopic_pair`` (negligible at
    realistic rates). True ectopy in healthy adults is about 0.2 % of beats (docs/domain.md
    section 4).
    """

    missed: float = 0.0
    extra: float = 0.0
    ectopic_pair: float = 0.0
    dropped_notification: float = 0.0

    def __post_init__(self) -> None:
        for name in ("missed", "extra", "ectopic_pair", "dropped_notification"):
            value = getattr(self, name)
            if not (0.0 <= value <= 1.0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a probability in 0..1, got {value}")
        if self.per_beat > 1.0:
            raise ValueError("missed + extra + ectopic_pair must not exceed 1")

    @classmethod
    def from_total(cls, fraction: float, *, dropped_notification: float = 0.0) -> ArtifactRates:
        """Split a total per-beat artifact probability evenly over missed, extra, ectopic."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"fraction must be within 0..1, got {fraction}")
        third = fraction / 3.0
        return cls(third, third, third, dropped_notification)

    @property
    def per_beat(self) -> float:
        """Total probability per clean beat of starting a missed, extra or ectopic artifact."""
        return self.missed + self.extra + self.ectopic_pair

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SensorBeats:
    """Beats as the strap detected them (before any notification is lost).

    Attributes
    ----------
    time_s : ndarray of float
        True time of each detection, s.
    kind : ndarray of int
        Artifact code (``NORMAL``, ``MISSED``, ``EXTRA``, ``ECTOPIC``; names in
        ``KIND_NAMES``). Both intervals of an extra or ectopic pair carry the code.
    clean_k : ndarray of int
        Absolute number of the clean beat the detection coincides with, -1 for a spurious or
        premature detection.
    release_s : ndarray of float
        Time of the clean beat whose detection completed this interval; the strap reports
        it in the first notification sent at or after this time, s.
    """

    time_s: FloatArray
    kind: IntArray
    clean_k: IntArray
    release_s: FloatArray

    def __len__(self) -> int:
        return int(self.time_s.size)


class ArtifactInjector:
    """Turns clean beats into detections, one chunk at a time, independent of chunking.

    Parameters
    ----------
    seed : int
        Simulation seed.
    rates : ArtifactRates
        Artifact probabilities.
    """

    def __init__(self, seed: int, rates: ArtifactRates) -> None:
        self.rates = rates
        seed = check_seed(seed)
        self._kind_stream = IndexedStream(seed, Stream.ARTIFACT_KIND)
        self._shape_stream = IndexedStream(seed, Stream.ARTIFACT_SHAPE)
        self._pending = NORMAL
        """Kind of a two-beat artifact begun on the last beat of the previous chunk."""
        self._prev_tj = math.nan

    def set_previous(self, time_s: float) -> None:
        """Time of the clean beat before the first one that will be processed, s."""
        self._prev_tj = time_s

    def process(self, beats: CleanBeats) -> SensorBeats:
        """Detections produced by ``beats`` (consecutive clean beats, in order)."""
        n = len(beats)
        if n == 0:
            empty_i = np.empty(0, dtype=np.int64)
            return SensorBeats(np.empty(0), empty_i, empty_i.copy(), np.empty(0))
        k0 = int(beats.k[0])
        r = self.rates
        code = np.zeros(n, dtype=np.int64)
        if r.per_beat > 0.0:
            u = self._kind_stream.get(k0, k0 + n)
            code[u < r.missed + r.extra + r.ectopic_pair] = ECTOPIC
            code[u < r.missed + r.extra] = EXTRA
            code[u < r.missed] = MISSED
        # second[i] = kind of the two-beat artifact beat i completes (NORMAL if none).
        second = np.zeros(n, dtype=np.int64)
        blocked = -1
        if self._pending != NORMAL:
            second[0] = self._pending
            code[0] = NORMAL
            blocked = 0
        for i in np.flatnonzero(code).tolist():
            if i == blocked:
                code[i] = NORMAL
                continue
            if code[i] in (MISSED, ECTOPIC):
                if i + 1 < n:
                    second[i + 1] = code[i]
                blocked = i + 1
        self._pending = int(code[-1]) if code[-1] in (MISSED, ECTOPIC) else NORMAL

        tj = beats.time_s
        prev = np.concatenate(([self._prev_tj], tj[:-1]))
        self._prev_tj = float(tj[-1])
        shape = self._shape_stream.get(k0, k0 + n)

        counts = np.ones(n, dtype=np.int64)
        counts[code == MISSED] = 0
        counts[code == EXTRA] = 2
        pos = np.cumsum(counts) - counts
        m = int(counts.sum())
        out_t = np.empty(m)
        out_kind = np.empty(m, dtype=np.int64)
        out_k = np.empty(m, dtype=np.int64)
        out_rel = np.empty(m)

        has = counts > 0
        first = pos[has]
        # Default: the detection is the clean beat itself.
        out_t[first] = tj[has]
        out_k[first] = beats.k[has]
        out_kind[first] = np.where(second[has] != NORMAL, second[has], NORMAL)
        out_rel[first] = tj[has]
        # Extra: a spurious detection inside the interval, then the clean beat.
        ex = np.flatnonzero(code == EXTRA)
        if ex.size:
            lo, hi = EXTRA_SPLIT
            frac = lo + (hi - lo) * shape[ex]
            out_t[pos[ex]] = prev[ex] + frac * (tj[ex] - prev[ex])
            out_k[pos[ex]] = -1
            out_kind[pos[ex]] = EXTRA
            out_t[pos[ex] + 1] = tj[ex]
            out_k[pos[ex] + 1] = beats.k[ex]
            out_kind[pos[ex] + 1] = EXTRA
            out_rel[pos[ex] + 1] = tj[ex]
        # Ectopic: the premature beat comes early; the next clean beat ends the pair.
        ec = np.flatnonzero(code == ECTOPIC)
        if ec.size:
            lo, hi = ECTOPIC_PREMATURITY
            early = lo + (hi - lo) * shape[ec]
            out_t[pos[ec]] = tj[ec] - early * (tj[ec] - prev[ec])
            out_k[pos[ec]] = -1
            out_kind[pos[ec]] = ECTOPIC
        return SensorBeats(out_t, out_kind, out_k, out_rel)
