"""The fake ``org.bluez``: one adapter (``/org/bluez/hci0``) and one heart-rate strap.

Behaviour follows bluetoothd closely enough for bleak 3.1.0 (see
``docs/virtual-bluez.md``):

* ObjectManager at ``/`` (dbus-fast answers GetManagedObjects and emits InterfacesAdded /
  InterfacesRemoved for every export).
* Discovery sessions belong to the D-Bus connection that called StartDiscovery; a second
  StartDiscovery from the same connection fails with ``org.bluez.Error.InProgress``; a
  connection that leaves the bus loses its sessions. While anyone discovers and the strap
  advertises, the Device1 object appears (InterfacesAdded) and then gets an RSSI
  PropertiesChanged every 0.25 s (each one is an advertisement for bleak).
* The strap advertises when the adapter is powered, the strap is in range and not
  connected (a single-connection strap stops advertising while connected).
* ``Connect``: PropertiesChanged ``Connected=true``, InterfacesAdded for the GATT objects,
  ``ServicesResolved=true``, then the reply (bluetoothd replies to an LE Connect once the
  services are resolved). While the strap is out of range the call is held, as the
  controller keeps trying to connect, for ``connect_timeout_s`` (bluetoothd/kernel: 20 s),
  then fails with ``org.bluez.Error.Failed: le-connection-abort-by-local``; it completes as
  soon as the strap comes back; Disconnect aborts it with the same error.
* Adapter off: StartDiscovery, StopDiscovery, SetDiscoveryFilter and Connect fail with
  ``org.bluez.Error.NotReady``; powering off drops the connection and every discovery
  session.
* Link loss: one PropertiesChanged ``Connected=false, ServicesResolved=false``, then
  InterfacesRemoved for the GATT objects; the strap is silent for ``relink_delay_s`` and
  then advertises again.
"""

import asyncio
import contextlib
import random
from collections.abc import Callable
from typing import Any

from dbus_fast import Message, MessageType, NameFlag, RequestNameReply, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusInt16,
    DBusObjectPath,
    DBusStr,
    DBusUInt16,
    DBusUInt32,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from sensors.ble import gatt as sig
from sensors.virtual.dbus_util import (
    BLUEZ,
    ERROR_DOES_NOT_EXIST,
    ERROR_FAILED,
    ERROR_IN_PROGRESS,
    ERROR_NOT_CONNECTED,
    CallContext,
    ManufacturerDict,
    StrList,
    VariantDict,
    bluez_error,
    not_ready,
)
from sensors.virtual.gatt import StrapGatt, StrapInfo

ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_ADDRESS = "00:1A:7D:DA:71:13"
ADVERTISING_INTERVAL_S = 0.25
"""Period of the RSSI updates (advertisements) during discovery, s."""
CONNECT_ABORT = "le-connection-abort-by-local"
"""bluetoothd's text when an LE connection attempt ends without a connection."""
TEST_COMPANY_ID = 0xFFFF
"""Bluetooth SIG company id reserved for tests; used for ManufacturerData."""
HEART_RATE_BELT_APPEARANCE = 0x0341

EventLogger = Callable[..., None]
"""``log(event_name, **details)``."""


def device_path(address: str) -> str:
    """BlueZ object path of a device: ``/org/bluez/hci0/dev_AA_BB_CC_DD_EE_FF``."""
    return f"{ADAPTER_PATH}/dev_{address.upper().replace(':', '_')}"


class Adapter(ServiceInterface):
    """``org.bluez.Adapter1`` at ``/org/bluez/hci0``; state lives in :class:`VirtualBlueZ`."""

    def __init__(self, bluez: "VirtualBlueZ") -> None:
        super().__init__("org.bluez.Adapter1")
        self._bluez = bluez

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:  # noqa: N802 - D-Bus names
        return ADAPTER_ADDRESS

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:  # noqa: N802
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:  # noqa: N802
        return "virtual-bluez"

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:  # noqa: N802
        return "virtual-bluez"

    @dbus_property(access=PropertyAccess.READ)
    def Class(self) -> DBusUInt32:  # noqa: N802
        return 0

    @dbus_property()
    def Powered(self) -> DBusBool:  # noqa: N802
        return self._bluez.powered

    # dbus-fast's dbus_property returns a property subclass; mypy only knows the setter
    # idiom for the builtin property, so it reads this as a redefinition.
    @Powered.setter  # type: ignore[no-redef]
    def Powered(self, value: DBusBool) -> None:  # noqa: N802
        self._bluez.set_powered(bool(value))

    @dbus_property(access=PropertyAccess.READ)
    def PowerState(self) -> DBusStr:  # noqa: N802
        return "on" if self._bluez.powered else "off"

    @dbus_property(access=PropertyAccess.READ)
    def Discoverable(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def Pairable(self) -> DBusBool:  # noqa: N802
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Discovering(self) -> DBusBool:  # noqa: N802
        return self._bluez.discovering

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> StrList:  # noqa: N802
        return []

    @dbus_property(access=PropertyAccess.READ)
    def Modalias(self) -> DBusStr:  # noqa: N802
        return "usb:v1D6Bp0246d0542"

    @dbus_property(access=PropertyAccess.READ)
    def Roles(self) -> StrList:  # noqa: N802
        return ["central", "peripheral"]

    @dbus_method()
    def SetDiscoveryFilter(self, properties: VariantDict) -> None:  # noqa: N802
        if not self._bluez.powered:
            raise not_ready()

    @dbus_method()
    def StartDiscovery(self) -> None:  # noqa: N802
        self._bluez.start_discovery(self._bluez.context.sender)

    @dbus_method()
    def StopDiscovery(self) -> None:  # noqa: N802
        self._bluez.stop_discovery(self._bluez.context.sender)

    @dbus_method()
    def RemoveDevice(self, device: DBusObjectPath) -> None:  # noqa: N802
        self._bluez.remove_device(device)

    @dbus_method()
    def GetDiscoveryFilters(self) -> StrList:  # noqa: N802
        return ["UUIDs", "RSSI", "Pathloss", "Transport", "DuplicateData", "Discoverable"]


class Device(ServiceInterface):
    """``org.bluez.Device1`` of the strap; its changing properties live in ``state``."""

    def __init__(self, bluez: "VirtualBlueZ", address: str, name: str) -> None:
        super().__init__("org.bluez.Device1")
        self._bluez = bluez
        self._address = address.upper()
        self._name = name
        self.state: dict[str, Any] = {
            "Connected": False,
            "ServicesResolved": False,
            "Paired": False,
            "Trusted": False,
            "RSSI": -60,
        }

    def update(self, **changes: Any) -> None:
        """Change properties and emit one PropertiesChanged with all of them."""
        self.state.update(changes)
        self.emit_properties_changed(changes)

    @dbus_property(access=PropertyAccess.READ)
    def Address(self) -> DBusStr:  # noqa: N802
        return self._address

    @dbus_property(access=PropertyAccess.READ)
    def AddressType(self) -> DBusStr:  # noqa: N802
        return "public"

    @dbus_property(access=PropertyAccess.READ)
    def Name(self) -> DBusStr:  # noqa: N802
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def Alias(self) -> DBusStr:  # noqa: N802
        return self._name

    @dbus_property(access=PropertyAccess.READ)
    def Appearance(self) -> DBusUInt16:  # noqa: N802
        return HEART_RATE_BELT_APPEARANCE

    @dbus_property(access=PropertyAccess.READ)
    def UUIDs(self) -> StrList:  # noqa: N802
        return [
            sig.HEART_RATE_SERVICE_UUID,
            sig.BATTERY_SERVICE_UUID,
            sig.DEVICE_INFORMATION_SERVICE_UUID,
        ]

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> ManufacturerDict:  # noqa: N802
        return {TEST_COMPANY_ID: Variant("ay", b"biofeedback")}

    @dbus_property(access=PropertyAccess.READ)
    def ServiceData(self) -> VariantDict:  # noqa: N802
        return {}

    @dbus_property(access=PropertyAccess.READ)
    def TxPower(self) -> DBusInt16:  # noqa: N802
        return 0

    @dbus_property(access=PropertyAccess.READ)
    def RSSI(self) -> DBusInt16:  # noqa: N802
        return int(self.state["RSSI"])

    @dbus_property(access=PropertyAccess.READ)
    def Adapter(self) -> DBusObjectPath:  # noqa: N802
        return ADAPTER_PATH

    @dbus_property(access=PropertyAccess.READ)
    def Connected(self) -> DBusBool:  # noqa: N802
        return bool(self.state["Connected"])

    @dbus_property(access=PropertyAccess.READ)
    def ServicesResolved(self) -> DBusBool:  # noqa: N802
        return bool(self.state["ServicesResolved"])

    @dbus_property(access=PropertyAccess.READ)
    def Paired(self) -> DBusBool:  # noqa: N802
        return bool(self.state["Paired"])

    @dbus_property(access=PropertyAccess.READ)
    def Bonded(self) -> DBusBool:  # noqa: N802
        return bool(self.state["Paired"])

    @dbus_property()
    def Trusted(self) -> DBusBool:  # noqa: N802
        return bool(self.state["Trusted"])

    # dbus-fast's dbus_property returns a property subclass; mypy only knows the setter
    # idiom for the builtin property, so it reads this as a redefinition.
    @Trusted.setter  # type: ignore[no-redef]
    def Trusted(self, value: DBusBool) -> None:  # noqa: N802
        if bool(value) != self.state["Trusted"]:
            self.update(Trusted=bool(value))

    @dbus_property(access=PropertyAccess.READ)
    def Blocked(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_property(access=PropertyAccess.READ)
    def LegacyPairing(self) -> DBusBool:  # noqa: N802
        return False

    @dbus_method()
    async def Connect(self) -> None:  # noqa: N802
        await self._bluez.connect()

    @dbus_method()
    def Disconnect(self) -> None:  # noqa: N802
        self._bluez.disconnect_request()

    @dbus_method()
    async def Pair(self) -> None:  # noqa: N802
        if self.state["Paired"]:
            raise bluez_error("org.bluez.Error.AlreadyExists", "Already Exists")
        await self._bluez.connect()
        self.update(Paired=True)

    @dbus_method()
    def CancelPairing(self) -> None:  # noqa: N802
        raise bluez_error(ERROR_DOES_NOT_EXIST, "Does Not Exist")


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
    ) -> None:
        self.bus = bus
        self.context = CallContext()
        self.log = log
        self.connect_timeout_s = connect_timeout_s
        self.relink_delay_s = relink_delay_s
        self.rssi_dbm = rssi_dbm
        self._rng = random.Random(seed)
        self.powered = True
        self.user_gone = False
        self.zombie = False
        """Connected, but no notification reaches the client (a silent "zombie" link)."""
        """``gone`` command in force (the strap is out of range until ``back``)."""
        self.in_range = True
        self.discovery_sessions: set[str] = set()
        self.device_exported = False
        self.adapter = Adapter(self)
        self.device_path = device_path(address)
        self.device = Device(self, address, name)
        self.gatt = StrapGatt(self.device_path, info, self.context, self._notify_changed)
        self._pending_connects: list[asyncio.Future[str]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._relink: asyncio.TimerHandle | None = None
        self._was_subscribed = False

    # -- set-up -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Export the adapter, claim ``org.bluez`` and start the advertising ticker."""
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
        self._tasks.append(asyncio.create_task(self._advertise_loop()))

    async def close(self) -> None:
        """Stop the ticker and abort pending connects."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._finish_pending(CONNECT_ABORT)
        if self._relink is not None:
            self._relink.cancel()

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
    def advertising(self) -> bool:
        """Whether the strap can be seen (and connected to)."""
        return self.powered and self.in_range and not self.connected

    @property
    def subscribed(self) -> bool:
        """Whether a connected client has Heart Rate Measurement notifications on."""
        return self.connected and self.gatt.heart_rate.notifying

    def _notify_changed(self) -> None:
        now = self.subscribed
        if now != self._was_subscribed:
            self._was_subscribed = now
            self.log("notify_start" if now else "notify_stop")

    def notify_heart_rate(self, data: bytes) -> bool:
        """Send one Heart Rate Measurement; False when no connected client listens (or the
        link is a zombie)."""
        if not self.connected or self.zombie:
            return False
        return self.gatt.heart_rate.notify(data)

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
        if not self.in_range:
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
        """The link is up: Connected, GATT objects, ServicesResolved (in BlueZ's order)."""
        self.device.update(Connected=True)
        self.gatt.export(self.bus)
        self.device.update(ServicesResolved=True)
        self.log("connect")

    def _finish_pending(self, outcome: str) -> None:
        for fut in self._pending_connects:
            if not fut.done():
                fut.set_result(outcome)
        self._pending_connects.clear()

    def disconnect_request(self) -> None:
        """Device1.Disconnect: ends the link, or aborts a pending connect."""
        if self._pending_connects:
            self._finish_pending(CONNECT_ABORT)
            return
        if not self.connected:
            raise bluez_error(ERROR_NOT_CONNECTED, "Not Connected")
        self._drop_link("local_disconnect")

    def _drop_link(self, reason: str) -> bool:
        """Connected=false (+ ServicesResolved=false), then remove the GATT objects."""
        if not self.connected:
            return False
        # A zombie link ends when either side lets it go.
        self.zombie = False
        self.device.update(Connected=False, ServicesResolved=False)
        self.gatt.unexport()
        self._notify_changed()
        self.log("disconnect", reason=reason)
        return True

    # -- test controls ------------------------------------------------------------------------

    def set_zombie(self) -> bool:
        """The link stays up (``Connected`` true, notifications on) but nothing arrives, as
        when the strap, bluetoothd or the adapter stopped without BlueZ noticing; it lasts
        until the link is dropped. Returns whether a client was connected."""
        if self.connected:
            self.zombie = True
        self.log("zombie", was_connected=self.connected)
        return self.connected

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
            if self._relink is not None:
                self._relink.cancel()
            self._relink = asyncio.get_running_loop().call_later(
                self.relink_delay_s, self._come_back
            )
        return was

    def _come_back(self) -> None:
        self._relink = None
        if not self.user_gone:
            self.in_range = True
            self.log("advertising")
            self._finish_pending("connect")
            self._advertise()

    def set_in_range(self, in_range: bool) -> None:
        """``gone`` (False) / ``back`` (True)."""
        self.user_gone = not in_range
        if self._relink is not None:
            self._relink.cancel()
            self._relink = None
        if in_range:
            self.log("back")
            self._come_back()
        else:
            self.in_range = False
            self.log("gone")
            self._drop_link("out_of_range")

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
