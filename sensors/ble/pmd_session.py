"""Polar PMD (raw ECG and accelerometer) on one connected strap, through bleak.

:class:`PmdLink` does the control-point conversation of one connection in the Polar SDK's
order (``../shared`` reference, section 4.2): subscribe to the control point's indications
*and* the data notifications first, read the features, ask each stream's settings, start it,
await each response as an indication. Data frames and the strap's own stop indications are
handed to callbacks (the strap source queues them beside the heart-rate notifications); the
decoding itself is :mod:`sensors.ble.pmd`.

Why these streams: ECG at the H10's only setting (130 Hz, 14 bit, µV); the accelerometer at
:data:`ACC_RATE_HZ` = 50 Hz and :data:`ACC_RANGE_G` = 8 G. Breathing moves the chest at
0.1-1 Hz (6-60 breaths/min), so 50 Hz (Nyquist 25 Hz) resolves it, and the movement
artifacts it must be told apart from, with a wide margin; 200 Hz would only quadruple the
radio traffic and the stored bytes (1200 instead of 300 B/s). The range does not change the
unit (mG integers either way) but 8 G does not clip when the wearer moves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from biofeedback.core.signals import SignalChunk
from sensors.ble.pmd import (
    PMD_CONTROL_POINT_UUID,
    PMD_DATA_UUID,
    PMD_SERVICE_UUID,
    ControlPointResponse,
    MeasurementStopped,
    MeasurementType,
    PmdError,
    PmdMalformedError,
    PmdNotPairedError,
    ResponseAssembler,
    ResponseStatus,
    SettingType,
    build_get_settings,
    build_start,
    build_stop,
    parse_features,
    parse_indication,
)
from sensors.ble.pmd.protocol import looks_like_not_paired

logger = logging.getLogger(__name__)

ECG_RATE_HZ: Final = 130
"""The H10's one ECG rate, Hz."""
ECG_RESOLUTION_BITS: Final = 14
ACC_RATE_HZ: Final = 50
"""Accelerometer rate asked for, Hz (why 50: see the module docstring)."""
ACC_RANGE_G: Final = 8
"""Accelerometer range asked for, ±G."""
ACC_RESOLUTION_BITS: Final = 16

RESPONSE_TIMEOUT_S: Final = 10.0
"""How long to await a control-point response, s (bleakheart's 10 s; the Polar SDK waits
30 s, but a strap that has not answered in 10 s is not going to stream)."""

STREAM_NAMES: Final = {MeasurementType.ECG: "ecg", MeasurementType.ACC: "acc"}
"""The SignalChunk stream of each measurement type this source starts."""
STREAM_LABELS: Final = {"ecg": "ECG", "acc": "accelerometer"}
"""Names of the streams in the user's sentences."""
MISSING_STREAM_SENTENCES: Final = {
    MeasurementType.ECG: "The strap offers no raw ECG (older H10 firmware has none), so RR "
                         "cannot be checked against it",
    MeasurementType.ACC: "The strap offers no accelerometer, so breathing is estimated from "
                         "RR alone",
}
"""What a strap offering PMD without one of the streams costs (the start of a sentence)."""


def what_goes_on(started: Sequence[StreamSettings]) -> str:
    """The end of a PMD sentence: what streams on (``"heart rate, RR and the
    accelerometer go on"``) given the streams that did start."""
    names = ["heart rate", "RR", *(f"the {STREAM_LABELS[c.stream]}" for c in started)]
    return f"{', '.join(names[:-1])} and {names[-1]} go on"


@dataclass(frozen=True, slots=True)
class StreamSettings:
    """What one stream was started with.

    Attributes
    ----------
    stream : str
        ``"ecg"`` or ``"acc"``.
    rate_hz : int
        SAMPLE_RATE, Hz.
    resolution_bits : int
        RESOLUTION, bits.
    range_g : int or None
        RANGE (accelerometer), ±G.
    """

    stream: str
    rate_hz: int
    resolution_bits: int
    range_g: int | None = None

    @property
    def measurement_type(self) -> MeasurementType:
        """The PMD measurement type of the stream."""
        return MeasurementType.ECG if self.stream == "ecg" else MeasurementType.ACC

    def start_settings(self) -> dict[SettingType, int]:
        """The setting TLVs of the START command."""
        chosen = {SettingType.SAMPLE_RATE: self.rate_hz,
                  SettingType.RESOLUTION: self.resolution_bits}
        if self.range_g is not None:
            chosen[SettingType.RANGE] = self.range_g
        return chosen


def _pick(offered: tuple[int | float, ...] | None, wanted: int) -> int:
    """The offered value nearest to ``wanted`` (``wanted`` itself when nothing is offered:
    the H10 lists its settings, other firmware may answer with none)."""
    if not offered:
        return wanted
    return int(min(offered, key=lambda v: (abs(v - wanted), v)))


def choose_settings(stream: str, offered: Mapping[SettingType, tuple[int | float, ...]]
                    ) -> StreamSettings:
    """The settings to start a stream with, from what the strap offers.

    Parameters
    ----------
    stream : str
        ``"ecg"`` or ``"acc"``.
    offered : mapping
        The GET_MEASUREMENT_SETTINGS answer.

    Returns
    -------
    StreamSettings
        130 Hz / 14 bit for ECG, 50 Hz / 16 bit / 8 G for the accelerometer on an H10; the
        nearest offered values on another strap.
    """
    if stream == "ecg":
        return StreamSettings(
            "ecg", _pick(offered.get(SettingType.SAMPLE_RATE), ECG_RATE_HZ),
            _pick(offered.get(SettingType.RESOLUTION), ECG_RESOLUTION_BITS))
    return StreamSettings(
        "acc", _pick(offered.get(SettingType.SAMPLE_RATE), ACC_RATE_HZ),
        _pick(offered.get(SettingType.RESOLUTION), ACC_RESOLUTION_BITS),
        _pick(offered.get(SettingType.RANGE), ACC_RANGE_G))


def has_pmd(client: Any) -> bool:
    """Whether the connected strap offers the PMD service with its two characteristics."""
    service = client.services.get_service(PMD_SERVICE_UUID)
    if service is None:
        return False
    uuids = {c.uuid.lower() for c in service.characteristics}
    return {PMD_CONTROL_POINT_UUID, PMD_DATA_UUID} <= uuids


class PmdLink:
    """The PMD conversation on one bleak connection.

    Parameters
    ----------
    client : BleakClient
        Connected, its services resolved (:func:`has_pmd` true).
    on_data : callable
        Called on the event loop with each data notification's bytes.
    on_stopped : callable
        Called with the strap's own ONLINE_MEASUREMENT_STOPPED indication.
    response_timeout_s : float
        How long to await each response, s.
    """

    def __init__(
        self,
        client: Any,
        on_data: Callable[[bytes], None],
        on_stopped: Callable[[MeasurementStopped], None],
        *,
        response_timeout_s: float = RESPONSE_TIMEOUT_S,
    ) -> None:
        self.client = client
        self._on_data = on_data
        self._on_stopped = on_stopped
        self._timeout_s = response_timeout_s
        self._assembler = ResponseAssembler()
        self._pending: asyncio.Future[ControlPointResponse] | None = None
        self.running: dict[str, StreamSettings] = {}
        """Streams started on this connection and not stopped since."""

    async def open(self) -> frozenset[MeasurementType]:
        """Subscribe to the control point and the data, then read the features.

        Returns
        -------
        frozenset of MeasurementType
            The measurement types the strap offers.

        Raises
        ------
        PmdError
            The features do not parse, or a bleak error (as :class:`PmdError`).
        """
        try:
            await self.client.start_notify(PMD_CONTROL_POINT_UUID, self._on_indication)
            await self.client.start_notify(PMD_DATA_UUID, self._on_notification)
            features = bytes(await self.client.read_gatt_char(PMD_CONTROL_POINT_UUID))
        except Exception as exc:  # any backend error: PMD is an extra, heart rate goes on
            raise _as_pmd_error(exc, "subscribing to PMD") from exc
        return parse_features(features)

    async def ask(self, command: bytes) -> ControlPointResponse:
        """Write one command and await its (possibly multi-part) response.

        Raises
        ------
        PmdNotPairedError
            The write was refused for want of pairing.
        PmdError
            Another write error, or no response within the timeout.
        """
        loop = asyncio.get_running_loop()
        self._pending = loop.create_future()
        try:
            try:
                await self.client.write_gatt_char(PMD_CONTROL_POINT_UUID, command, response=True)
            except Exception as exc:  # any backend error, sorted into not paired or other
                raise _as_pmd_error(exc, f"writing PMD command {command.hex()}") from exc
            try:
                async with asyncio.timeout(self._timeout_s):
                    return await self._pending
            except TimeoutError:
                raise PmdError(
                    f"the strap did not answer PMD command {command.hex()} within "
                    f"{self._timeout_s:g} s") from None
        finally:
            self._pending = None

    async def settings(self, measurement_type: MeasurementType
                       ) -> dict[SettingType, tuple[int | float, ...]]:
        """The settings the strap offers for a stream (GET_MEASUREMENT_SETTINGS)."""
        return (await self.ask(build_get_settings(measurement_type))).settings()

    async def start(self, chosen: StreamSettings) -> None:
        """Start one stream; a stream the strap says already runs (left by an earlier
        connection that ended without STOP) is stopped and started again, so its settings
        are the ones asked for.

        Raises
        ------
        PmdRefusedError
            The strap refused.
        PmdNotPairedError, PmdError
            As :meth:`ask`.
        """
        command = build_start(chosen.measurement_type, chosen.start_settings())
        response = await self.ask(command)
        if response.status == ResponseStatus.ALREADY_IN_STATE:
            await self.ask(build_stop(chosen.measurement_type))
            response = await self.ask(command)
        response.raise_for_status()
        self.running[chosen.stream] = chosen

    async def stop_all(self) -> None:
        """Stop every running stream (an H10 left streaming stays awake and drains its
        battery: Polar's KnownIssues, H10 issue 2). Errors are logged, not raised."""
        for stream, chosen in list(self.running.items()):
            try:
                await self.ask(build_stop(chosen.measurement_type))
            except PmdError:
                logger.debug("stopping PMD %s failed", stream, exc_info=True)
            self.running.pop(stream, None)

    # -- bleak callbacks (on the event loop) -----------------------------------------------

    def _on_notification(self, _characteristic: object, data: bytearray) -> None:
        self._on_data(bytes(data))

    def _on_indication(self, _characteristic: object, data: bytearray) -> None:
        try:
            indication = parse_indication(data)
        except PmdMalformedError:
            logger.debug("malformed PMD indication %s ignored", bytes(data).hex(), exc_info=True)
            return
        if isinstance(indication, MeasurementStopped):
            for name in stopped_streams(indication):
                self.running.pop(name, None)
            self._on_stopped(indication)
            return
        try:
            whole = self._assembler.feed(data)
        except PmdMalformedError:
            logger.debug("PMD response part %s ignored", bytes(data).hex(), exc_info=True)
            return
        pending = self._pending
        if whole is not None and pending is not None and not pending.done():
            pending.set_result(whole)


def stopped_streams(indication: MeasurementStopped) -> list[str]:
    """The streams (of :data:`STREAM_NAMES`) a strap's stop indication names; a bare stop
    names them all."""
    codes = indication.measurement_types or tuple(int(t) for t in STREAM_NAMES)
    return [STREAM_NAMES[MeasurementType(c)] for c in codes if c in STREAM_NAMES]


class StreamContinuity:
    """Keeps each stream's sample indices increasing across connections.

    Every connection decodes with a fresh :class:`~sensors.ble.pmd.PmdDataDecoder` (and a
    fresh device-clock fit: a strap that restarted meanwhile has a new clock), whose indices
    start at 0; the first chunk of a stream after a reconnection is moved on to follow the
    last one, plus the samples the link loss cost (its time gap at the stream's rate), so
    ``first_index`` stays "index since the start" and nothing overlaps.
    """

    def __init__(self) -> None:
        self._next: dict[str, tuple[int, float]] = {}  # stream -> (next index, end time s)
        self._shift: dict[str, int] = {}
        self._rejoin: set[str] = set()

    def new_connection(self) -> None:
        """The next chunks come from a new connection's decoder."""
        self._rejoin = set(self._next)
        self._shift.clear()

    def place(self, chunk: SignalChunk) -> SignalChunk:
        """The chunk with its ``first_index`` counted since the source started."""
        stream = chunk.stream
        if stream in self._rejoin:
            self._rejoin.discard(stream)
            next_index, end_s = self._next[stream]
            lost = max(0, round((chunk.t0_s - end_s) * chunk.rate_hz))
            self._shift[stream] = next_index + lost - chunk.first_index
        shift = self._shift.get(stream, 0)
        if shift:
            chunk = replace(chunk, first_index=chunk.first_index + shift)
        n = chunk.n_samples
        self._next[stream] = (chunk.first_index + n, chunk.t0_s + n / chunk.rate_hz)
        return chunk


def _as_pmd_error(exc: Exception, doing: str) -> PmdError:
    """A bleak error as a PMD error; a refusal for want of pairing as
    :class:`PmdNotPairedError`."""
    if isinstance(exc, PmdError):
        return exc
    text = f"{type(exc).__name__}: {exc}"
    if looks_like_not_paired(text):
        return PmdNotPairedError(str(exc))
    return PmdError(f"{doing} failed: {text}")
