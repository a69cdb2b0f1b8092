"""Where one PMD stream's chunks go on the session clock: continuous, monotonic, corrected slowly.

The device-clock fit (:class:`~sensors.ble.pmd.timing.DeviceClockAligner`) improves as frames
arrive: its first estimate is as late as the first frame's radio delay (up to ~80 ms, more if
the link was busy), and each earlier-arriving frame moves it back. Placing every chunk where
the current fit says would make a stream's chunks overlap (a chunk starting before the last
one ended) or leave holes whenever the fit moves, and an RR interval measured across such a
seam would be off by the whole move.

So :class:`ChunkPlacer` starts a stream where the fit says, and then each chunk's first sample
follows the previous chunk's last one at the measured rate (the rate stays the one measured
on the device clock), shifted toward the fit's estimate by a fraction of the difference
(:data:`DEFAULT_GAIN`), never by more than :data:`DEFAULT_MAX_STEP_SAMPLES` of a sample. The
samples of a stream therefore never go back in time nor leave a hole wider than a sample, and
an RR interval across a seam is off by at most half a sample (3.8 ms at 130 Hz; the fit's own
jumps reach tens of ms in the first seconds). A stream at 130 Hz in 73-sample frames catches
up ~6.9 ms per second, 50 Hz in 36-sample frames ~14 ms per second.

The price is paid in the first seconds (``benchmarks/pmd_clock_warmup.py``, delays 0-80 ms):
an ECG started with the accelerometer keeps its first frame's delay for up to ~12 s, so its
chunk times in the first 30 s are off by 2.7 / 41 / 84 ms (median / p95 / max) where the fit
alone says 2.2 / 7.6 / 76 ms; from 30 s on they match the fit (0.6 / 2.8 / 6.4 ms to 3 min).
An ECG started 30 s after the accelerometer, as an H10's usually is, begins on a warm fit:
1.8 / 5.1 / 18 ms in its first 30 s. The seams stay between 0.5 and 1.5 sample intervals,
where placing by the fit alone overlapped by up to 5 samples.

Two cases start afresh from the fit: the first chunk after lost frames (the samples that never
came leave a gap anyway; the chunk still starts no earlier than the last one ended), and a
difference beyond :data:`DEFAULT_RESYNC_S` (2 s, more than any link delay: the device clock and
the session clock disagree grossly, as under a sped-up virtual strap). Only the latter can
place samples before ones already handed out.
"""

from __future__ import annotations

from typing import Final

DEFAULT_GAIN: Final = 0.5
"""Fraction of the difference from the fit corrected per chunk (a few chunks smooth out the
fit's small refits)."""
DEFAULT_MAX_STEP_SAMPLES: Final = 0.5
"""Largest correction per chunk, in sample intervals (keeps every seam within one sample)."""
DEFAULT_RESYNC_S: Final = 2.0
"""A difference from the fit beyond this restarts the placement from the fit, s."""


class ChunkPlacer:
    """Session times of one stream's consecutive chunks.

    Parameters
    ----------
    gain : float
        Fraction of the difference from the fit's estimate corrected per chunk (0-1].
    max_step_samples : float
        Largest correction per chunk, sample intervals (0-1).
    resync_s : float
        Differences beyond this are not slewed: the chunk goes where the fit says, s.
    """

    def __init__(
        self,
        *,
        gain: float = DEFAULT_GAIN,
        max_step_samples: float = DEFAULT_MAX_STEP_SAMPLES,
        resync_s: float = DEFAULT_RESYNC_S,
    ) -> None:
        if not 0.0 < gain <= 1.0:
            raise ValueError(f"gain must be within (0, 1], not {gain}")
        if not 0.0 < max_step_samples < 1.0:
            raise ValueError(f"max_step_samples must be within (0, 1), not {max_step_samples}")
        if not resync_s > 0.0:
            raise ValueError(f"resync_s must be positive, not {resync_s}")
        self.gain = gain
        self.max_step_samples = max_step_samples
        self.resync_s = resync_s
        self._next_s: float | None = None

    @property
    def next_s(self) -> float | None:
        """Where the next chunk's first sample would continue the last chunk, session s
        (None before any chunk)."""
        return self._next_s

    def place(self, estimate_s: float, n_samples: int, rate_hz: float, *,
              after_gap: bool = False) -> float:
        """The session time of a chunk's first sample.

        Parameters
        ----------
        estimate_s : float
            Where the device-clock fit puts the first sample now, session s.
        n_samples : int
            Samples in the chunk.
        rate_hz : float
            The rate they are placed at (measured), Hz.
        after_gap : bool
            Frames were lost just before this chunk.

        Returns
        -------
        float
            ``t0_s`` of the chunk.
        """
        if not rate_hz > 0.0:
            raise ValueError(f"rate_hz must be positive, not {rate_hz}")
        follows = self._next_s
        if follows is None:
            t0 = estimate_s
        elif after_gap:
            t0 = max(estimate_s, follows)
        else:
            difference = estimate_s - follows
            if abs(difference) > self.resync_s:
                t0 = estimate_s
            else:
                limit = self.max_step_samples / rate_hz
                t0 = follows + min(limit, max(-limit, self.gain * difference))
        self._next_s = t0 + n_samples / rate_hz
        return t0
