"""The fake ``org.bluez``: one adapter (``/org/bluez/hci0``) and one heart-rate strap.

Behaviour follows bluetoothd closely enough for bleak 3.1.0 (see ``docs/virtual-bluez.md``
and the scenarios of ``docs/straps.md``):

* ObjectManager at ``/`` (dbus-fast answers GetManagedObjects and emits InterfacesAdded /
  InterfacesRemoved for every export).
* Discovery sessions belong to the D-Bus connection that called StartDiscovery; a second
  StartDiscovery from the same connection fails with ``org.bluez.Error.InProgress``; a
  connection that leaves the bus loses its sessions. While anyone discovers and the strap
  advertises, the Device1 object appears (InterfacesAdded) and then gets an RSSI
  PropertiesChanged every 0.25 s (each one is an advertisement for bleak).
* The strap advertises when the adapter is powered, the strap is in range, awake (worn) and
  not connected (a single-connection strap stops advertising while connected).
* ``Connect``: ``Connected=true``, the GATT objects if not yet exported, then
  ``ServicesResolved=true`` (with ``late_gatt_s`` the GATT objects come that long *after*
  ``ServicesResolved``, an open BlueZ race). While the strap is unreachable the call is held,
  as the controller keeps trying, for ``connect_timeout_s`` (bluetoothd/kernel: 20 s), then
  fails with ``org.bluez.Error.Failed: le-connection-abort-by-local``; it completes as soon
  as the strap comes back. A second Connect meanwhile is ``org.bluez.Error.InProgress``;
  ``Disconnect`` ends the held one with ``br-connection-canceled``; ``Disconnect`` on a
  device that is not connected succeeds.
* GATT objects and StartNotify sessions persist across link loss (``Cache = always``): the
  sessions are re-armed on reconnection and each notification is sent once per live
  session (a stale session doubles the stream, bleak issue 2002).
* Link loss: ``ServicesResolved=false``, the ``Disconnected(reason, message)`` signal, then
  ``Connected=false``, as three signals; the strap is silent for ``relink_delay_s`` and
  then advertises again.
* Adapter off: StartDiscovery, StopDiscovery, SetDiscoveryFilter and Connect fail with
  ``org.bluez.Error.NotReady``; powering off drops the connection and every discovery
  session.
* PMD (with ``pmd``, a Polar H10): control-point writes are refused with
  ``org.bluez.Error.NotPermitted "Not paired"`` unless the strap is paired (or, with
  ``auto_pair``, pair it first as BlueZ does after the ATT security error: Paired and
  Bonded true); every write's response is an indication on the control point, sent after
  the write's reply; the link's end stops every stream, as an H10 does.
* Faults without a word to the client: a zombie link (connected, silent), bluetoothd
  restarting (``org.bluez`` lost, then owned again by a new connection with fresh objects)
  and the adapter unplugged (InterfacesRemoved for everything, no ``Connected=false``).
"""

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable
from typing import Any

from dbus_fast import Message, MessageType, NameFlag, RequestNameReply
from dbus_fast.aio import MessageBus

from sensors.virtual import pmd as pmd_bytes
from sensors.virtual.bluez_objects import ADAPTER_PATH, Adapter, Device
from sensors.virtual.dbus_util import (
    BLUEZ,
    ERROR_AUTHENTICATION_FAILED,
    ERROR_DOES_NOT_EXIST,
    ERROR_FAILED,
    ERROR_IN_PROGRESS,
    ERROR_NOT_CONNECTED,
    ERROR_NOT_PERMITTED,
    CallContext,
    bluez_error,
    not_ready,
)
from sensors.virtual.gatt import StrapGatt, StrapInfo
from sensors.virtual.pmd_device import PmdDevice, PmdFrame

ADVERTISING_INTERVAL_S = 0.25
"""Period of the RSSI updates (advertisements) during discovery, s."""
CONNECT_ABORT = "le-connection-abort-by-local"
"""bluetoothd's text when an LE connection attempt ends without a connection."""
CONNECT_CANCELED = "br-connection-canceled"
"""bluetoothd's text (even for LE) for a pending Connect ended by Disconnect or teardown."""

DISCONNECT_REASONS = {
    "link_loss": ("org.bluez.Reason.Timeout", "Connection timeout"),
    "out_of_range": ("org.bluez.Reason.Timeout", "Connection timeout"),
    "strap_off_body": ("org.bluez.Reason.Remote", "Connection terminated by remote user"),
    "local_disconnect": ("org.bluez.Reason.Local", "Connection terminated by local host"),
    "power_off": ("org.bluez.Reason.Local", "Connection terminated by local host"),
    "removed": ("org.bluez.Reason.Local", "Connection terminated by local host"),
}
"""Arguments of the ``Disconnected`` signal per cause (bluez ``doc/org.bluez.Device.rst``)."""

EventLogger = Callable[..., None]
"""``log(event_name, **details)``."""
BusFactory = Callable[[], Awaitable[MessageBus]]
"""Opens a new connection to the same private bus (bluetoothd coming back)."""


def device_path(address: str) -> str:
    """BlueZ object path of a device: ``/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF``."""
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


class VirtualBlueZ:
    """State and behaviour of the fake bluetoothd with its one strap.

    Parameters
    ----------
    bus : MessageBus
        Connected bus on which to export everything (must be a private bus).
    address : str
        The strap's Bluetooth address.
    name : str
        The strap's advertised name.
    info : StrapInfo
        Its read-only characteristic values.
    log : callable
        ``log(event, **details)`` for the packet log.
    connect_timeout_s : float
        How long a Connect to an absent strap is held before it fails.
    relink_delay_s : float
        Silence after a link loss before the strap advertises again, s.
    rssi_dbm : int
        Mean advertised RSSI, dBm.
    seed : int
        Seed of the RSSI jitter.
    new_bus : callable, optional
        Opens a new connection to the same bus; needed by :meth:`restart`.
    connected_at_start : bool
        The strap is already connected when the fake starts (a crashed app left the link
        up): Device1 and the GATT objects are on the bus with ``Connected=true`` and the
        strap does not advertise.
    late_gatt_s : float
        Export the GATT objects this long after ``ServicesResolved=true`` (0: before it).
    pmd : PmdDevice, optional
        The strap speaks PMD (its options: MTU, pairing).

    Attributes
    ----------
    clock : callable
        The strap's virtual clock, s (set by the service once the scheduler exists).
    """

    def __init__(
        self,
        bus: MessageBus,
        *,
        address: str,
        name: str,
        info: StrapInfo,
        log: EventLogger,
        connect_timeout_s: float = 20.0,
        relink_delay_s: float = 0.5,
        rssi_dbm: int = -60,
        seed: int = 0,
        new_bus: BusFactory | None = None,
        connected_at_start: bool = False,
        late_gatt_s: float = 0.0,
        pmd: PmdDevice | None = None,
    ) -> None:
        self.bus = bus
        self.pmd = pmd
        self.clock: Callable[[], float] = lambda: 0.0
        self.context = CallContext()
        self.log = log
        self.connect_timeout_s = connect_timeout_s
        self.relink_delay_s = relink_delay_s
        self.rssi_dbm = rssi_dbm
        self.late_gatt_s = late_gatt_s
        self._rng = random.Random(seed)
        self._address = address
        self._name = name
        self._info = info
        self._new_bus = new_bus
        self._connected_at_start = connected_at_start
        self.powered = True
        self.adapter_present = True
        self.restarting = False
        self.user_gone = False
        """``gone`` command in force (the strap is out of range until ``back``)."""
        self.asleep = False
        """The strap is off the body long enough to have stopped advertising."""
        self.zombie = False
        """Connected, but no notification reaches the client (a silent "zombie" link)."""
        self.hr_silent = False
        """Connected, PMD frames flow, but no Heart Rate Measurement is sent (``hr-silent``)."""
        self.in_range = True
        self.discovery_sessions: set[str] = set()
        self.device_exported = False
        self.device_path = device_path(address)
        self._build_objects()
        self._pending_connects: list[asyncio.Future[str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._was_subscribed = False

    def _build_objects(self) -> None:
        """Fresh D-Bus objects (at start, and when bluetoothd comes back)."""
        self.adapter = Adapter(self)
        old: Device | None = getattr(self, "device", None)
        self.device = Device(self, self._address, self._name)
        if self.pmd is None:
            self.gatt = StrapGatt(self.device_path, self._info, self.context, self._notify_changed)
            return
        # A bond survives bluetoothd restarts (it is stored on disk).
        self.device.state["Paired"] = (
            self.pmd.options.paired if old is None else bool(old.state["Paired"])
        )
        self.device.extra_uuids = [pmd_bytes.PMD_SERVICE_UUID, pmd_bytes.POLAR_SERVICE_UUID]
        self.gatt = StrapGatt(
            self.device_path, self._info, self.context, self._notify_changed,
            pmd_write=self._pmd_write, pmd_read=lambda: self.pmd.features if self.pmd else b"",
            mtu=self.pmd.options.mtu,
        )

    # -- set-up -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Export the adapter, claim ``org.bluez`` and start the advertising ticker."""
        await self._claim_bus()
        if self._connected_at_start:
            self.device.state.update(Connected=True, ServicesResolved=True)
            self.bus.export(self.device_path, self.device)
            self.device_exported = True
            self.gatt.export(self.bus)
            self.log("connect", at_start=True)
        self._tasks.append(asyncio.create_task(self._advertise_loop()))

    async def _claim_bus(self) -> None:
        self.bus.add_message_handler(self.context)
        self.bus.add_message_handler(self._on_bus_message)
        reply = await self.bus.call(
            Message(
                destination="org.freedesktop.DBus",
                path="/org/freedesktop/DBus",
                interface="org.freedesktop.DBus",
                member="AddMatch",
                signature="s",
                body=[
                    "type='signal',sender='org.freedesktop.DBus',"
                    "interface='org.freedesktop.DBus',member='NameOwnerChanged'"
                ],
            )
        )
        if reply is None or reply.message_type is MessageType.ERROR:
            raise RuntimeError(f"AddMatch failed: {reply}")
        self.bus.export(ADAPTER_PATH, self.adapter)
        owner = await self.bus.request_name(BLUEZ, NameFlag.DO_NOT_QUEUE)
        if owner not in (RequestNameReply.PRIMARY_OWNER, RequestNameReply.ALREADY_OWNER):
            raise RuntimeError(f"{BLUEZ} is already owned on this bus (another virtual BlueZ?)")

    async def close(self) -> None:
        """Stop the ticker, the timers and abort pending connects."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish_pending(CONNECT_ABORT)
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()

    def _later(self, name: str, delay_s: float, action: Callable[[], object]) -> None:
        """Run ``action`` once after ``delay_s``, replacing an earlier timer of that name."""
        old = self._timers.pop(name, None)
        if old is not None:
            old.cancel()

        def fire() -> None:
            self._timers.pop(name, None)
            action()

        self._timers[name] = asyncio.get_running_loop().call_later(delay_s, fire)

    def _cancel_timer(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()

    def _on_bus_message(self, msg: Message) -> None:
        """Forget discovery and notify sessions of D-Bus connections that left the bus."""
        if (
            msg.message_type is MessageType.SIGNAL
            and msg.member == "NameOwnerChanged"
            and msg.sender == "org.freedesktop.DBus"
        ):
            name, _old, new = msg.body
            if name.startswith(":") and not new:
                self._drop_client(name)

    def _drop_client(self, name: str) -> None:
        if name in self.discovery_sessions:
            self.discovery_sessions.discard(name)
            if not self.discovery_sessions:
                self.adapter.emit_properties_changed({"Discovering": False})
        self.gatt.drop_client(name)

    # -- state --------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether the strap is connected."""
        return bool(self.device.state["Connected"])

    @property
    def discovering(self) -> bool:
        """Whether any discovery session is active."""
        return self.powered and bool(self.discovery_sessions)

    @property
    def reachable(self) -> bool:
        """Whether a connection attempt can succeed now (in range and awake)."""
        return self.in_range and not self.asleep

    @property
    def advertising(self) -> bool:
        """Whether the strap can be seen (and connected to)."""
        return (
            self.powered and self.adapter_present and not self.restarting
            and self.reachable and not self.connected
        )

    @property
    def subscribed(self) -> bool:
        """Whether a connected client has Heart Rate Measurement notifications on."""
        return self.connected and self.gatt.exported and self.gatt.heart_rate.notifying

    def _notify_changed(self) -> None:
        now = self.subscribed
        if now != self._was_subscribed:
            self._was_subscribed = now
            self.log("notify_start" if now else "notify_stop")

    def notify_heart_rate(self, data: bytes) -> list[str]:
        """Send one Heart Rate Measurement to every live session.

        Returns
        -------
        list of str
            The sessions (unique bus names) that received it: empty when the link is down
            or silent (zombie), or nobody subscribed.
        """
        if not self.connected or self.zombie or self.hr_silent or not self.gatt.exported:
            return []
        return self.gatt.heart_rate.notify(data)

    # -- PMD ----------------------------------------------------------------------------------

    @property
    def paired(self) -> bool:
        """Whether the strap is paired (bonded) with this adapter."""
        return bool(self.device.state["Paired"])

    def pair(self) -> None:
        """The pairing step of ``Device1.Pair`` (after its connect): with ``pair_fails``, it
        fails as bluetoothd reports a failed SMP exchange (the strap stays unpaired)."""
        if self.pmd is not None and self.pmd.options.pair_fails:
            self.log("pair_failed")
            raise bluez_error(ERROR_AUTHENTICATION_FAILED, "Authentication Failed")
        self.log("paired", auto=False)

    def _pmd_write(self, value: bytes) -> None:
        """A write to the PMD control point: refused unless paired, else answered later."""
        assert self.pmd is not None
        if not self.connected:
            raise bluez_error(ERROR_NOT_CONNECTED, "Not connected")
        if not self.paired:
            if not self.pmd.options.auto_pair:
                self.log("pmd_refused", request=value.hex(), reason="not paired")
                raise bluez_error(ERROR_NOT_PERMITTED, "Not paired")
            # bluetoothd raises the link's security on the ATT error and retries the write.
            self.device.state["Paired"] = True
            self.device.emit_properties_changed({"Paired": True, "Bonded": True})
            self.log("paired", auto=True)
        now = self.clock()
        response = self.pmd.command(value, now)
        self.log("pmd_command", request=value.hex(), response=response.hex(), at_s=now)
        # The write's reply goes out first; the response follows as an indication.
        asyncio.get_running_loop().call_soon(self._pmd_indicate, response)

    def _pmd_indicate(self, value: bytes) -> list[str]:
        cp = self.gatt.pmd_control
        sessions: list[str] = []
        if cp is not None and self.connected and not self.zombie and self.gatt.exported:
            sessions = cp.notify(value)
        self.log("pmd_indication", hex=value.hex(), to=sessions)
        return sessions

    def pmd_device_stop(self, stream: str) -> bool:
        """The strap ends a stream by itself (ONLINE_MEASUREMENT_STOPPED); False if it was
        not running."""
        kinds = {name: kind for kind, name in pmd_bytes.STREAM_NAMES.items()}
        if self.pmd is None or stream not in kinds:
            raise ValueError(f"no PMD stream {stream!r} (expected ecg or acc)")
        value = self.pmd.device_stop(kinds[stream])
        if value is None:
            return False
        self.log("pmd_device_stop", stream=stream)
        self._pmd_indicate(value)
        return True

    def pmd_frames(self) -> list[tuple[PmdFrame, list[str]]]:
        """Send every PMD frame due by now; each with the sessions that received it."""
        if self.pmd is None:
            return []
        if not self.connected and self.pmd.streams:
            self._pmd_link_gone()
        out = []
        for frame in self.pmd.due_frames(self.clock()):
            data = self.gatt.pmd_data
            live = data is not None and self.connected and not self.zombie and self.gatt.exported
            out.append((frame, data.notify(frame.data) if live and data is not None else []))
        return out

    def _pmd_link_gone(self) -> None:
        if self.pmd is not None and self.pmd.streams:
            stopped = self.pmd.stop_all()
            self.log("pmd_stopped", reason="link down",
                     streams=[pmd_bytes.STREAM_NAMES[k] for k in stopped])

    # -- discovery ----------------------------------------------------------------------------

    def start_discovery(self, sender: str) -> None:
        """Adapter1.StartDiscovery from ``sender``."""
        if not self.powered:
            raise not_ready()
        if sender in self.discovery_sessions:
            raise bluez_error(ERROR_IN_PROGRESS, "Operation already in progress")
        first = not self.discovery_sessions
        self.discovery_sessions.add(sender)
        if first:
            self.adapter.emit_properties_changed({"Discovering": True})
        # First advertisement right after the reply, not a whole interval later.
        asyncio.get_running_loop().call_soon(self._advertise)

    def stop_discovery(self, sender: str) -> None:
        """Adapter1.StopDiscovery from ``sender``."""
        if not self.powered:
            raise not_ready()
        if sender not in self.discovery_sessions:
            raise bluez_error(ERROR_FAILED, "No discovery started")
        self.discovery_sessions.discard(sender)
        if not self.discovery_sessions:
            self.adapter.emit_properties_changed({"Discovering": False})

    def remove_device(self, path: str) -> None:
        """Adapter1.RemoveDevice: disconnect and forget the strap (it reappears on discovery)."""
        if path != self.device_path or not self.device_exported:
            raise bluez_error(ERROR_DOES_NOT_EXIST, "Does Not Exist")
        self._drop_link("removed")
        self.device.state["Paired"] = False
        self.gatt.unexport()
        self.bus.unexport(self.device_path, self.device)
        self.device_exported = False

    def _advertise(self) -> None:
        """One advertisement, if anyone discovers and the strap advertises."""
        if not (self.discovering and self.advertising):
            return
        rssi = self.rssi_dbm + self._rng.randint(-4, 4)
        if not self.device_exported:
            self.device.state["RSSI"] = rssi
            self.bus.export(self.device_path, self.device)  # InterfacesAdded
            self.device_exported = True
        else:
            self.device.update(RSSI=rssi)

    async def _advertise_loop(self) -> None:
        while True:
            await asyncio.sleep(ADVERTISING_INTERVAL_S)
            self._advertise()

    # -- connections --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Device1.Connect (and the connecting part of Pair)."""
        if not self.powered:
            raise not_ready()
        if self.connected:
            return
        if self._pending_connects:
            raise bluez_error(ERROR_IN_PROGRESS, "Operation already in progress")
        if not self.reachable:
            fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            self._pending_connects.append(fut)
            self.log("connect_pending", timeout_s=self.connect_timeout_s)
            try:
                outcome = await asyncio.wait_for(
                    asyncio.shield(fut), self.connect_timeout_s
                )
            except TimeoutError:
                outcome = CONNECT_ABORT
            finally:
                if fut in self._pending_connects:
                    self._pending_connects.remove(fut)
            if outcome != "connect":
                self.log("connect_failed", reason=outcome)
                raise bluez_error(ERROR_FAILED, outcome)
            if not self.powered:
                raise not_ready()
            if self.connected:
                return
        self._establish()

    def _establish(self) -> None:
        """The link is up: Connected, GATT objects (unless cached), ServicesResolved."""
        self.device.update(Connected=True)
        if self.gatt.exported:
            self.device.update(ServicesResolved=True)  # cached objects, sessions re-armed
        elif self.late_gatt_s > 0:
            self.device.update(ServicesResolved=True)
            self._later("late_gatt", self.late_gatt_s, self._export_gatt)
        else:
            self.gatt.export(self.bus)
            self.device.update(ServicesResolved=True)
        self._notify_changed()
        self.log("connect", sessions=len(self.gatt.heart_rate.notify_sessions))

    def _export_gatt(self) -> None:
        if self.adapter_present and not self.restarting and self.device_exported:
            # Logged first: a client may read the log as soon as it sees InterfacesAdded.
            self.log("gatt_exported")
            self.gatt.export(self.bus)
            self._notify_changed()

    def _finish_pending(self, outcome: str) -> None:
        for fut in self._pending_connects:
            if not fut.done():
                fut.set_result(outcome)
        self._pending_connects.clear()

    def disconnect_request(self) -> None:
        """Device1.Disconnect: ends the link, or cancels a pending connect; succeeds on a
        device that is not connected (bluez ``device_request_disconnect``)."""
        if self._pending_connects:
            self._finish_pending(CONNECT_CANCELED)
            return
        self._drop_link("local_disconnect")

    def _drop_link(self, reason: str) -> bool:
        """End the link with BlueZ's three signals; GATT objects and sessions stay."""
        if not self.connected:
            return False
        # A zombie link ends when either side lets it go. A late export still comes: bluetoothd
        # has the attribute table by then, only its objects lag behind.
        self.zombie = self.hr_silent = False
        self.device.update(ServicesResolved=False)
        self.device.Disconnected(*DISCONNECT_REASONS[reason])
        self.device.update(Connected=False)
        self._notify_changed()
        self.log("disconnect", reason=reason)
        self._pmd_link_gone()
        return True

    def _drop_link_silently(self) -> bool:
        """The link is gone but nobody tells the clients (bluetoothd died, adapter gone)."""
        was = self.connected
        self.zombie = self.hr_silent = False
        self._cancel_timer("late_gatt")
        self.device.state.update(Connected=False, ServicesResolved=False)
        self._finish_pending(CONNECT_ABORT)
        self._notify_changed()
        self._pmd_link_gone()
        return was

    # -- test controls ------------------------------------------------------------------------

    def set_zombie(self) -> bool:
        """The link stays up (``Connected`` true, notifications on) but nothing arrives, as
        when the radio died without BlueZ noticing; it lasts until the link is dropped.
        Returns whether a client was connected."""
        if self.connected:
            self.zombie = True
        self.log("zombie", was_connected=self.connected)
        return self.connected

    def set_hr_silent(self, on: bool) -> bool:
        """Stop (or resume) the Heart Rate Measurements while the link and its PMD frames go
        on, as a strap whose heart-rate service hung; it lasts until ``off`` or the link is
        dropped. Returns whether a client was connected."""
        self.hr_silent = on and self.connected
        self.log("hr_silent", on=self.hr_silent)
        return self.connected or not on

    def link_loss(self) -> bool:
        """Simulate a link loss; the strap advertises again after ``relink_delay_s``.

        Returns
        -------
        bool
            Whether the strap was connected.
        """
        was = self._drop_link("link_loss")
        self.log("link_loss", was_connected=was)
        if not self.user_gone:
            self.in_range = False
            self._later("relink", self.relink_delay_s, self._come_back)
        return was

    def _come_back(self) -> None:
        if not self.user_gone:
            self.in_range = True
            self.log("advertising")
            if self.reachable:
                self._finish_pending("connect")
            self._advertise()

    def set_in_range(self, in_range: bool) -> None:
        """``gone`` (False) / ``back`` (True)."""
        self.user_gone = not in_range
        self._cancel_timer("relink")
        if in_range:
            self.log("back")
            self._come_back()
        else:
            self.in_range = False
            self.log("gone")
            self._drop_link("out_of_range")

    def set_asleep(self, asleep: bool) -> None:
        """The strap, off the body, ends the link itself and stops advertising (True), or
        wakes when worn again (False)."""
        if asleep == self.asleep:
            return
        self.asleep = asleep
        if asleep:
            self._drop_link("strap_off_body")
            self.log("strap_asleep")
        else:
            self.log("strap_awake")
            self._come_back()

    def set_powered(self, powered: bool) -> None:
        """Adapter power (``power on`` / ``power off`` or a D-Bus Set of Powered)."""
        if powered == self.powered:
            return
        if not powered:
            self._drop_link("power_off")
            self._finish_pending(CONNECT_ABORT)
            was_discovering = self.discovering
            self.discovery_sessions.clear()
            self.powered = False
            changes: dict[str, Any] = {"Powered": False, "PowerState": "off"}
            if was_discovering:
                changes["Discovering"] = False
            self.adapter.emit_properties_changed(changes)
        else:
            self.powered = True
            self.adapter.emit_properties_changed({"Powered": True, "PowerState": "on"})
        self.log("power", powered=powered)

    def unplug_adapter(self, replug_after_s: float | None = None) -> bool:
        """The USB adapter is pulled: InterfacesRemoved for the GATT objects, the device and
        ``hci0``, and no ``Connected=false`` (bluez ``device_remove``); with
        ``replug_after_s`` it comes back by itself. Returns whether it was present."""
        if not self.adapter_present:
            return False
        was = self._drop_link_silently()
        self.log("unplug_adapter", was_connected=was)
        self.adapter_present = False
        self.discovery_sessions.clear()
        self.gatt.unexport()
        if self.device_exported:
            self.bus.unexport(self.device_path, self.device)
            self.device_exported = False
        self.bus.unexport(ADAPTER_PATH, self.adapter)
        if replug_after_s is not None:
            self._later("replug", replug_after_s, self.plug_adapter)
        return True

    def plug_adapter(self) -> bool:
        """The adapter is back (InterfacesAdded for ``hci0``, powered); the strap shows up
        again at the next discovery. Returns whether it was missing."""
        self._cancel_timer("replug")
        if self.adapter_present:
            return False
        self.adapter_present = True
        self.powered = True
        self.bus.export(ADAPTER_PATH, self.adapter)
        self.log("plug_adapter")
        return True

    async def restart(self, down_s: float = 1.0) -> None:
        """bluetoothd crashes and is restarted: its bus connection (and the ``org.bluez``
        name) goes away without a signal about the link, and after ``down_s`` a new
        connection owns the name with fresh objects; links and sessions are gone."""
        if self._new_bus is None:
            raise RuntimeError("restart-bluez needs the fake to know how to reconnect")
        if self.restarting:
            raise RuntimeError("bluetoothd is already restarting")
        self.restarting = True
        was = self._drop_link_silently()
        self.log("restart_bluez", was_connected=was, down_s=down_s)
        self.discovery_sessions.clear()
        self._cancel_timer("relink")
        self.in_range = not self.user_gone
        old = self.bus
        old.disconnect()
        with contextlib.suppress(Exception):  # the old connection's end is of no interest
            await asyncio.wait_for(old.wait_for_disconnect(), 2.0)
        await asyncio.sleep(down_s)
        self.bus = await self._new_bus()
        self.device_exported = False
        self.adapter_present = True
        self.powered = True
        self._build_objects()
        self._was_subscribed = False
        await self._claim_bus()
        self.restarting = False
        self.log("bluez_back")
