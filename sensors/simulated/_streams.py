"""Random numbers addressed by absolute index, so a simulation is the same however it is cut.

Every random quantity of the simulated strap (beat jitter, artifact draws, notification
latency, dropped notifications) is taken from its own stream, and value ``i`` of a stream is a
fixed function of ``(seed, stream, i)``. Generating 24 h at once or one notification at a
time therefore gives identical numbers, and changing one stream (say the artifact rates) never
shifts the others (the clean beats stay the same).
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

_BLOCK = 4096
"""Values per independently seeded block."""


class Stream(enum.IntEnum):
    """Identifiers of the independent random streams (part of the seed material)."""

    INIT = 1
    BEAT_JITTER = 2
    ARTIFACT_KIND = 3
    ARTIFACT_SHAPE = 4
    NOTIFICATION_LATENCY = 5
    NOTIFICATION_DROP = 6


def check_seed(seed: int) -> int:
    """Return ``seed`` as a non-negative int or raise ``ValueError``."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def init_rng(seed: int) -> np.random.Generator:
    """Generator for the one-off draws made when a simulation is set up."""
    return np.random.default_rng([check_seed(seed), int(Stream.INIT)])


class IndexedStream:
    """Uniform [0, 1) or standard-normal numbers, value ``i`` fixed by (seed, stream, i).

    Parameters
    ----------
    seed : int
        Simulation seed (non-negative).
    stream : Stream
        Which stream.
    normal : bool
        Standard normal values when True, uniform [0, 1) otherwise.
    """

    def __init__(self, seed: int, stream: Stream, *, normal: bool = False) -> None:
        self._seed = check_seed(seed)
        self._stream = int(stream)
        self._normal = normal
        self._cache: dict[int, FloatArray] = {}

    def _block(self, b: int) -> FloatArray:
        block = self._cache.get(b)
        if block is None:
            rng = np.random.default_rng([self._seed, self._stream, b])
            block = rng.standard_normal(_BLOCK) if self._normal else rng.random(_BLOCK)
            if len(self._cache) >= 4:  # streams are read forwards: keep only recent blocks
                self._cache.pop(min(self._cache))
            self._cache[b] = block
        return block

    def get(self, start: int, stop: int) -> FloatArray:
        """Values ``start .. stop-1`` (``start >= 0``) as a new array."""
        if start < 0 or stop < start:
            raise ValueError(f"bad index range [{start}, {stop})")
        if stop == start:
            return np.empty(0)
        first, last = start // _BLOCK, (stop - 1) // _BLOCK
        if first == last:
            off = first * _BLOCK
            return self._block(first)[start - off : stop - off].copy()
        parts = [self._block(b) for b in range(first, last + 1)]
        joined = np.concatenate(parts)
        off = first * _BLOCK
        return joined[start - off : stop - off]
