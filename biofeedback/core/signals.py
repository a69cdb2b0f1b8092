"""Raw sensor streams beside the RR intervals: chest-strap ECG and accelerometer samples.

A :class:`SignalChunk` is what a source hands on for such a stream (the Polar H10's PMD ECG
at ~130 Hz and its accelerometer at 25-200 Hz): consecutive raw integers on the session clock.
The sensor's own clock is mapped to the session clock by the source (the device's timestamps
drift against the host's), so every consumer reads sample times as ``t0_s + i / rate_hz``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SIGNAL_STREAMS", "SignalChunk"]

SIGNAL_STREAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ecg": ("uV", ("ecg",)),
    "acc": ("mG", ("x", "y", "z")),
}
"""Known streams: their unit and channel names (Polar H10: ECG in µV, ACC in mG)."""


@dataclass(frozen=True, slots=True, eq=False)
class SignalChunk:
    """Consecutive samples of one raw sensor stream, on the session clock.

    Attributes
    ----------
    stream : str
        ``"ecg"`` (1 channel, µV) or ``"acc"`` (3 channels x, y, z, mG); see
        :data:`SIGNAL_STREAMS`.
    t0_s : float
        Session time of the first sample, s.
    rate_hz : float
        Sampling rate the samples are placed at, Hz: the measured one (a Polar H10's ECG
        runs at 130 Hz +- 2 %, so never the nominal rate unchecked).
    samples : ndarray of int32, shape (n, channels)
        The sensor's raw integers.
    unit : str
        ``"uV"`` or ``"mG"``.
    first_index : int
        Index of the first sample in its stream since the stream started (continuous across
        chunks; a jump means samples were lost).
    """

    stream: str
    t0_s: float
    rate_hz: float
    samples: npt.NDArray[np.int32]
    unit: str
    first_index: int = 0

    @property
    def n_samples(self) -> int:
        """Number of samples (rows)."""
        return int(self.samples.shape[0])

    def times_s(self) -> npt.NDArray[np.float64]:
        """Session time of every sample, s."""
        return self.t0_s + np.arange(self.n_samples, dtype=np.float64) / self.rate_hz
