"""Any Bluetooth LE heart-rate strap as a :class:`HeartRateSource`, through bleak.

The strap is found by the Heart Rate service (0x180D), never by vendor name. Heart Rate
Measurement notifications (0x2A37) are decoded, beat times are rebuilt from cumulative RR
anchored to the receive clock (:class:`~biofeedback.core.beat_clock.BeatClock`), and a link loss
is followed by automatic reconnection with backoff: the same session goes on, with
``disconnected``/``reconnected`` markers and a gap in between.

A strap that offers Polar's PMD service (the H10) also streams its raw ECG and accelerometer
(:mod:`sensors.ble.pmd_session`), started after each connection beside the heart-rate
notifications and handed on as :class:`~biofeedback.core.signals.SignalChunk` events. PMD is
an extra: absent, refused or unpaired, the source says so once and goes on with heart rate.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Final

from biofeedback.core.beat_clock import BeatClock
from biofeedback.core.source import HeartRateSource, SourceCapabilities
from biofeedback.core.types import (
    ECG_WAIT_NOTE,
    Connected,
    GapReason,
    Marker,
    MarkerKind,
    Reconnecting,
    SourceState,
)
from sensors.ble.dedup import NotificationDeduplicator
from sensors.ble.errors import StrapError, describe_ble_error
from sensors.ble.gatt import (
    BATTERY_LEVEL_UUID,
    BODY_SENSOR_LOCATION_UUID,
    FIRMWARE_REVISION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    MANUFACTURER_NAME_UUID,
    MODEL_NUMBER_UUID,
    SERIAL_NUMBER_UUID,
    HeartRateMeasurement,
    MalformedMeasurementError,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_utf8_string,
)
from sensors.ble.off_body import OFF_BODY_MESSAGE, ON_BODY_MESSAGE, OffBodyDetector
from sensors.ble.pmd import (
    MeasurementStopped,
    MeasurementType,
    PmdDataDecoder,
    PmdError,
    PmdMalformedError,
    PmdNotPairedError,
    PmdRefusedError,
)
from sensors.ble.pmd_session import (
    MISSING_STREAM_SENTENCES,
    STREAM_LABELS,
    STREAM_NAMES,
    PmdLink,
    StreamContinuity,
    StreamSettings,
    choose_settings,
    has_pmd,
    stopped_streams,
    what_goes_on,
)
from sensors.ble.scan import StrapAdvertisement, scan_for_straps

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class _LinkLost:
    """Inbox item: bleak reported that ``client`` disconnected."""

    client: object


@dataclass(frozen=True, slots=True)
class _PmdData:
    """Inbox item: one PMD data notification, with the decoder of its connection."""

    received_s: float
    data: bytes
    decoder: PmdDataDecoder


@dataclass(frozen=True, slots=True)
class _PmdStopped:
    """Inbox item: the strap stopped PMD streams by itself (on the link ``link``)."""

    link: PmdLink
    indication: MeasurementStopped


STRONGEST_SCAN_ROUND_S: Final = 3.0
"""Listening time to compare straps' signal strengths (straps advertise several times a
second), s."""

DEFAULT_BACKOFF_S: Final = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Waits between reconnection attempts, s; the last one repeats."""

CHARACTERISTIC_RETRIES: Final = 3
"""Fresh connections tried when the heart-rate characteristic is missing after connect."""
CHARACTERISTIC_RETRY_WAIT_S: Final = 0.5
"""Wait before such a retry, times the retry number, s (ours: long enough for objects that
follow an early ServicesResolved by a few hundred ms, bluez issue 1489)."""

DEFAULT_DATA_TIMEOUT_S: Final = 5.0
"""Silence on a connected link after which it is taken as lost, s (five notifications of a
1-Hz strap; ours)."""


async def _best_effort(what: str, step: Awaitable[object]) -> None:
    """Await a cleanup step whose failure changes nothing (the link is going away anyway).

    Broad on purpose: what a dying link raises depends on the bleak backend (BleakError,
    dbus-fast errors, OSError, EOFError, TimeoutError from ``wait_for``), and none of it may
    hide the reason the session is ending. Logged at DEBUG with the traceback.
    """
    try:
        await step
    except Exception:
        logger.debug("%s failed (ignored)", what, exc_info=True)


class BleHeartRateStrap(HeartRateSource):
    """A Bluetooth LE heart-rate strap.

    Parameters
    ----------
    address : str, optional
        Bluetooth address (macOS: the per-machine UUID). None: the strap with the strongest
        signal among those advertising 0x180D.
    scan_timeout_s : float
        How long to look for the strap, s.
    connect_timeout_s : float
        How long one connection attempt may take, s.
    give_up_after_s : float
        After a link loss, how long to keep trying to reconnect before finishing the session
        cleanly, s (default 120).
    backoff_s : tuple of float
        Waits between reconnection attempts, s; the last one repeats.
    data_timeout_s : float
        No heart-rate notification for this long while connected means a silent link (BlueZ
        still says connected after the strap, bluetoothd or the adapter went away, or the
        strap's heart rate hung while its ECG/accelerometer frames go on): the source drops
        it, records a gap of reason ``no_data`` and reconnects, s (default 5: five missed
        notifications of a 1-Hz strap; docs/straps.md).
    pmd : bool
        Stream raw ECG and accelerometer when the strap offers PMD (default True); False:
        heart rate and RR only.
    pmd_pair : bool
        When a PMD command is refused for want of pairing, ask the system to pair once
        (``BleakClient.pair``; default True). False: only say how to pair.

    Notes
    -----
    Failures (adapter off or missing, strap not found, permission, a scan already running)
    end the source with a :class:`~biofeedback.core.types.StatusChange` of state ``failed``
    whose message says what happened; they never raise into the consumer or hang.
    """

    kind = "ble"
    capabilities = SourceCapabilities(live=True, has_battery=True)

    def __init__(
        self,
        address: str | None = None,
        *,
        scan_timeout_s: float = 10.0,
        connect_timeout_s: float = 20.0,
        give_up_after_s: float = 120.0,
        backoff_s: tuple[float, ...] = DEFAULT_BACKOFF_S,
        data_timeout_s: float = DEFAULT_DATA_TIMEOUT_S,
        pmd: bool = True,
        pmd_pair: bool = True,
    ) -> None:
        super().__init__()
        if not data_timeout_s > 0:
            raise ValueError(f"data_timeout_s must be positive, not {data_timeout_s}")
        self._data_timeout_s = data_timeout_s
        self._lost_reason = GapReason.LINK_LOSS
        self._address = address
        self._scan_timeout_s = scan_timeout_s
        self._connect_timeout_s = connect_timeout_s
        self._give_up_after_s = give_up_after_s
        self._backoff_s = backoff_s or DEFAULT_BACKOFF_S
        self._clock = BeatClock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._t0: float | None = None
        self._client: Any = None
        # (receive time s, notification bytes), PMD items, or a link loss, in arrival order.
        self._inbox: asyncio.Queue[tuple[float, bytes] | _LinkLost | _PmdData | _PmdStopped] = (
            asyncio.Queue()
        )
        self._pmd_enabled = pmd
        self._pmd_pair = pmd_pair
        self._pmd_pair_tried = False
        self._pmd_pair_failure = ""
        self._pmd_link: PmdLink | None = None
        self._pmd_restarted: set[str] = set()
        self._pmd_started: dict[str, StreamSettings] = {}
        self._pmd_continuity = StreamContinuity()
        self._pmd_said: set[str] = set()
        self._pmd_notes: list[str] = []
        self._pmd_malformed = 0
        self._info: dict[str, Any] = {"address": address}
        self._contact: bool | None = None
        self._malformed = 0
        self._reconnections = 0
        self._dedup: NotificationDeduplicator[tuple[float, HeartRateMeasurement]] = (
            NotificationDeduplicator()
        )
        self._off_body = OffBodyDetector()
        self._copies_announced = 1
        self._last_failure = ""

    # -- information -----------------------------------------------------------------------

    @property
    def device_info(self) -> dict[str, Any]:
        return dict(self._info)

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "address": self._address,
            "scan_timeout_s": self._scan_timeout_s,
            "connect_timeout_s": self._connect_timeout_s,
            "give_up_after_s": self._give_up_after_s,
            "backoff_s": list(self._backoff_s),
            "data_timeout_s": self._data_timeout_s,
            "pmd": self._pmd_enabled,
            "gap_factor": self._clock.gap_factor,
        }

    def session_time_s(self) -> float:
        """Seconds since the strap started streaming (0 while looking and connecting), so a
        recording's duration and its stored start do not include the search."""
        if self._loop is None or self._t0 is None:
            return 0.0
        return self._loop.time() - self._t0

    # -- life cycle ------------------------------------------------------------------------

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        target = self._address or "the strongest heart-rate strap"
        await self._set_state(SourceState.CONNECTING, f"Looking for {target}")
        device = await self._find(self._scan_timeout_s, connected_first=True)
        await self._connect(device)
        await self._start_pmd()
        await self._announce_connection(self._connected_message())
        await self._say_pmd_notes()
        while await self._pump():
            await self._emit(
                Marker(self.session_time_s(), 0.0, "disconnected", MarkerKind.CONNECTION,
                       {"reason": str(self._lost_reason)})
            )
            lost_at = self.session_time_s()
            if not await self._reconnect():
                why = f" (last attempt: {self._last_failure})" if self._last_failure else ""
                self._end_message = (
                    f"Could not reconnect to the strap within {self._give_up_after_s:g} s"
                    f"{why}; the recording was finished"
                )
                return
            self._reconnections += 1
            self._clock.break_segment(self._lost_reason)
            after = self.session_time_s() - lost_at
            await self._emit(
                Marker(
                    self.session_time_s(), 0.0, "reconnected", MarkerKind.CONNECTION,
                    {"after_s": round(after, 3)},
                )
            )
            await self._start_pmd()
            await self._announce_connection(f"Reconnected after {after:.1f} s")
            await self._say_pmd_notes()

    async def _announce_connection(self, message: str) -> None:
        info = self._info
        name = info.get("name")
        await self._emit(
            Connected(
                self.session_time_s(), dict(info), str(info["address"]),
                str(name) if name else None,
            )
        )
        await self._set_state(SourceState.STREAMING, message)

    async def _cleanup(self) -> None:
        client, self._client = self._client, None
        link, self._pmd_link = self._pmd_link, None
        if client is None:
            return
        if client.is_connected and link is not None and link.running:
            await _best_effort("stopping PMD streams", asyncio.wait_for(link.stop_all(), 5.0))
        if client.is_connected:
            await _best_effort(
                "stopping notifications",
                asyncio.wait_for(client.stop_notify(HEART_RATE_MEASUREMENT_UUID), 5.0),
            )
        await _best_effort("disconnecting", asyncio.wait_for(client.disconnect(), 5.0))

    # -- steps -----------------------------------------------------------------------------

    async def _find(self, timeout_s: float, *, connected_first: bool = False) -> Any:
        """The BLEDevice to connect to: by address or the strongest strap advertising, or
        one already connected at the OS level (after a crash of an app the link stays up
        and the strap does not advertise).

        ``connected_first`` looks at connected devices before scanning; only right at the
        start, when bleak's view of BlueZ is fresh: after bluetoothd restarted it can still
        list a strap as connected that is not.
        """
        if connected_first and (device := await self._connected_strap()) is not None:
            return device
        try:
            device = await self._scan_for(timeout_s)
        except StrapError:
            if connected_first or (device := await self._connected_strap()) is None:
                raise
            return device
        if device is None and not connected_first:
            device = await self._connected_strap()
            if device is not None:
                return device
        if device is None:
            raise StrapError(
                f"strap {self._address} not found in {timeout_s:g} s: is it worn with moist "
                "electrodes, in range, and not connected to another app?"
            )
        self._info.update(address=device.address, name=device.name)
        self._address = device.address
        return device

    async def _scan_for(self, timeout_s: float) -> Any:
        """Scan for the strap (by address, or the strongest one); None if not heard."""
        from bleak import BleakScanner

        address = self._address
        if address is None:
            address = (await self._strongest(timeout_s)).address
        try:
            return await BleakScanner.find_device_by_address(address, timeout=timeout_s)
        except Exception as exc:  # any backend error, translated for the user and re-raised
            raise describe_ble_error(exc, f"looking for strap {address}") from exc

    async def _connected_strap(self) -> Any:
        """A heart-rate strap the OS already holds a link to (ours by address), or None.

        bleak 3.1 lists them without scanning (``BleakAdapter.get_connected_devices``);
        older bleak, or a backend without it, has no such list.
        """
        try:
            from bleak import BleakAdapter

            adapter = await BleakAdapter.get()
            devices = await adapter.get_connected_devices([HEART_RATE_SERVICE_UUID])
        except Exception:  # no adapter, no support: a scan decides as before
            logger.debug("listing connected devices failed", exc_info=True)
            return None
        for device in devices:
            if self._address is None or device.address.upper() == self._address.upper():
                self._info.update(address=device.address, name=device.name,
                                  already_connected=True)
                self._address = device.address
                return device
        return None

    async def _strongest(self, timeout_s: float) -> StrapAdvertisement:
        """Listen in rounds of a few seconds (enough to compare signal strengths) until a strap
        is heard or ``timeout_s`` has passed."""
        assert self._loop is not None
        deadline = self._loop.time() + timeout_s
        while True:
            remaining = deadline - self._loop.time()
            straps = await scan_for_straps(min(STRONGEST_SCAN_ROUND_S, max(remaining, 0.1)))
            if straps:
                return straps[0]
            if deadline - self._loop.time() <= 0:
                raise StrapError(
                    f"no heart-rate strap found in {timeout_s:g} s: is it worn with moist "
                    "electrodes, in range, and not connected to another app?"
                )

    async def _connect(self, device: Any) -> None:
        """Connect, read what the strap tells about itself, subscribe to 0x2A37.

        BlueZ can say the services are resolved before it exports the GATT objects (bluez
        issue 1489): the heart-rate characteristic is then missing, and a fresh connection a
        moment later finds it. Up to :data:`CHARACTERISTIC_RETRIES` such retries.
        """
        from bleak.exc import BleakCharacteristicNotFoundError

        for attempt in range(CHARACTERISTIC_RETRIES + 1):
            try:
                await self._connect_once(device)
                return
            except StrapError as exc:
                missing = isinstance(exc.__cause__, BleakCharacteristicNotFoundError)
                if not missing or attempt == CHARACTERISTIC_RETRIES:
                    raise
                logger.info("heart-rate characteristic not exported yet; connecting again")
                await asyncio.sleep(CHARACTERISTIC_RETRY_WAIT_S * (attempt + 1))

    async def _connect_once(self, device: Any) -> None:
        from bleak import BleakClient

        client = BleakClient(
            device, disconnected_callback=self._on_disconnect, timeout=self._connect_timeout_s
        )
        try:
            await client.connect()
            self._client = client
            await self._read_info(client)
            if self._t0 is None:
                assert self._loop is not None
                self._t0 = self._loop.time()
            await client.start_notify(HEART_RATE_MEASUREMENT_UUID, self._on_notification)
        except Exception as exc:  # any backend error, translated for the user and re-raised
            self._client = None
            await _best_effort(
                "disconnecting after a failed connection",
                asyncio.wait_for(client.disconnect(), 5.0),
            )
            raise describe_ble_error(exc, f"connecting to strap {device.address}") from exc

    async def _read_info(self, client: Any) -> None:
        async def read(uuid: str, parse: Callable[[bytes], Any]) -> Any:
            try:
                return parse(bytes(await client.read_gatt_char(uuid)))
            except Exception:  # optional characteristic missing or unreadable: any backend error
                logger.debug("optional characteristic %s not read", uuid, exc_info=True)
                return None

        self._info.update(
            model=await read(MODEL_NUMBER_UUID, parse_utf8_string),
            manufacturer=await read(MANUFACTURER_NAME_UUID, parse_utf8_string),
            firmware=await read(FIRMWARE_REVISION_UUID, parse_utf8_string),
            serial=await read(SERIAL_NUMBER_UUID, parse_utf8_string),
            body_location=await read(BODY_SENSOR_LOCATION_UUID, parse_body_sensor_location),
            battery=await read(BATTERY_LEVEL_UUID, parse_battery_level),
        )

    def _connected_message(self) -> str:
        info = self._info
        name = info.get("name") or info.get("address")
        parts = [f"Connected to {name}"]
        if info.get("model") and info.get("model") != name:
            parts.append(str(info["model"]))
        if info.get("firmware"):
            parts.append(f"firmware {info['firmware']}")
        if info.get("battery") is not None:
            parts.append(f"battery {info['battery']} %")
        return ", ".join(parts)

    async def _pump(self) -> bool:
        """Turn notifications into events until the link drops (True) or forever."""
        self._off_body.reset()
        loop = asyncio.get_running_loop()
        # Only heart-rate notifications count as data: PMD frames flowing on a link whose
        # heart rate went silent must not hide that the beats stopped.
        heart_rate_due = loop.time() + self._data_timeout_s
        pmd_since_heart_rate = False
        while True:
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for swallows a
                # cancellation that lands as a notification arrives, and stop() never ends.
                async with asyncio.timeout_at(heart_rate_due):
                    item = await self._inbox.get()
            except TimeoutError:
                await self._end_of_link(GapReason.NO_DATA)
                what = ("No heart rate from the strap for {:g} s although its ECG/"
                        "accelerometer still arrive" if pmd_since_heart_rate
                        else "No data from the strap for {:g} s although the link is up")
                await self._set_state(
                    SourceState.RECONNECTING,
                    f"{what.format(self._data_timeout_s)}; reconnecting")
                return True
            if isinstance(item, _PmdData):
                pmd_since_heart_rate = True
                await self._handle_pmd_data(item)
                continue
            if isinstance(item, _PmdStopped):
                await self._handle_pmd_stopped(item)
                continue
            if isinstance(item, _LinkLost):
                if item.client is self._client:
                    await self._end_of_link(GapReason.LINK_LOSS)
                    return True
                continue  # from a client a failed reconnection attempt already dropped
            received_s, data = item
            heart_rate_due = loop.time() + self._data_timeout_s
            pmd_since_heart_rate = False
            try:
                measurement = parse_heart_rate_measurement(data)
            except MalformedMeasurementError as exc:
                self._malformed += 1
                if self._malformed in (1, 10, 100, 1000):
                    await self._set_state(
                        SourceState.STREAMING,
                        f"Ignored {self._malformed} malformed packet(s) from the strap: {exc}",
                    )
                continue
            # Only packets with beats can double beats; an unworn strap repeats its empty
            # packet for as long as it is off the body, which would keep a run open.
            ready = (
                self._dedup.push(data, (received_s, measurement))
                if measurement.rr_intervals_ms else [(received_s, measurement)]
            )
            for when, packet in ready:
                await self._handle(when, packet)
            if self._dedup.multiplicity > self._copies_announced:
                self._copies_announced = self._dedup.multiplicity
                await self._set_state(
                    SourceState.STREAMING,
                    f"Each packet arrives {self._dedup.multiplicity} times (a subscription "
                    "another program left behind in BlueZ); the copies are dropped",
                )

    async def _end_of_link(self, reason: GapReason) -> None:
        """The link ended: pass on the packets held for de-duplication, note why."""
        for when, packet in self._dedup.flush():
            await self._handle(when, packet)
        self._dedup.reset()
        self._lost_reason = reason

    async def _handle(self, received_s: float, measurement: HeartRateMeasurement) -> None:
        """One genuine packet: contact and off-body status, then its timed beats."""
        contact = measurement.sensor_contact
        if contact is not None and contact != self._contact:
            if self._contact is not None or not contact:
                await self._set_state(
                    SourceState.STREAMING,
                    "Skin contact restored" if contact
                    else "No skin contact: moisten the electrodes and tighten the strap",
                )
            self._contact = contact
        off_body = self._off_body.push(
            measurement.heart_rate_bpm, measurement.rr_intervals_ms
        )
        if off_body is not None:
            await self._set_state(
                SourceState.STREAMING, OFF_BODY_MESSAGE if off_body else ON_BODY_MESSAGE
            )
        batch, gap = self._clock.push(
            received_s,
            measurement.rr_intervals_ms,
            heart_rate_bpm=measurement.heart_rate_bpm,
            sensor_contact=contact,
        )
        if gap is not None:
            await self._emit(gap)
        await self._emit(batch)

    async def _reconnect(self) -> bool:
        """Try to connect again with backoff until it works (True) or time runs out."""
        assert self._loop is not None
        old, self._client = self._client, None
        self._pmd_link = None
        if old is not None:
            await _best_effort(
                "disconnecting the lost link", asyncio.wait_for(old.disconnect(), 2.0)
            )
        deadline = self._loop.time() + self._give_up_after_s
        self._last_failure = ""
        await self._emit(Reconnecting(self.session_time_s(), 0))
        await self._set_state(
            SourceState.RECONNECTING, "Connection to the strap lost; reconnecting"
        )
        attempt, last_message = 0, ""
        while True:
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                return False
            attempt += 1
            try:
                device = await self._find(min(remaining, 5.0))
                await self._connect(device)
                return True
            except StrapError as exc:
                message = self._last_failure = str(exc)
                # One status per new kind of failure, not one per attempt: no status storm.
                if message != last_message:
                    last_message = message
                    await self._emit(Reconnecting(self.session_time_s(), attempt))
                    await self._set_state(
                        SourceState.RECONNECTING,
                        f"Reconnecting (attempt {attempt}): {message}",
                    )
            wait = self._backoff_s[min(attempt - 1, len(self._backoff_s) - 1)]
            await asyncio.sleep(min(wait, max(0.0, deadline - self._loop.time())))

    # -- bleak callbacks (run on the event loop) -------------------------------------------

    def _on_notification(self, _characteristic: object, data: bytearray) -> None:
        self._inbox.put_nowait((self.session_time_s(), bytes(data)))

    def _on_disconnect(self, client: object) -> None:
        if not self._stopping and client is self._client:
            self._inbox.put_nowait(_LinkLost(client))

    # -- PMD (raw ECG and accelerometer) ---------------------------------------------------

    def _say_once(self, key: str, message: str) -> None:
        """A PMD status sentence, said once per source whatever the reconnections (after
        the connection's own sentence: :meth:`_say_pmd_notes`)."""
        if key not in self._pmd_said:
            self._pmd_said.add(key)
            self._pmd_notes.append(message)

    async def _say_pmd_notes(self) -> None:
        notes, self._pmd_notes = self._pmd_notes, []
        for note in notes:
            await self._set_state(SourceState.STREAMING, note)

    async def _start_pmd(self) -> None:
        """Start ECG and ACC if the strap offers PMD; any failure leaves heart rate alone.

        Runs before the connection is announced, so the streams' settings are in the
        ``Connected`` device information stored with the session (``pmd``); what it has to
        say waits for :meth:`_say_pmd_notes`.

        No data for a while after START is normal (the H10 often begins its ECG about 30 s
        later, bleakheart#1, polar-ble-sdk#424): nothing waits for it and nothing times out.
        """
        client = self._client
        if not self._pmd_enabled or client is None or not has_pmd(client):
            return
        self._pmd_restarted.clear()
        self._pmd_started = {}
        self._info.pop("pmd", None)  # what this connection streams, not an earlier one
        self._pmd_continuity.new_connection()
        holder: list[PmdDataDecoder] = []

        def on_data(data: bytes) -> None:
            if holder:  # frames before any START (a stream left running) are not ours
                self._inbox.put_nowait(_PmdData(self.session_time_s(), data, holder[0]))

        def on_stopped(stop: MeasurementStopped) -> None:
            self._inbox.put_nowait(_PmdStopped(link, stop))

        link = PmdLink(client, on_data, on_stopped)
        started: list[StreamSettings] = []
        refused: dict[str, str] = {}
        offered: frozenset[MeasurementType] | None = None
        try:
            offered = await self._paired(link, link.open)
            wanted = [t for t in STREAM_NAMES if t in offered]
            if not wanted:
                self._say_once("none", "The strap offers no raw ECG or accelerometer "
                                     "(PMD); heart rate and RR go on")
                return
            chosen = []
            for kind in wanted:
                stream = STREAM_NAMES[kind]
                try:
                    offered_settings = await self._paired(link, partial(link.settings, kind))
                except PmdRefusedError as exc:  # this stream only: the other may still start
                    refused[stream] = str(exc)
                    continue
                chosen.append(choose_settings(stream, offered_settings))
            holder.append(PmdDataDecoder(
                {c.stream: c.rate_hz for c in chosen},
                resolutions={c.stream: c.resolution_bits for c in chosen}))
            self._pmd_link = link
            for c in chosen:
                try:
                    await self._paired(link, partial(link.start, c))
                    started.append(c)
                except PmdRefusedError as exc:
                    refused[c.stream] = str(exc)
        except PmdNotPairedError:
            self._say_once("not-paired", self._not_paired_sentence())
        except PmdError as exc:
            logger.debug("PMD start failed", exc_info=True)
            if not client.is_connected:
                return  # the link went: the reconnection tries again, nothing to say
            self._say_once("error", f"No raw ECG or accelerometer: {exc}; heart rate "
                                 "and RR go on")
        self._pmd_started = {c.stream: c for c in started}
        goes_on = what_goes_on(started)
        for stream, why in refused.items():
            self._say_once(f"refused-{stream}", f"{why[:1].upper()}{why[1:]}; {goes_on}")
        if offered:  # some PMD but not all: say what is missing and what it costs
            for kind, missing in MISSING_STREAM_SENTENCES.items():
                if kind not in offered:
                    self._say_once(f"missing-{STREAM_NAMES[kind]}", f"{missing}; {goes_on}")
        if started:
            self._info["pmd"] = {
                c.stream: {"rate_hz": c.rate_hz, "resolution_bits": c.resolution_bits,
                           **({"range_g": c.range_g} if c.range_g is not None else {})}
                for c in started}
            names = " and ".join(
                f"{STREAM_LABELS[c.stream]} ({c.rate_hz} Hz)" for c in started)
            later = (f" ({ECG_WAIT_NOTE})"
                     if any(c.stream == "ecg" for c in started) else "")
            self._say_once("started", f"Raw {names} started{later}")

    def _not_paired_sentence(self) -> str:
        """What to do about a strap that refuses PMD for want of pairing (and what the
        pairing this source tried answered, when it failed)."""
        address = self._info.get("address") or self._address or "ADDRESS"
        failed = (f"Pairing the strap for ECG failed ({self._pmd_pair_failure}): "
                  if self._pmd_pair_failure else "The strap must be paired for ECG: ")
        return (f"{failed}run `bluetoothctl pair {address}` (Linux) or pair it in the "
                "system's Bluetooth settings; heart rate and RR go on")

    async def _paired(self, link: PmdLink, step: Callable[[], Awaitable[Any]]) -> Any:
        """Run a PMD step; refused for want of pairing, ask the system to pair (once per
        source, where bleak can: BlueZ and Windows; macOS pairs by itself on first access and
        bleak has no pair there) and run it again."""
        try:
            return await step()
        except PmdNotPairedError:
            if not self._pmd_pair or self._pmd_pair_tried:
                raise
            self._pmd_pair_tried = True
            try:
                await link.client.pair()
            except Exception as exc:  # any backend error, or no pairing on this platform
                logger.info("pairing the strap failed: %s", exc, exc_info=True)
                self._pmd_pair_failure = str(exc) or type(exc).__name__
                raise PmdNotPairedError(str(exc)) from exc
            logger.info("paired the strap for PMD")
            return await step()

    async def _handle_pmd_data(self, item: _PmdData) -> None:
        try:
            chunk = item.decoder.feed(item.data, item.received_s)
        except PmdMalformedError as exc:
            self._pmd_malformed += 1
            if self._pmd_malformed in (1, 10, 100, 1000):
                await self._set_state(
                    SourceState.STREAMING,
                    f"Ignored {self._pmd_malformed} malformed ECG/accelerometer frame(s): "
                    f"{exc}")
            return
        await self._emit(self._pmd_continuity.place(chunk))

    async def _handle_pmd_stopped(self, item: _PmdStopped) -> None:
        """The strap stopped streams by itself: start each again once per connection."""
        link = item.link
        if link is not self._pmd_link:
            return
        for stream in stopped_streams(item.indication):
            label = STREAM_LABELS[stream]
            chosen = self._pmd_started.get(stream)
            if chosen is None:
                continue
            if stream in self._pmd_restarted:
                await self._set_state(
                    SourceState.STREAMING,
                    f"The strap stopped its {label} stream again; heart rate and RR go on")
                continue
            self._pmd_restarted.add(stream)
            await self._set_state(
                SourceState.STREAMING,
                f"The strap stopped its {label} stream by itself; starting it again")
            try:
                await link.start(chosen)
            except PmdError as exc:
                await self._set_state(
                    SourceState.STREAMING,
                    f"Could not start the {label} stream again ({exc}); heart rate and RR go on")

