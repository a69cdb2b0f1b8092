"""Bluetooth SIG Heart Rate, Battery and Device Information GATT data (no bleak import).

Byte layouts follow the Heart Rate Service specification (docs/domain.md section 1). Both the
strap source (decoding) and the virtual strap (encoding) use this module, so what the tests
send and what the app reads are built from one definition.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final


def _uuid16(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


HEART_RATE_SERVICE_UUID: Final = _uuid16(0x180D)
HEART_RATE_MEASUREMENT_UUID: Final = _uuid16(0x2A37)
BODY_SENSOR_LOCATION_UUID: Final = _uuid16(0x2A38)
BATTERY_SERVICE_UUID: Final = _uuid16(0x180F)
BATTERY_LEVEL_UUID: Final = _uuid16(0x2A19)
DEVICE_INFORMATION_SERVICE_UUID: Final = _uuid16(0x180A)
MODEL_NUMBER_UUID: Final = _uuid16(0x2A24)
SERIAL_NUMBER_UUID: Final = _uuid16(0x2A25)
FIRMWARE_REVISION_UUID: Final = _uuid16(0x2A26)
HARDWARE_REVISION_UUID: Final = _uuid16(0x2A27)
MANUFACTURER_NAME_UUID: Final = _uuid16(0x2A29)
CLIENT_CHARACTERISTIC_CONFIGURATION_UUID: Final = _uuid16(0x2902)

RR_UNITS_PER_SECOND: Final = 1024
"""RR intervals are sent in units of 1/1024 s."""

_FLAG_HR_UINT16: Final = 0x01
_FLAG_CONTACT_DETECTED: Final = 0x02
_FLAG_CONTACT_SUPPORTED: Final = 0x04
_FLAG_ENERGY: Final = 0x08
_FLAG_RR: Final = 0x10
_FLAGS_RESERVED: Final = 0xE0

BODY_SENSOR_LOCATIONS: Final = {
    0: "other",
    1: "chest",
    2: "wrist",
    3: "finger",
    4: "hand",
    5: "ear lobe",
    6: "foot",
}
"""Body Sensor Location (0x2A38) values."""


class MalformedMeasurementError(ValueError):
    """A GATT value that does not follow its specification; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class HeartRateMeasurement:
    """One decoded Heart Rate Measurement (0x2A37) notification.

    Attributes
    ----------
    heart_rate_bpm : int
        Heart rate the sensor computed, bpm.
    rr_intervals_ms : tuple of float
        RR intervals, ms, oldest first: ``raw * 1000 / 1024`` exactly (no rounding up).
    sensor_contact : bool or None
        Skin contact; None when the sensor does not support contact detection.
    energy_expended_kj : int or None
        Cumulative energy expended, kJ, when present.
    """

    heart_rate_bpm: int
    rr_intervals_ms: tuple[float, ...]
    sensor_contact: bool | None
    energy_expended_kj: int | None


def rr_raw_to_ms(raw: int) -> float:
    """1/1024-s units to ms, exactly (``raw * 1000 / 1024``; a ceil would add 0-1 ms)."""
    return raw * 1000.0 / RR_UNITS_PER_SECOND


def rr_ms_to_raw(rr_ms: float) -> int:
    """ms to the nearest 1/1024-s unit (what a strap would send for that interval)."""
    raw = round(rr_ms * RR_UNITS_PER_SECOND / 1000.0)
    if not 0 <= raw <= 0xFFFF:
        raise ValueError(f"RR interval {rr_ms} ms does not fit the 16-bit 1/1024-s field")
    return raw


def parse_heart_rate_measurement(data: bytes | bytearray | memoryview) -> HeartRateMeasurement:
    """Decode a Heart Rate Measurement (0x2A37) value.

    Parameters
    ----------
    data : bytes
        The characteristic value: flags, heart rate (uint8 or uint16), energy expended
        (uint16, kJ) when flagged, then zero or more uint16 RR intervals (1/1024 s) when
        flagged; all little-endian.

    Returns
    -------
    HeartRateMeasurement

    Raises
    ------
    MalformedMeasurementError
        Empty or too short for its flags, reserved flag bits set, RR flag without RR values
        or with an odd trailing byte, or bytes left over when no RR values are flagged.
    """
    buf = bytes(data)
    if not buf:
        raise MalformedMeasurementError("empty Heart Rate Measurement (no flags byte)")
    flags = buf[0]
    if flags & _FLAGS_RESERVED:
        raise MalformedMeasurementError(
            f"reserved flag bits set (flags 0x{flags:02x}); cannot tell how to read the rest"
        )
    pos = 1
    if flags & _FLAG_HR_UINT16:
        if len(buf) < pos + 2:
            raise MalformedMeasurementError(
                f"too short for a 16-bit heart rate: {len(buf)} bytes (flags 0x{flags:02x})"
            )
        heart_rate = int.from_bytes(buf[pos : pos + 2], "little")
        pos += 2
    else:
        if len(buf) < pos + 1:
            raise MalformedMeasurementError("too short for an 8-bit heart rate: 1 byte")
        heart_rate = buf[pos]
        pos += 1
    energy: int | None = None
    if flags & _FLAG_ENERGY:
        if len(buf) < pos + 2:
            raise MalformedMeasurementError(
                f"energy expended flagged but only {len(buf) - pos} byte(s) left at offset {pos}"
            )
        energy = int.from_bytes(buf[pos : pos + 2], "little")
        pos += 2
    rest = len(buf) - pos
    if flags & _FLAG_RR:
        if rest == 0:
            raise MalformedMeasurementError("RR intervals flagged but none present")
        if rest % 2:
            raise MalformedMeasurementError(
                f"odd RR tail: {rest} byte(s) after offset {pos}, RR values are 2 bytes each"
            )
        rr = tuple(
            rr_raw_to_ms(int.from_bytes(buf[i : i + 2], "little")) for i in range(pos, len(buf), 2)
        )
    else:
        if rest:
            raise MalformedMeasurementError(
                f"{rest} unexpected byte(s) after offset {pos} with no RR intervals flagged"
            )
        rr = ()
    contact: bool | None = None
    if flags & _FLAG_CONTACT_SUPPORTED:
        contact = bool(flags & _FLAG_CONTACT_DETECTED)
    return HeartRateMeasurement(heart_rate, rr, contact, energy)


def build_heart_rate_measurement(
    heart_rate_bpm: int,
    rr_raw: Sequence[int] = (),
    *,
    sensor_contact: bool | None = True,
    energy_expended_kj: int | None = None,
    uint16_heart_rate: bool = False,
) -> bytes:
    """Encode a Heart Rate Measurement value (the inverse of the parser).

    Parameters
    ----------
    heart_rate_bpm : int
        Heart rate, bpm (0-255, or 0-65535 with ``uint16_heart_rate``).
    rr_raw : sequence of int
        RR intervals in 1/1024-s units (see :func:`rr_ms_to_raw`).
    sensor_contact : bool or None
        Contact detected / not detected; None = contact detection not supported.
    energy_expended_kj : int or None
        Energy expended, kJ (0-65535), or None to leave the field out.
    uint16_heart_rate : bool
        Send the heart rate as uint16 even when it fits a byte.

    Returns
    -------
    bytes
    """
    wide = uint16_heart_rate or heart_rate_bpm > 0xFF
    flags = _FLAG_HR_UINT16 if wide else 0
    if sensor_contact is not None:
        flags |= _FLAG_CONTACT_SUPPORTED | (_FLAG_CONTACT_DETECTED if sensor_contact else 0)
    if energy_expended_kj is not None:
        flags |= _FLAG_ENERGY
    if rr_raw:
        flags |= _FLAG_RR
    out = bytearray([flags])
    out += heart_rate_bpm.to_bytes(2 if wide else 1, "little")
    if energy_expended_kj is not None:
        out += energy_expended_kj.to_bytes(2, "little")
    for raw in rr_raw:
        out += int(raw).to_bytes(2, "little")
    return bytes(out)


def parse_body_sensor_location(data: bytes | bytearray) -> str:
    """Decode Body Sensor Location (0x2A38): ``"chest"``, ``"wrist"``...; unknown codes are
    reported as ``"reserved (N)"``."""
    if len(data) != 1:
        raise MalformedMeasurementError(f"Body Sensor Location must be 1 byte, got {len(data)}")
    return BODY_SENSOR_LOCATIONS.get(data[0], f"reserved ({data[0]})")


def parse_battery_level(data: bytes | bytearray) -> int:
    """Decode Battery Level (0x2A19), percent 0-100."""
    if len(data) != 1:
        raise MalformedMeasurementError(f"Battery Level must be 1 byte, got {len(data)}")
    if data[0] > 100:
        raise MalformedMeasurementError(f"Battery Level {data[0]} % is above 100 %")
    return int(data[0])


def parse_utf8_string(data: bytes | bytearray) -> str:
    """Decode a Device Information string (model, firmware, manufacturer...): UTF-8 up to the
    first NUL (some straps pad or terminate with NULs); undecodable bytes are replaced."""
    return bytes(data).split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip()
