"""Bytes of the Polar Measurement Data (PMD) protocol as a Polar H10 sends them.

Minimal encoders of the virtual strap's own, written from the specification independently
of the app's decoder (``sensors/ble/pmd``): the strap is what that decoder is tested against,
so the two must not share one reading of the byte layout (a misread field would then agree
with itself). Layouts follow ``online_measurement.pdf`` and the
Polar BLE SDK (``PmdControlPointResponse.kt``, ``PmdSetting.kt``, ``PmdDataFrame.kt``):

* control-point response (indication on ``...5C81``):
  ``F0 <opcode> <type> <status>``, and on success ``<more=0> <params...>``;
* device-initiated stop: ``01 <type>`` (ONLINE_MEASUREMENT_STOPPED);
* settings: TLVs ``<setting type> <count> <value x count>`` little-endian (2-byte values);
* data frame (notification on ``...5C82``): ``<type> <uint64 LE ns since 2000 of the LAST
  sample> <frame type> <samples>``; ECG frame type 0x00 = 3-byte signed µV, ACC frame type
  0x01 = three int16 mG per sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
POLAR_SERVICE_UUID: Final = "0000feee-0000-1000-8000-00805f9b34fb"
"""Polar's 16-bit service 0xFEEE (PS-FTP: files and offline recordings)."""
POLAR_FTP_MTU_UUID: Final = "fb005c51-02e7-f387-1cad-8acd2d8df0c8"
POLAR_FTP_D2H_UUID: Final = "fb005c52-02e7-f387-1cad-8acd2d8df0c8"
POLAR_FTP_H2D_UUID: Final = "fb005c53-02e7-f387-1cad-8acd2d8df0c8"

ECG: Final = 0x00
"""Measurement type of the ECG."""
ACC: Final = 0x02
"""Measurement type of the accelerometer."""
STREAM_NAMES: Final = {ECG: "ecg", ACC: "acc"}

FEATURES_H10: Final = bytes([0x0F, 0x05, 0x00])
"""Feature read of a Polar H10: ECG (bit 0) and ACC (bit 2)."""

OP_GET_SETTINGS: Final = 0x01
OP_START: Final = 0x02
OP_STOP: Final = 0x03
RESPONSE_CODE: Final = 0xF0
ONLINE_MEASUREMENT_STOPPED: Final = 0x01

SETTING_SAMPLE_RATE: Final = 0
SETTING_RESOLUTION: Final = 1
SETTING_RANGE: Final = 2

SUCCESS: Final = 0
INVALID_OP_CODE: Final = 1
INVALID_MEASUREMENT_TYPE: Final = 2
NOT_SUPPORTED: Final = 3
INVALID_LENGTH: Final = 4
INVALID_PARAMETER: Final = 5
ALREADY_IN_STATE: Final = 6
INVALID_RESOLUTION: Final = 7
INVALID_SAMPLE_RATE: Final = 8
INVALID_RANGE: Final = 9
INVALID_MTU: Final = 10

ECG_FRAME_TYPE: Final = 0x00
ACC_FRAME_TYPE: Final = 0x01
FRAME_HEADER_BYTES: Final = 10
ATT_HEADER_BYTES: Final = 3
ECG_MAX_SAMPLES: Final = 73
"""An H10 sends at most 73 ECG samples per frame (polar-ble-sdk#40), however large the MTU."""
ACC_MAX_SAMPLES: Final = 36
"""...and about 36 accelerometer samples (collectiveecg docs)."""
ECG_SAMPLE_BYTES: Final = 3
ACC_SAMPLE_BYTES: Final = 6

NS_PER_S: Final = 1_000_000_000
DEVICE_CLOCK_RESET_NS: Final = 599_616_000_000_000_000
"""Device time after an H10 shuts down: 2019-01-01 in ns since 2000-01-01 (TimeSystemExplained)."""

SETTINGS_H10: Final[dict[int, dict[int, tuple[int, ...]]]] = {
    ECG: {SETTING_SAMPLE_RATE: (130,), SETTING_RESOLUTION: (14,)},
    ACC: {
        SETTING_SAMPLE_RATE: (25, 50, 100, 200),
        SETTING_RESOLUTION: (16,),
        SETTING_RANGE: (2, 4, 8),
    },
}
"""What an H10 answers to GET_MEASUREMENT_SETTINGS, per measurement type."""


def encode_features(measurements: Sequence[int]) -> bytes:
    """A control-point read value: ``0F``, then bit ``type`` set for each type offered, over
    two little-endian bytes (``[ECG, ACC]`` gives an H10's ``0F 05 00``)."""
    bits = 0
    for kind in measurements:
        bits |= 1 << kind
    return bytes([0x0F]) + bits.to_bytes(2, "little")


def encode_settings(settings: Mapping[int, Sequence[int]]) -> bytes:
    """Setting TLVs: ``<type> <count> <uint16 LE value>...`` per setting, in type order."""
    out = bytearray()
    for kind in sorted(settings):
        values = settings[kind]
        out += bytes([kind, len(values)])
        for value in values:
            out += int(value).to_bytes(2, "little")
    return bytes(out)


def encode_response(opcode: int, measurement: int, status: int, params: bytes = b"") -> bytes:
    """A control-point response; success carries ``more = 0`` and the parameters."""
    head = bytes([RESPONSE_CODE, opcode & 0xFF, measurement & 0xFF, status & 0xFF])
    return head + b"\x00" + params if status == SUCCESS else head


def encode_stopped(measurement: int) -> bytes:
    """The device-initiated ONLINE_MEASUREMENT_STOPPED indication for one stream."""
    return bytes([ONLINE_MEASUREMENT_STOPPED, measurement])


def samples_per_frame(measurement: int, mtu: int) -> int:
    """Samples that fit one frame at an ATT MTU (at most the H10's own frame size)."""
    room = mtu - ATT_HEADER_BYTES - FRAME_HEADER_BYTES
    if measurement == ECG:
        return max(0, min(ECG_MAX_SAMPLES, room // ECG_SAMPLE_BYTES))
    return max(0, min(ACC_MAX_SAMPLES, room // ACC_SAMPLE_BYTES))


def encode_frame(measurement: int, timestamp_ns: int, samples: npt.NDArray[np.int32]) -> bytes:
    """One data frame.

    Parameters
    ----------
    measurement : int
        :data:`ECG` (samples shape (n,) or (n, 1), µV) or :data:`ACC` (shape (n, 3), mG).
    timestamp_ns : int
        Device time of the LAST sample, ns since 2000-01-01.
    samples : ndarray of int
        Raw sensor integers (ECG within 24-bit signed, ACC within int16).

    Returns
    -------
    bytes
        ``type | timestamp (8, LE) | frame type | samples``.
    """
    values = np.asarray(samples, dtype=np.int64)
    if measurement == ECG:
        flat = values.reshape(-1)
        if flat.size and (flat.min() < -(1 << 23) or flat.max() >= 1 << 23):
            raise ValueError("ECG sample outside the 24-bit signed range")
        raw = (flat & 0xFFFFFF).astype("<u4").view(np.uint8).reshape(-1, 4)[:, :3]
        body = bytes([ECG_FRAME_TYPE]) + raw.tobytes()
    elif measurement == ACC:
        if values.ndim != 2 or values.shape[1] != 3:
            raise ValueError(f"ACC samples must have shape (n, 3), got {values.shape}")
        if values.size and (values.min() < -32768 or values.max() > 32767):
            raise ValueError("ACC sample outside int16")
        body = bytes([ACC_FRAME_TYPE]) + values.astype("<i2").tobytes()
    else:
        raise ValueError(f"no frame layout for measurement type {measurement}")
    return bytes([measurement]) + int(timestamp_ns).to_bytes(8, "little") + body
