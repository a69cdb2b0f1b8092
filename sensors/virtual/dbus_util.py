"""Small D-Bus helpers shared by the BlueZ and GATT objects: types, errors, the caller."""

from typing import Annotated, Any

from dbus_fast import Message, MessageType
from dbus_fast.annotations import DBusSignature
from dbus_fast.errors import DBusError

StrList = Annotated[list[str], DBusSignature("as")]
"""D-Bus ``as``."""
PathList = Annotated[list[str], DBusSignature("ao")]
"""D-Bus ``ao``."""
VariantDict = Annotated[dict[str, Any], DBusSignature("a{sv}")]
"""D-Bus ``a{sv}``."""
ManufacturerDict = Annotated[dict[int, Any], DBusSignature("a{qv}")]
"""D-Bus ``a{qv}`` (company id to variant bytes)."""

BLUEZ = "org.bluez"
"""Bus name of BlueZ."""
ERROR_FAILED = "org.bluez.Error.Failed"
ERROR_IN_PROGRESS = "org.bluez.Error.InProgress"
ERROR_NOT_READY = "org.bluez.Error.NotReady"
ERROR_NOT_PERMITTED = "org.bluez.Error.NotPermitted"
ERROR_NOT_SUPPORTED = "org.bluez.Error.NotSupported"
ERROR_INVALID_OFFSET = "org.bluez.Error.InvalidOffset"
ERROR_DOES_NOT_EXIST = "org.bluez.Error.DoesNotExist"
ERROR_NOT_CONNECTED = "org.bluez.Error.NotConnected"
ERROR_AUTHENTICATION_FAILED = "org.bluez.Error.AuthenticationFailed"


def bluez_error(name: str, text: str) -> DBusError:
    """A BlueZ error reply to raise from a method (same names and texts as bluetoothd)."""
    return DBusError(name, text)


def not_ready() -> DBusError:
    """``org.bluez.Error.NotReady``: what BlueZ answers while the adapter is off."""
    return DBusError(ERROR_NOT_READY, "Resource Not Ready")


class CallContext:
    """Remembers the sender of the method call being dispatched.

    dbus-fast does not hand the message to ``@dbus_method`` functions; this handler runs
    first for every incoming message (it never claims one), so synchronous methods can read
    :attr:`sender` to keep per-client state as bluetoothd does (discovery and notify
    sessions belong to the D-Bus connection that started them).
    """

    def __init__(self) -> None:
        self.sender: str = ""

    def __call__(self, msg: Message) -> None:
        """Message handler: record the sender of method calls."""
        if msg.message_type is MessageType.METHOD_CALL:
            self.sender = msg.sender or ""
