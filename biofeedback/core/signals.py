"""Raw sensor streams beside the RR intervals: chest-strap ECG and accelerometer samples.

A :class:`SignalChunk` is what a source hands on for such a stream (the Polar H10's PMD ECG
at ~130 Hz and its accelerometer at 25-200 Hz): consecutive raw integers on the session clock.
The sensor's own clock is mapped to the session clock by the source (the device's timestamps
drift against the host's), so every consumer reads sample times as ``t0_s + i / rate_hz``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from biofeedback.core.channels import RawChannel

__all__ = ["ANALYSIS_SIGNALS", "SIGNAL_STREAMS", "SignalChunk", "chunks_from_channel"]

SIGNAL_STREAMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "ecg": ("uV", ("ecg",)),
    "acc": ("mG", ("x", "y", "z")),
}
"""Known streams: their unit and channel names (Polar H10: ECG in µV, ACC in mG)."""

ANALYSIS_SIGNALS: tuple[str, ...] = ("acc",)
"""The raw streams the analysis of a recording reads (``Recording.acc``: breathing measured
from the chest accelerometer); what an analysing caller asks
``SessionStore.load_recording(signals=...)`` for."""


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


_MICROVOLT_UNITS = frozenset({"uv", "µv", "μv"})
"""How imported ECG channels spell µV (the readers convert every ECG to it)."""


def chunks_from_channel(channel: RawChannel, block_s: float = 2.0) -> list[SignalChunk]:
    """An imported ECG channel as ``"ecg"`` chunks, so it can be replayed like a strap's.

    Parameters
    ----------
    channel : RawChannel
        A channel of kind ``"ecg"`` in µV (e.g. Polar Sensor Logger's ECG, or an ECG file
        the readers converted to µV), at session time ``channel.start_s``.
    block_s : float
        Length of each chunk, s.

    Returns
    -------
    list of SignalChunk
        The samples rounded to whole µV (the int32 a strap sends: a chest ECG's converter
        resolves about 1 µV), at the channel's rate; empty for a channel of another kind or
        unit, or one without samples. Non-finite samples (gaps in a file) end a chunk and are
        skipped, so ``first_index`` jumps over them as it does over samples a strap lost.
    """
    if channel.kind != "ecg" or channel.unit.lower() not in _MICROVOLT_UNITS:
        return []
    rate = float(channel.sampling_rate_hz)
    if not (math.isfinite(rate) and rate > 0) or channel.samples.ndim != 2 \
            or channel.samples.shape[1] != 1:
        return []
    values = np.asarray(channel.samples[:, 0], dtype=np.float64)
    finite = np.isfinite(values)
    ints = np.zeros(values.size, dtype=np.int32)
    with np.errstate(invalid="ignore"):
        ints[finite] = np.clip(np.round(values[finite]), np.iinfo(np.int32).min,
                               np.iinfo(np.int32).max).astype(np.int32)
    per_block = max(1, round(block_s * rate))
    # Runs of finite samples: a NaN row breaks the stream as a lost sample does.
    edges = np.flatnonzero(np.diff(np.r_[False, finite, False].astype(np.int8)))
    out = []
    for start, end in zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True):
        for first in range(start, end, per_block):
            last = min(first + per_block, end)
            out.append(SignalChunk("ecg", float(channel.start_s) + first / rate, rate,
                                   ints[first:last, None].copy(), "uV", first))
    return out
