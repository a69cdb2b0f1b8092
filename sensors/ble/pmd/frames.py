"""PMD data frames (notifications on ``...5C82``): ECG and accelerometer samples.

Layout (Polar ``online_measurement.pdf`` table 6, SDK ``PmdDataFrame.kt``)::

    byte 0     measurement type (low 6 bits): 0x00 ECG, 0x02 ACC
    bytes 1-8  uint64 LE: device time of the LAST sample, ns since 2000-01-01 (device clock)
    byte 9     frame type: bit 7 = delta-compressed, low 7 bits = type id
    bytes 10-  samples

Raw frames: ECG type 0 = 3-byte signed LE µV (73 per frame at a large MTU: a 229-byte value);
ACC type 1 = x, y, z int16 LE mG (type 0 int8, type 2 int24). Delta frames (0x80 | id): a
reference sample (``channels x ceil(resolution/8)`` signed LE bytes), then blocks
``[delta bits][count][count x channels x delta bits, LSB first]``, each delta sign-extended
and added to the previous sample (SDK ``BlePMDClient.parseDeltaFramesAll``).

A frame that does not follow the layout raises :class:`PmdMalformedError` naming the byte
offset; nothing here crashes on garbage. Every decoder has its encoder, which the virtual
strap uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from sensors.ble.pmd.protocol import MeasurementType, PmdMalformedError, measurement_name

HEADER_BYTES: Final = 10
"""Type, timestamp, frame type."""
ATT_OVERHEAD_BYTES: Final = 3
"""An ATT notification's op code and handle: a value has MTU - 3 bytes."""
DELTA_FLAG: Final = 0x80

ECG_FRAME_RAW: Final = 0x00
"""ECG frame type 0: 3-byte signed µV samples (what the H10 sends)."""
ACC_FRAME_INT8: Final = 0x00
ACC_FRAME_INT16: Final = 0x01
"""ACC frame type 1: x, y, z int16 mG (what the H10 sends)."""
ACC_FRAME_INT24: Final = 0x02

_RAW_LAYOUTS: Final = {
    # (measurement type, frame type id) -> (channels, bytes per value)
    (MeasurementType.ECG, ECG_FRAME_RAW): (1, 3),
    (MeasurementType.ACC, ACC_FRAME_INT8): (3, 1),
    (MeasurementType.ACC, ACC_FRAME_INT16): (3, 2),
    (MeasurementType.ACC, ACC_FRAME_INT24): (3, 3),
}

CHANNELS: Final = {MeasurementType.ECG: 1, MeasurementType.ACC: 3}
"""Channels per sample of each stream."""


@dataclass(frozen=True, slots=True)
class PmdFrame:
    """One decoded data frame.

    Attributes
    ----------
    measurement_type : int
        Low 6 bits of byte 0 (:class:`MeasurementType` when known).
    timestamp_ns : int
        Device time of the last sample, ns since 2000-01-01 on the strap's clock.
    frame_type : int
        Byte 9 (bit 7 = delta-compressed).
    samples : ndarray of int32, shape (n, channels)
        The samples, oldest first, as the sensor's integers (µV, mG).
    """

    measurement_type: int
    timestamp_ns: int
    frame_type: int
    samples: npt.NDArray[np.int32]

    @property
    def compressed(self) -> bool:
        """Whether the frame was delta-compressed."""
        return bool(self.frame_type & DELTA_FLAG)


H10_MAX_SAMPLES: Final = {MeasurementType.ECG: 73, MeasurementType.ACC: 36}
"""Samples per frame a Polar H10 sends at a large MTU (polar-ble-sdk#40; collectiveecg docs)."""


def samples_per_frame(measurement_type: MeasurementType, mtu: int, bytes_per_value: int = 0) -> int:
    """How many raw samples one notification carries at an ATT MTU, as the H10 packs them.

    As many as fit ``mtu - 3`` bytes after the 10-byte header, at most
    :data:`H10_MAX_SAMPLES`: ECG 73 from MTU 232 up (a 229-byte value), 19 at the
    smallest MTU seen (70); ACC int16 36 from MTU 229 up.

    Raises
    ------
    ValueError
        Not even one sample fits.
    """
    if not bytes_per_value:
        bytes_per_value = 3 if measurement_type is MeasurementType.ECG else 2
    per_sample = CHANNELS[measurement_type] * bytes_per_value
    count = (mtu - ATT_OVERHEAD_BYTES - HEADER_BYTES) // per_sample
    if count < 1:
        raise ValueError(f"an ATT MTU of {mtu} bytes has no room for a PMD sample")
    return min(count, H10_MAX_SAMPLES[measurement_type])


def parse_frame(data: bytes | bytearray | memoryview, *, resolution_bits: int = 16) -> PmdFrame:
    """Decode a data frame.

    Parameters
    ----------
    data : bytes
        The notification value.
    resolution_bits : int
        The stream's RESOLUTION setting: the reference sample's width in delta frames
        (``ceil(resolution / 8)`` bytes per channel; 16 for the H10's ACC, 14 for its ECG).

    Returns
    -------
    PmdFrame

    Raises
    ------
    PmdMalformedError
        Shorter than the header, an unknown measurement or frame type, samples that do not
        fill whole samples, delta blocks cut short; the message names the byte offset.
    """
    buf = bytes(data)
    if len(buf) < HEADER_BYTES:
        raise PmdMalformedError(
            "data frame", len(buf), f"{len(buf)} byte(s), shorter than the 10-byte header"
        )
    code = buf[0] & 0x3F
    timestamp_ns = int.from_bytes(buf[1:9], "little")
    frame_type = buf[9]
    try:
        kind = MeasurementType(code)
        channels = CHANNELS[kind]
    except (ValueError, KeyError):
        raise PmdMalformedError(
            "data frame", 0, f"unsupported measurement type {code} ({measurement_name(code)})"
        ) from None
    payload = buf[HEADER_BYTES:]
    if frame_type & DELTA_FLAG:
        samples = _decode_delta(payload, channels, (resolution_bits + 7) // 8)
    else:
        layout = _RAW_LAYOUTS.get((kind, frame_type))
        if layout is None:
            raise PmdMalformedError(
                "data frame", 9, f"unsupported {measurement_name(code)} frame type {frame_type}"
            )
        samples = _decode_raw(payload, *layout)
    return PmdFrame(code, timestamp_ns, frame_type, samples)


def _decode_raw(payload: bytes, channels: int, width: int) -> npt.NDArray[np.int32]:
    per_sample = channels * width
    if not payload:
        raise PmdMalformedError("data frame", HEADER_BYTES, "no samples after the header")
    if len(payload) % per_sample:
        whole = len(payload) // per_sample * per_sample
        raise PmdMalformedError(
            "data frame",
            HEADER_BYTES + whole,
            f"{len(payload) - whole} byte(s) left over: samples are {per_sample} bytes each",
        )
    raw = np.frombuffer(payload, dtype=np.uint8).reshape(-1, width)
    values = np.zeros(raw.shape[0], dtype=np.int64)
    for i in range(width):
        values |= raw[:, i].astype(np.int64) << (8 * i)
    sign = 1 << (8 * width - 1)
    values = (values ^ sign) - sign
    return values.astype(np.int32).reshape(-1, channels)


def _decode_delta(payload: bytes, channels: int, ref_width: int) -> npt.NDArray[np.int32]:
    ref_bytes = channels * ref_width
    if len(payload) < ref_bytes:
        raise PmdMalformedError(
            "delta frame",
            HEADER_BYTES + len(payload),
            f"the reference sample needs {ref_bytes} bytes, {len(payload)} present",
        )
    previous = [
        int.from_bytes(payload[c * ref_width : (c + 1) * ref_width], "little", signed=True)
        for c in range(channels)
    ]
    rows = [previous]
    pos = ref_bytes
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise PmdMalformedError(
                "delta frame", HEADER_BYTES + pos, "a delta block header needs 2 bytes, 1 present"
            )
        bits, count = payload[pos], payload[pos + 1]
        if not 1 <= bits <= 32:
            raise PmdMalformedError(
                "delta frame", HEADER_BYTES + pos, f"delta width {bits} bits (must be 1-32)"
            )
        block_bytes = (count * channels * bits + 7) // 8
        start = pos + 2
        if start + block_bytes > len(payload):
            raise PmdMalformedError(
                "delta frame",
                HEADER_BYTES + start,
                f"a block of {count} deltas of {bits} bits needs {block_bytes} bytes, "
                f"{len(payload) - start} present",
            )
        # LSB-first packing across bytes is exactly a little-endian integer's bit order.
        packed = int.from_bytes(payload[start : start + block_bytes], "little")
        mask = (1 << bits) - 1
        sign = 1 << (bits - 1)
        for i in range(count):
            row = []
            for c in range(channels):
                delta = (packed >> ((i * channels + c) * bits)) & mask
                row.append(previous[c] + ((delta ^ sign) - sign))
            rows.append(row)
            previous = row
        pos = start + block_bytes
    values = np.asarray(rows, dtype=np.int64)
    if values.min() < -(2**31) or values.max() >= 2**31:
        raise PmdMalformedError("delta frame", HEADER_BYTES, "cumulative values overflow int32")
    return values.astype(np.int32).reshape(-1, channels)


# ---------------------------------------------------------------------------------------------
# Encoders (the virtual strap's side)


def _header(measurement_type: MeasurementType, timestamp_ns: int, frame_type: int) -> bytes:
    if not 0 <= timestamp_ns < 1 << 64:
        raise ValueError(f"timestamp {timestamp_ns} ns does not fit uint64")
    return bytes([int(measurement_type)]) + timestamp_ns.to_bytes(8, "little") + bytes([frame_type])


def _as_rows(
    samples: Sequence[Sequence[int]] | npt.ArrayLike, channels: int
) -> npt.NDArray[np.int64]:
    rows = np.asarray(samples, dtype=np.int64)
    if rows.ndim == 1 and channels == 1:
        rows = rows.reshape(-1, 1)
    if rows.ndim != 2 or rows.shape[1] != channels or rows.shape[0] == 0:
        raise ValueError(f"samples must have shape (n >= 1, {channels}), got {rows.shape}")
    return rows


def _encode_raw(rows: npt.NDArray[np.int64], width: int) -> bytes:
    low, high = -(1 << (8 * width - 1)), (1 << (8 * width - 1)) - 1
    if rows.min() < low or rows.max() > high:
        raise ValueError(f"sample values must be within {low}..{high} for {width}-byte samples")
    flat = rows.reshape(-1) & ((1 << (8 * width)) - 1)
    out = np.zeros((flat.size, width), dtype=np.uint8)
    for i in range(width):
        out[:, i] = (flat >> (8 * i)) & 0xFF
    return out.tobytes()


def build_ecg_frame(timestamp_ns: int, samples_uv: npt.ArrayLike) -> bytes:
    """Encode a raw ECG frame (type 0): 3-byte signed LE µV.

    Parameters
    ----------
    timestamp_ns : int
        Device time of the last sample, ns since 2000.
    samples_uv : array_like of int, shape (n,) or (n, 1)
        ECG samples, µV (-8388608..8388607).
    """
    rows = _as_rows(samples_uv, 1)
    return _header(MeasurementType.ECG, timestamp_ns, ECG_FRAME_RAW) + _encode_raw(rows, 3)


def build_acc_frame(
    timestamp_ns: int, samples_mg: npt.ArrayLike, *, frame_type: int = ACC_FRAME_INT16
) -> bytes:
    """Encode a raw ACC frame (type 1 by default: x, y, z int16 LE mG).

    Parameters
    ----------
    timestamp_ns : int
        Device time of the last sample, ns since 2000.
    samples_mg : array_like of int, shape (n, 3)
        x, y, z, mG.
    frame_type : int
        0 (int8), 1 (int16) or 2 (int24).
    """
    layout = _RAW_LAYOUTS.get((MeasurementType.ACC, frame_type))
    if layout is None:
        raise ValueError(f"no raw ACC frame type {frame_type}")
    rows = _as_rows(samples_mg, 3)
    return _header(MeasurementType.ACC, timestamp_ns, frame_type) + _encode_raw(rows, layout[1])


def delta_bits_needed(deltas: npt.ArrayLike) -> int:
    """The fewest two's-complement bits that hold every delta (at least 1)."""
    values = np.asarray(deltas, dtype=np.int64)
    if values.size == 0:
        return 1
    low, high = int(values.min()), int(values.max())
    bits = 1
    while not -(1 << (bits - 1)) <= low <= high <= (1 << (bits - 1)) - 1:
        bits += 1
    return bits


def build_delta_frame(
    measurement_type: MeasurementType,
    timestamp_ns: int,
    samples: npt.ArrayLike,
    *,
    resolution_bits: int = 16,
    frame_type_id: int = 0,
    block_size: int = 255,
) -> bytes:
    """Encode a delta-compressed frame (frame type ``0x80 | frame_type_id``).

    Parameters
    ----------
    measurement_type : MeasurementType
    timestamp_ns : int
        Device time of the last sample, ns since 2000.
    samples : array_like of int, shape (n, channels)
        The samples; the first is the reference, the rest are sent as deltas.
    resolution_bits : int
        The stream's resolution (reference bytes per channel ``ceil(res / 8)``).
    frame_type_id : int
        Low 7 bits of the frame type (0 or 1).
    block_size : int
        Deltas per block (1-255); each block uses the fewest bits its deltas need.
    """
    if not 1 <= block_size <= 255:
        raise ValueError(f"block_size must be 1-255, got {block_size}")
    channels = CHANNELS[measurement_type]
    rows = _as_rows(samples, channels)
    out = bytearray(_header(measurement_type, timestamp_ns, DELTA_FLAG | frame_type_id))
    width = (resolution_bits + 7) // 8
    out += _encode_raw(rows[:1], width)
    deltas = np.diff(rows, axis=0)
    for start in range(0, deltas.shape[0], block_size):
        block = deltas[start : start + block_size]
        bits = delta_bits_needed(block)
        packed = 0
        for i, value in enumerate(block.reshape(-1).tolist()):
            packed |= (value & ((1 << bits) - 1)) << (i * bits)
        out += bytes([bits, block.shape[0]])
        out += packed.to_bytes((block.size * bits + 7) // 8, "little")
    return bytes(out)
