"""The D-Bus objects of the fake ``org.bluez``: ``Adapter1`` and the strap's ``Device1``.

They only answer and signal; the behaviour behind every call lives in
:class:`sensors.virtual.bluez.VirtualBlueZ` (passed in as ``bluez``).
"""

from typing import TYPE_CHECKING, Annotated, Any

from dbus_fast import Variant
from dbus_fast.annotations import (
    DBusBool,
    DBusInt16,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
    DBusUInt32,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property, dbus_signal

from sensors.ble import gatt as sig
from sensors.virtual.dbus_util import (
    ERROR_DOES_NOT_EXIST,
    ManufacturerDict,
    StrList,
    VariantDict,
    bluez_error,
    not_ready,
)

if TYPE_CHECKING:
    from sensors.virtual.bluez import VirtualBlueZ

ADAPTER_PATH = "/org/bluez/hci0"
ADAPTER_ADDRESS = "00:1A:7D:DA:71:13"
TEST_COMPANY_ID = 0xFFFF
"""Bluetooth SIG company id reserved for tests; used for ManufacturerData."""
HEART_RATE_BELT_APPEARANCE = 0x0341

StrPair = Annotated[tuple[str, str], DBusSignature("ss")]
"""Two D-Bus strings (the arguments of the ``Disconnected`` signal)."""


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
        self.extra_uuids: list[str] = []
        """Services beyond the heart-rate strap's (PMD and 0xFEEE on an H10)."""

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
            *self.extra_uuids,
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
        self._bluez.pair()
        self.update(Paired=True)

    @dbus_method()
    def CancelPairing(self) -> None:  # noqa: N802
        raise bluez_error(ERROR_DOES_NOT_EXIST, "Does Not Exist")

    @dbus_signal()
    def Disconnected(self, reason: str, message: str) -> StrPair:  # noqa: N802
        """BlueZ >= 5.83 names why a link ended (``org.bluez.Reason.Timeout``...), sent
        between ``ServicesResolved=false`` and ``Connected=false``."""
        return reason, message
