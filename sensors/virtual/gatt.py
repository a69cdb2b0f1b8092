"""GATT objects of the virtual strap, exported as BlueZ lays them out and kept as BlueZ keeps them.

Object paths are ``<device>/serviceXXXX/charYYYY/descZZZZ`` with four lowercase hex digits
(bleak reads the handle from the last four characters and finds the device by cutting the
last 21 characters). Services:

* Heart Rate 0x180D: Heart Rate Measurement 0x2A37 (notify, with CCCD 0x2902), Body Sensor
  Location 0x2A38 (read);
* Battery 0x180F: Battery Level 0x2A19 (read, notify; the level never changes);
* Device Information 0x180A: model 0x2A24, serial 0x2A25, firmware 0x2A26, manufacturer
  0x2A29 (read);
* with PMD (``--pmd``, a Polar H10): the PMD service ``FB005C80-...`` with its control point
  ``...5C81`` (read, write, indicate: writes go to a handler, responses are indications) and
  data ``...5C82`` (notify), and Polar's 0xFEEE service with ``...5C51`` (write-without-
  response, write, notify), ``...5C52`` (notify) and ``...5C53`` (write-without-response,
  write), whose writes are refused (no PS-FTP here).

As in bluetoothd with its default ``Cache = always``, the objects are exported on the first
connection and stay exported across link losses; StartNotify sessions belong to the D-Bus
connection that started them, survive a link loss and are re-armed on the next connection;
each notification is one ``PropertiesChanged(Value)`` per live session (bluez
``src/gatt-client.c`` ``notify_cb``), which is how a stale session doubles a stream.

No characteristic has a ``NotifyAcquired`` property, so bleak always uses StartNotify and
the notifications travel as PropertiesChanged ``Value`` signals. Write-without-response
characteristics (Polar's ``...5C51``/``...5C53``) answer ``AcquireWrite`` with a
SOCK_SEQPACKET and the MTU, which is all bleak's ``_acquire_mtu`` wants. Writes are refused with
``org.bluez.Error.NotPermitted`` (nothing on a heart-rate strap is writable through these
services; the CCCD is driven by StartNotify/StopNotify as in BlueZ).
"""

import asyncio
import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from dbus_fast.aio import MessageBus
from dbus_fast.annotations import (
    DBusBool,
    DBusBytes,
    DBusObjectPath,
    DBusSignature,
    DBusStr,
    DBusUInt16,
)
from dbus_fast.constants import PropertyAccess
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from sensors.ble import gatt as sig
from sensors.virtual import pmd
from sensors.virtual.dbus_util import (
    ERROR_FAILED,
    ERROR_INVALID_OFFSET,
    ERROR_NOT_PERMITTED,
    ERROR_NOT_SUPPORTED,
    CallContext,
    PathList,
    StrList,
    VariantDict,
    bluez_error,
)

ATT_MTU = 23
"""MTU reported on every characteristic (the default ATT MTU: at most 9 RR per packet)."""

_READ = ("read",)
FdAndMtu = Annotated[tuple[int, int], DBusSignature("hq")]
"""The reply of AcquireWrite: a file descriptor and the MTU."""


def _close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):  # already gone with the process's exit
        socket.close(fd)


def _offset(options: dict[str, Any]) -> int:
    value = options.get("offset")
    return int(getattr(value, "value", value) or 0)


class GattService(ServiceInterface):
    """``org.bluez.GattService1``."""

    def __init__(self, uuid: str, device: str) -> None:
        super().__init__("org.bluez.GattService1")
        self._uuid = uuid
        self._device = device

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:  # noqa: N802 - D-Bus name
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Device(self) -> DBusObjectPath:  # noqa: N802
        return self._device

    @dbus_property(access=PropertyAccess.READ)
    def Primary(self) -> DBusBool:  # noqa: N802
        return True

    @dbus_property(access=PropertyAccess.READ)
    def Includes(self) -> PathList:  # noqa: N802
        return []


class GattCharacteristic(ServiceInterface):
    """``org.bluez.GattCharacteristic1``: read and/or notify, never write.

    Parameters
    ----------
    uuid : str
        Characteristic UUID.
    service : str
        Object path of its service.
    flags : sequence of str
        BlueZ flags, e.g. ``("read",)`` or ``("notify",)``.
    value : bytes
        Initial value (what ReadValue returns).
    context : CallContext
        Tells which D-Bus connection calls StartNotify/StopNotify.
    on_notify_change : callable, optional
        Called with no argument whenever the set of notify sessions changes.
    on_write : callable, optional
        ``on_write(value)`` for a writable characteristic (the PMD control point); it may
        raise a BlueZ error. Without it every write is ``NotPermitted``.
    on_read : callable, optional
        ``on_read() -> bytes``: what a read answers (a real read goes to the device, so
        it is not the last indicated value); default the stored value.
    mtu : int
        ATT MTU of the link, reported as the ``MTU`` property.
    """

    def __init__(
        self,
        uuid: str,
        service: str,
        flags: tuple[str, ...],
        value: bytes,
        context: CallContext,
        on_notify_change: Callable[[], None] | None = None,
        on_write: Callable[[bytes], None] | None = None,
        on_read: Callable[[], bytes] | None = None,
        mtu: int = ATT_MTU,
    ) -> None:
        super().__init__("org.bluez.GattCharacteristic1")
        self._uuid = uuid
        self._service = service
        self._flags = list(flags)
        self._value = bytes(value)
        self._context = context
        self._on_notify_change = on_notify_change
        self._on_write = on_write
        self._on_read = on_read
        self._mtu = mtu
        self._write_socket: socket.socket | None = None
        self.notify_sessions: set[str] = set()
        """Unique bus names of the clients that called StartNotify."""
        self.cccd: GattDescriptor | None = None

    @property
    def can_notify(self) -> bool:
        """Whether the characteristic has the notify (or indicate) flag."""
        return "notify" in self._flags or "indicate" in self._flags

    @property
    def notifying(self) -> bool:
        """Whether at least one client has notifications on."""
        return bool(self.notify_sessions)

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:  # noqa: N802
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Service(self) -> DBusObjectPath:  # noqa: N802
        return self._service

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:  # noqa: N802
        return self._value

    @dbus_property(access=PropertyAccess.READ)
    def Notifying(self) -> DBusBool:  # noqa: N802
        return self.notifying

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> StrList:  # noqa: N802
        return list(self._flags)

    @dbus_property(access=PropertyAccess.READ)
    def MTU(self) -> DBusUInt16:  # noqa: N802
        return self._mtu

    @dbus_method()
    def ReadValue(self, options: VariantDict) -> DBusBytes:  # noqa: N802
        if "read" not in self._flags:
            raise bluez_error(ERROR_NOT_PERMITTED, "Read not permitted")
        value = self._on_read() if self._on_read is not None else self._value
        offset = _offset(options)
        if offset > len(value):
            raise bluez_error(ERROR_INVALID_OFFSET, "Invalid offset")
        return value[offset:]

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: VariantDict) -> None:  # noqa: N802
        if self._on_write is None or "write" not in self._flags:
            raise bluez_error(ERROR_NOT_PERMITTED, "Write not permitted")
        self._on_write(bytes(value))

    @dbus_method()
    def AcquireWrite(self, options: VariantDict) -> FdAndMtu:  # noqa: N802
        """A SOCK_SEQPACKET for write-without-response (bleak's ``_acquire_mtu`` only wants
        the MTU); the fake keeps its end open and ignores what comes."""
        if "write-without-response" not in self._flags:
            raise bluez_error(ERROR_NOT_SUPPORTED, "Operation is not supported")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._close_write_socket()
        self._write_socket = ours
        fd = theirs.detach()
        # Our copy of the client's end goes once the reply (with the fd) has been sent.
        asyncio.get_running_loop().call_later(1.0, _close_fd, fd)
        return fd, self._mtu

    def _close_write_socket(self) -> None:
        sock, self._write_socket = self._write_socket, None
        if sock is not None:
            sock.close()

    @dbus_method()
    def StartNotify(self) -> None:  # noqa: N802
        if not self.can_notify:
            raise bluez_error(ERROR_NOT_SUPPORTED, "Operation is not supported")
        sender = self._context.sender
        if sender in self.notify_sessions:
            return  # bluetoothd answers success to a sender already registered
        was = self.notifying
        self.notify_sessions.add(sender)
        self._changed(was)

    @dbus_method()
    def StopNotify(self) -> None:  # noqa: N802
        sender = self._context.sender
        if sender not in self.notify_sessions:
            raise bluez_error(ERROR_FAILED, "No notify session started")
        was = self.notifying
        self.notify_sessions.discard(sender)
        self._changed(was)

    def drop_client(self, name: str) -> None:
        """Forget the notify session of a D-Bus connection that went away."""
        if name in self.notify_sessions:
            was = self.notifying
            self.notify_sessions.discard(name)
            self._changed(was)

    def _changed(self, was: bool) -> None:
        if was != self.notifying:
            self.emit_properties_changed({"Notifying": self.notifying})
            if self.cccd is not None:
                on = b"\x01\x00" if "notify" in self._flags else b"\x02\x00"
                self.cccd.set_value(on if self.notifying else b"\x00\x00")
        if self._on_notify_change is not None:
            self._on_notify_change()

    def notify(self, value: bytes) -> list[str]:
        """Send one notification: one PropertiesChanged ``Value`` per live session.

        Returns
        -------
        list of str
            The sessions (unique bus names) it was sent for, in a stable order; empty when
            nobody listens.
        """
        self._value = bytes(value)
        sessions = sorted(self.notify_sessions)
        for _ in sessions:
            self.emit_properties_changed({"Value": self._value})
        return sessions

    def end_sessions(self) -> None:
        """Forget every session (bluetoothd restarted, or the objects are freed)."""
        if self.notify_sessions:
            self.notify_sessions.clear()
            self._changed(True)


class GattDescriptor(ServiceInterface):
    """``org.bluez.GattDescriptor1`` (read only through D-Bus, like BlueZ's CCCD)."""

    def __init__(self, uuid: str, characteristic: str, value: bytes) -> None:
        super().__init__("org.bluez.GattDescriptor1")
        self._uuid = uuid
        self._characteristic = characteristic
        self._value = bytes(value)

    def set_value(self, value: bytes) -> None:
        """Change the value (e.g. the CCCD after StartNotify)."""
        self._value = bytes(value)

    @dbus_property(access=PropertyAccess.READ)
    def UUID(self) -> DBusStr:  # noqa: N802
        return self._uuid

    @dbus_property(access=PropertyAccess.READ)
    def Characteristic(self) -> DBusObjectPath:  # noqa: N802
        return self._characteristic

    @dbus_property(access=PropertyAccess.READ)
    def Value(self) -> DBusBytes:  # noqa: N802
        return self._value

    @dbus_property(access=PropertyAccess.READ)
    def Flags(self) -> StrList:  # noqa: N802
        return ["read"]

    @dbus_method()
    def ReadValue(self, options: VariantDict) -> DBusBytes:  # noqa: N802
        offset = _offset(options)
        if offset > len(self._value):
            raise bluez_error(ERROR_INVALID_OFFSET, "Invalid offset")
        return self._value[offset:]

    @dbus_method()
    def WriteValue(self, value: DBusBytes, options: VariantDict) -> None:  # noqa: N802
        raise bluez_error(ERROR_NOT_PERMITTED, "Write not permitted")


@dataclass(frozen=True, slots=True)
class StrapInfo:
    """What the strap's read-only characteristics answer.

    Attributes
    ----------
    body_location : int
        Body Sensor Location code (1 = chest).
    battery_percent : int
        Battery Level, 0-100.
    model, serial, firmware, manufacturer : str
        Device Information strings.
    """

    body_location: int = 1
    battery_percent: int = 87
    model: str = "Virtual HRM"
    serial: str = "VHRM-0001"
    firmware: str = "1.0.0"
    manufacturer: str = "biofeedback"


class StrapGatt:
    """The strap's GATT database: built once, exported on the first connection, kept.

    Parameters
    ----------
    device_path : str
        The Device1 object path.
    info : StrapInfo
        Values of the read-only characteristics.
    context : CallContext
        Sender tracking for notify sessions.
    on_notify_change : callable, optional
        Called when notify sessions on any characteristic change.
    pmd_write, pmd_read : callable, optional
        With both, the strap has the PMD and 0xFEEE services: control-point writes go to
        ``pmd_write(value)`` and reads answer ``pmd_read()``.
    mtu : int
        ATT MTU reported by every characteristic.
    """

    def __init__(
        self,
        device_path: str,
        info: StrapInfo,
        context: CallContext,
        on_notify_change: Callable[[], None] | None = None,
        pmd_write: Callable[[bytes], None] | None = None,
        pmd_read: Callable[[], bytes] | None = None,
        mtu: int = ATT_MTU,
    ) -> None:
        self.objects: list[tuple[str, ServiceInterface]] = []
        self._exported_on: MessageBus | None = None
        handle = 0x000F

        def next_handle(step: int = 1) -> int:
            nonlocal handle
            handle += step
            return handle

        def service(uuid: str) -> str:
            path = f"{device_path}/service{next_handle():04x}"
            self.objects.append((path, GattService(uuid, device_path)))
            return path

        def char(
            svc: str,
            uuid: str,
            flags: tuple[str, ...],
            value: bytes,
            on_write: Callable[[bytes], None] | None = None,
            on_read: Callable[[], bytes] | None = None,
        ) -> GattCharacteristic:
            path = f"{svc}/char{next_handle():04x}"
            next_handle()  # the value handle, as in a real attribute table
            obj = GattCharacteristic(uuid, svc, flags, value, context, on_notify_change,
                                     on_write=on_write, on_read=on_read, mtu=mtu)
            self.objects.append((path, obj))
            if obj.can_notify:
                cccd = GattDescriptor(
                    sig.CLIENT_CHARACTERISTIC_CONFIGURATION_UUID, path, b"\x00\x00"
                )
                obj.cccd = cccd
                self.objects.append((f"{path}/desc{next_handle():04x}", cccd))
            return obj

        hr = service(sig.HEART_RATE_SERVICE_UUID)
        self.heart_rate = char(hr, sig.HEART_RATE_MEASUREMENT_UUID, ("notify",), b"")
        char(hr, sig.BODY_SENSOR_LOCATION_UUID, _READ, bytes([info.body_location]))
        bat = service(sig.BATTERY_SERVICE_UUID)
        self.battery = char(
            bat, sig.BATTERY_LEVEL_UUID, ("read", "notify"), bytes([info.battery_percent])
        )
        dis = service(sig.DEVICE_INFORMATION_SERVICE_UUID)
        for uuid, text in (
            (sig.MODEL_NUMBER_UUID, info.model),
            (sig.SERIAL_NUMBER_UUID, info.serial),
            (sig.FIRMWARE_REVISION_UUID, info.firmware),
            (sig.MANUFACTURER_NAME_UUID, info.manufacturer),
        ):
            char(dis, uuid, _READ, text.encode())
        self.pmd_control: GattCharacteristic | None = None
        self.pmd_data: GattCharacteristic | None = None
        if pmd_write is not None and pmd_read is not None:
            svc = service(pmd.PMD_SERVICE_UUID)
            self.pmd_control = char(svc, pmd.PMD_CONTROL_POINT_UUID, ("read", "write", "indicate"),
                                    pmd_read(), on_write=pmd_write, on_read=pmd_read)
            self.pmd_data = char(svc, pmd.PMD_DATA_UUID, ("notify",), b"")
            feee = service(pmd.POLAR_SERVICE_UUID)
            char(feee, pmd.POLAR_FTP_MTU_UUID, ("write-without-response", "write", "notify"), b"")
            char(feee, pmd.POLAR_FTP_D2H_UUID, ("notify",), b"")
            char(feee, pmd.POLAR_FTP_H2D_UUID, ("write-without-response", "write"), b"")

    @property
    def exported(self) -> bool:
        """Whether the objects are on the bus (the strap is connected)."""
        return self._exported_on is not None

    def characteristics(self) -> list[GattCharacteristic]:
        """Every characteristic object."""
        return [obj for _, obj in self.objects if isinstance(obj, GattCharacteristic)]

    def export(self, bus: MessageBus) -> None:
        """Put every object on the bus (one InterfacesAdded each, services first)."""
        if self._exported_on is None:
            for path, obj in self.objects:
                bus.export(path, obj)
            self._exported_on = bus

    def unexport(self) -> None:
        """Remove every object (InterfacesRemoved, innermost first) and end notify sessions
        (the device was removed or the adapter went away)."""
        bus, self._exported_on = self._exported_on, None
        if bus is not None:
            for path, obj in reversed(self.objects):
                bus.unexport(path, obj)
        # After the objects left the bus: the sessions die without a Notifying signal.
        for char in self.characteristics():
            char.end_sessions()

    def drop_client(self, name: str) -> None:
        """A D-Bus connection went away: end its notify sessions."""
        for char in self.characteristics():
            char.drop_client(name)
