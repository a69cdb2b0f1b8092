"""Raw ECG and accelerometer samples as compact blocks: the encoding of ``signal_blocks``.

A block is consecutive int32 samples of one stream. Each channel is stored as its first
difference (the first sample against 0), zigzag-mapped to unsigned integers, written as a
variable-length integer (7 bits a byte: a chest ECG's sample-to-sample steps are mostly
below 64 uV, one byte) and compressed with zlib. The differences of a 130 Hz ECG and a
200 Hz accelerometer are small and repetitive, which is what makes a day of ECG a few MB
(``benchmarks/signal_storage.py`` measures it) instead of the 45 MB of raw int32.
The encoding is lossless: :func:`decode_block` returns the very integers encoded.
"""

from __future__ import annotations

import math
import zlib
from typing import Final

import numpy as np
import numpy.typing as npt

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.signals import SIGNAL_STREAMS, SignalChunk

__all__ = [
    "ENCODING",
    "SignalChunkError",
    "check_chunk",
    "decode_block",
    "encode_block",
]

ENCODING: Final = "delta-zigzag-varint-zlib"
"""Name stored with every block (``signal_blocks.encoding``), so a later codec can be added."""

_ZLIB_LEVEL: Final = 9
"""Compression level: blocks are ~1-2 s (a few hundred bytes), so the best level costs
microseconds per block."""

Int32Array = npt.NDArray[np.int32]


class SignalChunkError(BiofeedbackError, ValueError):
    """A chunk of raw samples that cannot be stored as it is (unknown stream, wrong unit or
    channels, samples that are not int32 integers, a bad rate or time)."""


def check_chunk(chunk: SignalChunk) -> Int32Array:
    """Check a chunk against :data:`~biofeedback.core.signals.SIGNAL_STREAMS`.

    Parameters
    ----------
    chunk : SignalChunk
        The chunk a source handed on.

    Returns
    -------
    ndarray of int32, shape (n, channels)
        Its samples, C-contiguous.

    Raises
    ------
    SignalChunkError
        With a sentence naming the stream and the field that is wrong.
    """
    known = SIGNAL_STREAMS.get(chunk.stream)
    if known is None:
        raise SignalChunkError(
            f"signal chunk: unknown stream {chunk.stream!r} (known: "
            f"{', '.join(sorted(SIGNAL_STREAMS))})")
    unit, channels = known
    where = f"signal chunk of stream {chunk.stream!r}"
    if chunk.unit != unit:
        raise SignalChunkError(f"{where}: unit {chunk.unit!r}, expected {unit!r}")
    samples = np.asarray(chunk.samples)
    if samples.ndim != 2 or samples.shape[1] != len(channels):
        raise SignalChunkError(
            f"{where}: samples of shape {samples.shape}, expected (n, {len(channels)}) for "
            f"channels {', '.join(channels)}")
    if samples.dtype != np.int32:
        raise SignalChunkError(f"{where}: samples of dtype {samples.dtype}, expected int32 "
                               "(the sensor's raw integers)")
    if not (math.isfinite(chunk.rate_hz) and chunk.rate_hz > 0):
        raise SignalChunkError(f"{where}: rate_hz {chunk.rate_hz} is not a positive number")
    if not math.isfinite(chunk.t0_s):
        raise SignalChunkError(f"{where}: t0_s {chunk.t0_s} is not a finite time")
    if chunk.first_index < 0:
        raise SignalChunkError(f"{where}: first_index {chunk.first_index} is negative")
    return np.ascontiguousarray(samples)


def encode_block(samples: Int32Array) -> bytes:
    """Encode an ``(n, channels)`` int32 array (channel after channel) as one blob."""
    wide = samples.astype(np.int64).T  # channel-major: each channel's steps stay together
    steps = np.diff(wide, axis=1, prepend=0).ravel()
    zigzag = ((steps << 1) ^ (steps >> 63)).astype(np.uint64)  # 0, -1, 1, -2 -> 0, 1, 2, 3
    return zlib.compress(_varint(zigzag), _ZLIB_LEVEL)


def decode_block(data: bytes, n_samples: int, n_channels: int) -> Int32Array:
    """The samples :func:`encode_block` encoded, shape ``(n_samples, n_channels)``.

    Raises
    ------
    ValueError
        The blob does not hold ``n_samples x n_channels`` values (a damaged database).
    """
    zigzag = _unvarint(zlib.decompress(data))
    if zigzag.size != n_samples * n_channels:
        raise ValueError(f"a signal block holds {zigzag.size} values, not {n_samples} x "
                         f"{n_channels}")
    steps = (zigzag >> np.uint64(1)).astype(np.int64) ^ -(zigzag & np.uint64(1)).astype(np.int64)
    wide = np.cumsum(steps.reshape(n_channels, n_samples), axis=1)
    return np.ascontiguousarray(wide.T.astype(np.int32))


def _varint(values: npt.NDArray[np.uint64]) -> bytes:
    """LEB128: 7 bits a byte, low bits first, the high bit set on all but a value's last."""
    if values.size == 0:
        return b""
    n_bytes = np.ones(values.size, dtype=np.int64)
    rest = values >> np.uint64(7)
    while rest.any():
        n_bytes += rest > 0
        rest = rest >> np.uint64(7)
    ends = np.cumsum(n_bytes)
    out = np.zeros(int(ends[-1]), dtype=np.uint8)
    starts = ends - n_bytes
    rest = values.copy()
    for k in range(int(n_bytes.max())):
        live = n_bytes > k
        more = (n_bytes > k + 1)[live]
        out[starts[live] + k] = (rest[live] & np.uint64(0x7F)).astype(np.uint8) | \
            (more.astype(np.uint8) << 7)
        rest = rest >> np.uint64(7)
    return out.tobytes()


def _unvarint(data: bytes) -> npt.NDArray[np.uint64]:
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if raw[-1] & 0x80:
        raise ValueError("a signal block ends inside a value")
    last = (raw & 0x80) == 0
    value_of = np.concatenate([[0], np.cumsum(last)[:-1]]).astype(np.int64)
    first = np.concatenate([[True], last[:-1]])
    position = np.arange(raw.size) - np.maximum.accumulate(np.where(first, np.arange(raw.size),
                                                                    0))
    parts = (raw & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
    out = np.zeros(int(last.sum()), dtype=np.uint64)
    np.add.at(out, value_of, parts)
    return out
