"""Polar PMD control point: UUIDs, measurement types, setting TLVs, commands and responses.

Byte layouts follow the Polar BLE SDK (``PmdControlPointCommand.kt``,
``PmdControlPointResponse.kt``, ``PmdSetting.kt``, ``PmdMeasurementType.kt``) and Polar's
``online_measurement.pdf`` (tables 3 and 5).
Every builder here has its parser beside it, so the strap source (decoding) and the virtual
strap (encoding) share one definition of the bytes. No bleak import, no I/O.

The client writes a command to the control point (``...5C81``, write with response) and
awaits an indication on the same characteristic: ``F0 op type status [more params...]``.
Long answers come in several indications (``more`` != 0 on all but the last), each
continuing the parameters from its byte 5 on (:class:`ResponseAssembler`). The strap may also
indicate ``01 type...`` by itself: ONLINE_MEASUREMENT_STOPPED (it stopped those streams).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from biofeedback.core.errors import BiofeedbackError

PMD_SERVICE_UUID: Final = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID: Final = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA_UUID: Final = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"

FEATURES_FLAG: Final = 0x0F
"""First byte of the control point's read value (the measurement types offered)."""
RESPONSE_FLAG: Final = 0xF0
"""First byte of a control-point response indication."""
ONLINE_MEASUREMENT_STOPPED: Final = 0x01
"""First byte of the indication the strap sends when it stops streams by itself."""


class MeasurementType(IntEnum):
    """PMD measurement types; the code is also the bit index in the feature read."""

    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMPERATURE = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14


MEASUREMENT_NAMES: Final = {
    MeasurementType.ECG: "ECG",
    MeasurementType.PPG: "PPG",
    MeasurementType.ACC: "ACC",
    MeasurementType.PPI: "PPI",
    MeasurementType.GYRO: "gyroscope",
    MeasurementType.MAGNETOMETER: "magnetometer",
    MeasurementType.SKIN_TEMPERATURE: "skin temperature",
    MeasurementType.SDK_MODE: "SDK mode",
    MeasurementType.LOCATION: "location",
    MeasurementType.PRESSURE: "pressure",
    MeasurementType.TEMPERATURE: "temperature",
    MeasurementType.OFFLINE_RECORDING: "offline recording",
    MeasurementType.OFFLINE_HR: "offline HR",
}
"""Names used in messages ("the strap refused to start ECG: ...")."""


class ControlPointOp(IntEnum):
    """Control-point op codes (client to strap)."""

    GET_MEASUREMENT_SETTINGS = 0x01
    REQUEST_MEASUREMENT_START = 0x02
    STOP_MEASUREMENT = 0x03
    GET_SDK_MODE_SETTINGS = 0x04
    GET_MEASUREMENT_STATUS = 0x05
    GET_SDK_MODE_STATUS = 0x06


_OP_ACTIONS: Final[dict[int, str]] = {
    ControlPointOp.GET_MEASUREMENT_SETTINGS: "give the settings of",
    ControlPointOp.REQUEST_MEASUREMENT_START: "start",
    ControlPointOp.STOP_MEASUREMENT: "stop",
    ControlPointOp.GET_SDK_MODE_SETTINGS: "give the SDK-mode settings of",
    ControlPointOp.GET_MEASUREMENT_STATUS: "give the status of",
    ControlPointOp.GET_SDK_MODE_STATUS: "give the SDK-mode status of",
}


class ResponseStatus(IntEnum):
    """Status byte of a control-point response."""

    SUCCESS = 0
    INVALID_OP_CODE = 1
    INVALID_MEASUREMENT_TYPE = 2
    NOT_SUPPORTED = 3
    INVALID_LENGTH = 4
    INVALID_PARAMETER = 5
    ALREADY_IN_STATE = 6
    INVALID_RESOLUTION = 7
    INVALID_SAMPLE_RATE = 8
    INVALID_RANGE = 9
    INVALID_MTU = 10
    INVALID_NUMBER_OF_CHANNELS = 11
    INVALID_STATE = 12
    DEVICE_IN_CHARGER = 13
    DISK_FULL = 14


STATUS_SENTENCES: Final = {
    ResponseStatus.SUCCESS: "success",
    ResponseStatus.INVALID_OP_CODE: "invalid op code (the strap does not know this command)",
    ResponseStatus.INVALID_MEASUREMENT_TYPE: "invalid measurement type",
    ResponseStatus.NOT_SUPPORTED: "not supported by this strap or its firmware",
    ResponseStatus.INVALID_LENGTH: "invalid length (the command has too few or too many bytes)",
    ResponseStatus.INVALID_PARAMETER: "invalid parameter",
    ResponseStatus.ALREADY_IN_STATE: "it is already in that state (already started or stopped)",
    ResponseStatus.INVALID_RESOLUTION: "invalid resolution",
    ResponseStatus.INVALID_SAMPLE_RATE: "invalid sample rate",
    ResponseStatus.INVALID_RANGE: "invalid range",
    ResponseStatus.INVALID_MTU: (
        "invalid MTU (the Bluetooth link's packets are too small for its data frames; "
        "reconnecting usually clears it)"
    ),
    ResponseStatus.INVALID_NUMBER_OF_CHANNELS: "invalid number of channels",
    ResponseStatus.INVALID_STATE: "invalid state (it cannot do this now)",
    ResponseStatus.DEVICE_IN_CHARGER: "it is in its charger",
    ResponseStatus.DISK_FULL: "its memory is full",
}
"""What each status means, as the end of "the strap refused to start ECG: ..."."""


class SettingType(IntEnum):
    """Measurement setting TLV types (``type(1) count(1) value x count``, little-endian)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5
    SECURITY = 6


SETTING_SIZES: Final = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
    SettingType.SECURITY: 16,
}
"""Bytes per value of each setting type (FACTOR is an IEEE-754 float32)."""

SettingValue = int | float
Settings = dict[SettingType, tuple[SettingValue, ...]]
"""Settings as a strap offers them: each type with its allowed (or selected) values."""

H10_ECG_SETTINGS: Final[Mapping[SettingType, int]] = {
    SettingType.SAMPLE_RATE: 130,
    SettingType.RESOLUTION: 14,
}
"""The one ECG setting a Polar H10 offers: 130 Hz, 14 bit (values in µV)."""


def h10_acc_settings(sample_rate_hz: int = 200, range_g: int = 8) -> dict[SettingType, int]:
    """ACC settings of a Polar H10 start command: 25/50/100/200 Hz, 16 bit, 2/4/8 G."""
    return {
        SettingType.SAMPLE_RATE: sample_rate_hz,
        SettingType.RESOLUTION: 16,
        SettingType.RANGE: range_g,
    }


# ---------------------------------------------------------------------------------------------
# Errors


class PmdError(BiofeedbackError):
    """A PMD (raw ECG / accelerometer) problem, described for the user."""


class PmdMalformedError(PmdError, ValueError):
    """Bytes from the strap that do not follow the PMD layout.

    Attributes
    ----------
    offset : int
        Byte offset in the value where the problem is.
    """

    def __init__(self, what: str, offset: int, reason: str) -> None:
        super().__init__(f"malformed PMD {what} at byte {offset}: {reason}")
        self.offset = offset


class PmdRefusedError(PmdError):
    """The strap answered a command with a status other than SUCCESS.

    Attributes
    ----------
    op : int
        The refused command's op code.
    measurement_type : int
        The measurement type it was about.
    status : int
        The response status (:class:`ResponseStatus` when known).
    """

    def __init__(self, op: int, measurement_type: int, status: int) -> None:
        action = _OP_ACTIONS.get(op, f"do command 0x{op:02x} for")
        sentence = _status_sentence(status)
        super().__init__(
            f"the strap refused to {action} {measurement_name(measurement_type)}: {sentence}"
        )
        self.op = op
        self.measurement_type = measurement_type
        self.status = status


class PmdNotPairedError(PmdError):
    """The strap refused a control-point write because the link is not paired (bonded)."""

    def __init__(self, detail: str = "") -> None:
        message = (
            "not paired: the strap accepts raw ECG/accelerometer commands only over a paired "
            "(bonded, encrypted) Bluetooth link; pair it in the system's Bluetooth settings "
            "(Linux: 'bluetoothctl pair ADDRESS') and connect again"
        )
        super().__init__(f"{message} ({detail})" if detail else message)


_NOT_PAIRED_MARKS: Final = (
    "not paired",
    "insufficient authentication",
    "insufficient encryption",
    "authentication failed",
)


def looks_like_not_paired(message: str) -> bool:
    """Whether a write error's text means a missing pairing.

    BlueZ says ``org.bluez.Error.NotPermitted: Not paired`` (or ATT 0x05 / 0x0F in words),
    Windows "Insufficient Authentication", btleplug "insufficient encryption"
    (bleak#1943, btleplug#232).
    """
    lowered = message.lower()
    return any(mark in lowered for mark in _NOT_PAIRED_MARKS)


def measurement_name(code: int) -> str:
    """Name of a measurement type code for messages (``"ECG"``, ``"measurement type 42"``)."""
    try:
        return MEASUREMENT_NAMES[MeasurementType(code & 0x3F)]
    except ValueError:
        return f"measurement type {code}"


def _status_sentence(status: int) -> str:
    try:
        return STATUS_SENTENCES[ResponseStatus(status)]
    except ValueError:
        return f"unknown status {status}"


# ---------------------------------------------------------------------------------------------
# Feature read


def parse_features(data: bytes | bytearray | memoryview) -> frozenset[MeasurementType]:
    """Decode the control point's read value: which measurement types the strap offers.

    Parameters
    ----------
    data : bytes
        ``0F b1 b2``: bit i of the little-endian 16-bit ``b1 b2`` set = type code i offered
        (a Polar H10 reads ``0F 05 00``: ECG and ACC).

    Returns
    -------
    frozenset of MeasurementType
        Known types only (unknown bits are ignored: newer firmware may add types).

    Raises
    ------
    PmdMalformedError
        Not starting with 0x0F, or shorter than 3 bytes.
    """
    buf = bytes(data)
    if not buf or buf[0] != FEATURES_FLAG:
        got = f"0x{buf[0]:02x}" if buf else "nothing"
        raise PmdMalformedError("feature read", 0, f"expected 0x0F, got {got}")
    if len(buf) < 3:
        raise PmdMalformedError("feature read", len(buf), "needs 2 feature bytes after 0x0F")
    bits = int.from_bytes(buf[1:3], "little")
    return frozenset(t for t in MeasurementType if bits >> t.value & 1)


def build_features(types: Iterable[MeasurementType]) -> bytes:
    """Encode a feature read value (the inverse of :func:`parse_features`)."""
    bits = 0
    for t in types:
        bits |= 1 << int(t)
    return bytes([FEATURES_FLAG]) + bits.to_bytes(2, "little")


# ---------------------------------------------------------------------------------------------
# Settings TLVs


def parse_settings(params: bytes | bytearray | memoryview, *, base_offset: int = 0) -> Settings:
    """Decode setting TLVs (the parameters of a GET_MEASUREMENT_SETTINGS response).

    Parameters
    ----------
    params : bytes
        ``type(1) count(1) value x count`` repeated; values little-endian, unsigned except
        FACTOR (float32).
    base_offset : int
        Offset of ``params`` in the whole value, so errors name the byte of the indication.

    Returns
    -------
    dict
        Setting type to its values in order; a type repeated accumulates its values.

    Raises
    ------
    PmdMalformedError
        Unknown setting type (its size cannot be known), or values cut short.
    """
    buf = bytes(params)
    settings: Settings = {}
    pos = 0
    while pos < len(buf):
        code = buf[pos]
        try:
            kind = SettingType(code)
        except ValueError:
            raise PmdMalformedError(
                "settings", base_offset + pos, f"unknown setting type {code}"
            ) from None
        if pos + 2 > len(buf):
            raise PmdMalformedError(
                "settings", base_offset + pos + 1, f"{kind.name} has no value count"
            )
        count = buf[pos + 1]
        size = SETTING_SIZES[kind]
        start = pos + 2
        end = start + count * size
        if end > len(buf):
            raise PmdMalformedError(
                "settings",
                base_offset + start,
                f"{kind.name} announces {count} value(s) of {size} byte(s) but only "
                f"{len(buf) - start} byte(s) are left",
            )
        values = tuple(_decode_value(kind, buf[i : i + size]) for i in range(start, end, size))
        settings[kind] = settings.get(kind, ()) + values
        pos = end
    return settings


def build_settings(settings: Mapping[SettingType, Iterable[SettingValue]]) -> bytes:
    """Encode setting TLVs in type order (the inverse of :func:`parse_settings`)."""
    out = bytearray()
    for kind in sorted(settings):
        values = list(settings[kind])
        if len(values) > 0xFF:
            raise ValueError(f"{kind.name}: at most 255 values fit one TLV, got {len(values)}")
        out += bytes([int(kind), len(values)])
        for value in values:
            out += _encode_value(kind, value)
    return bytes(out)


def _decode_value(kind: SettingType, raw: bytes) -> SettingValue:
    if kind is SettingType.FACTOR:
        value: float = struct.unpack("<f", raw)[0]
        return value
    return int.from_bytes(raw, "little")


def _encode_value(kind: SettingType, value: SettingValue) -> bytes:
    if kind is SettingType.FACTOR:
        return struct.pack("<f", float(value))
    size = SETTING_SIZES[kind]
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{kind.name} takes whole numbers, got {value}")
    number = int(value)
    if not 0 <= number < 1 << (8 * size):
        raise ValueError(f"{kind.name} value {number} does not fit {size} byte(s)")
    return number.to_bytes(size, "little")


# ---------------------------------------------------------------------------------------------
# Commands


def _type_byte(measurement_type: MeasurementType, recording_type: int) -> int:
    # The type byte carries the recording type (0 online, 1 offline) in bit 7.
    return (recording_type << 7) | int(measurement_type)


def build_get_settings(measurement_type: MeasurementType, *, recording_type: int = 0) -> bytes:
    """GET_MEASUREMENT_SETTINGS: ``01 <type>`` (``01 00`` ECG, ``01 02`` ACC)."""
    return bytes(
        [ControlPointOp.GET_MEASUREMENT_SETTINGS, _type_byte(measurement_type, recording_type)]
    )


def build_start(
    measurement_type: MeasurementType,
    settings: Mapping[SettingType, SettingValue],
    *,
    recording_type: int = 0,
) -> bytes:
    """REQUEST_MEASUREMENT_START: ``02 <type>`` then one TLV (count 1) per selected setting.

    Parameters
    ----------
    measurement_type : MeasurementType
    settings : mapping
        The selected value of each setting, e.g. :data:`H10_ECG_SETTINGS` gives the canonical
        ``02 00 00 01 82 00 01 01 0E 00``.
    recording_type : int
        0 online (streamed), 1 offline (recorded on the device).

    Returns
    -------
    bytes
    """
    body = build_settings({kind: (value,) for kind, value in settings.items()})
    return (
        bytes(
            [ControlPointOp.REQUEST_MEASUREMENT_START, _type_byte(measurement_type, recording_type)]
        )
        + body
    )


def build_stop(measurement_type: MeasurementType, *, recording_type: int = 0) -> bytes:
    """STOP_MEASUREMENT: ``03 <type>`` (``03 00`` ECG, ``03 02`` ACC)."""
    return bytes([ControlPointOp.STOP_MEASUREMENT, _type_byte(measurement_type, recording_type)])


@dataclass(frozen=True, slots=True)
class ControlPointCommand:
    """A command as the strap receives it (what the virtual strap decodes).

    Attributes
    ----------
    op : int
        Op code (:class:`ControlPointOp` when known).
    measurement_type : int
        Low 7 bits of the type byte.
    recording_type : int
        Bit 7 of the type byte (0 online).
    settings : dict
        The START command's selected settings; empty for the others.
    """

    op: int
    measurement_type: int
    recording_type: int
    settings: Settings


def parse_command(data: bytes | bytearray | memoryview) -> ControlPointCommand:
    """Decode a control-point write (the inverse of the ``build_*`` commands).

    Raises
    ------
    PmdMalformedError
        Fewer than 2 bytes, or START settings that are not valid TLVs.
    """
    buf = bytes(data)
    if len(buf) < 2:
        raise PmdMalformedError("command", len(buf), "needs an op code and a measurement type")
    settings = (
        parse_settings(buf[2:], base_offset=2)
        if buf[0] == ControlPointOp.REQUEST_MEASUREMENT_START
        else {}
    )
    return ControlPointCommand(buf[0], buf[1] & 0x7F, buf[1] >> 7, settings)


# ---------------------------------------------------------------------------------------------
# Responses and indications


@dataclass(frozen=True, slots=True)
class ControlPointResponse:
    """A control-point response (``F0 op type status [more params...]``).

    Attributes
    ----------
    op : int
        Op code it answers.
    measurement_type : int
        Measurement type it is about.
    status : int
        :class:`ResponseStatus` value (0 = success).
    more : bool
        Further indications follow, continuing ``params``.
    params : bytes
        The parameters (setting TLVs for GET_MEASUREMENT_SETTINGS).
    """

    op: int
    measurement_type: int
    status: int
    more: bool
    params: bytes

    @property
    def ok(self) -> bool:
        """Whether the status is SUCCESS."""
        return self.status == ResponseStatus.SUCCESS

    def raise_for_status(self) -> None:
        """Raise :class:`PmdRefusedError` unless the status is SUCCESS."""
        if not self.ok:
            raise PmdRefusedError(self.op, self.measurement_type, self.status)

    def settings(self) -> Settings:
        """The parameters as setting TLVs (a GET_MEASUREMENT_SETTINGS answer).

        Raises
        ------
        PmdRefusedError
            The status is not SUCCESS.
        PmdMalformedError
            The parameters are not valid TLVs (offsets counted from byte 5).
        """
        self.raise_for_status()
        return parse_settings(self.params, base_offset=5)


@dataclass(frozen=True, slots=True)
class MeasurementStopped:
    """The strap's own ONLINE_MEASUREMENT_STOPPED indication (``01 type...``).

    Attributes
    ----------
    measurement_types : tuple of int
        The streams it stopped (a bare ``01`` = all).
    """

    measurement_types: tuple[int, ...]


def parse_response(data: bytes | bytearray | memoryview) -> ControlPointResponse:
    """Decode one response indication.

    Raises
    ------
    PmdMalformedError
        Not starting with 0xF0, or shorter than its 4-byte header.
    """
    buf = bytes(data)
    if not buf or buf[0] != RESPONSE_FLAG:
        got = f"0x{buf[0]:02x}" if buf else "nothing"
        raise PmdMalformedError("response", 0, f"expected 0xF0, got {got}")
    if len(buf) < 4:
        raise PmdMalformedError(
            "response", len(buf), "needs op code, measurement type and status after 0xF0"
        )
    more = len(buf) > 4 and buf[4] != 0
    return ControlPointResponse(buf[1], buf[2], buf[3], more, buf[5:])


def parse_indication(
    data: bytes | bytearray | memoryview,
) -> ControlPointResponse | MeasurementStopped:
    """Decode any control-point indication: a response, or the strap's own stop.

    Raises
    ------
    PmdMalformedError
        Neither 0xF0 nor 0x01 first, or a response shorter than its header.
    """
    buf = bytes(data)
    if buf and buf[0] == ONLINE_MEASUREMENT_STOPPED:
        return MeasurementStopped(tuple(b & 0x3F for b in buf[1:]))
    if buf and buf[0] != RESPONSE_FLAG:
        raise PmdMalformedError(
            "indication", 0, f"expected 0xF0 (response) or 0x01 (stopped), got 0x{buf[0]:02x}"
        )
    return parse_response(buf)


def build_response(
    op: int,
    measurement_type: int,
    status: int = ResponseStatus.SUCCESS,
    params: bytes = b"",
    *,
    more: bool = False,
) -> bytes:
    """Encode one response indication (the inverse of :func:`parse_response`).

    The ``more`` byte is written whenever there are parameters or ``more`` is set; a bare
    4-byte response is what straps send for errors and for STOP.
    """
    head = bytes([RESPONSE_FLAG, op, measurement_type, status])
    if params or more:
        return head + bytes([1 if more else 0]) + params
    return head


def split_response(
    op: int, measurement_type: int, params: bytes, max_length: int, status: int = 0
) -> list[bytes]:
    """Encode a response as indications of at most ``max_length`` bytes, ``more`` set on all
    but the last (how a strap sends settings longer than its MTU allows)."""
    room = max_length - 5
    if room < 1:
        raise ValueError(f"an indication of {max_length} bytes has no room for parameters")
    chunks = [params[i : i + room] for i in range(0, len(params), room)] or [b""]
    last = len(chunks) - 1
    return [
        build_response(op, measurement_type, status, chunk, more=i < last)
        for i, chunk in enumerate(chunks)
    ]


def build_measurement_stopped(measurement_types: Iterable[int]) -> bytes:
    """Encode the strap's ONLINE_MEASUREMENT_STOPPED indication."""
    return bytes([ONLINE_MEASUREMENT_STOPPED, *(int(t) for t in measurement_types)])


class ResponseAssembler:
    """Joins a multi-part response: feed indications, get the whole response at the last.

    The first part's header is the response's; each later part must repeat its op code and
    measurement type, and its bytes from 5 on continue the parameters.
    """

    def __init__(self) -> None:
        self._first: ControlPointResponse | None = None
        self._params = bytearray()

    def feed(self, data: bytes | bytearray | memoryview) -> ControlPointResponse | None:
        """Add one indication.

        Returns
        -------
        ControlPointResponse or None
            The whole response once a part without ``more`` arrives; None before.

        Raises
        ------
        PmdMalformedError
            A part that is not a response, or that answers another command than the first.
        """
        part = parse_response(data)
        if self._first is None:
            self._first = part
        elif (part.op, part.measurement_type) != (self._first.op, self._first.measurement_type):
            first = self._first
            self._first = None
            self._params.clear()
            raise PmdMalformedError(
                "response",
                1,
                f"a continuation answers op 0x{part.op:02x} for "
                f"{measurement_name(part.measurement_type)}, the response began with "
                f"op 0x{first.op:02x} for "
                f"{measurement_name(first.measurement_type)}",
            )
        self._params += part.params
        if part.more:
            return None
        first = self._first
        whole = ControlPointResponse(
            first.op, first.measurement_type, first.status, False, bytes(self._params)
        )
        self._first = None
        self._params.clear()
        return whole
