"""Test helper: a plain D-Bus client on the virtual strap's bus, to see exactly what a fake
BlueZ emits (every signal, in order) and to call it without bleak.

Usage (inside a running event loop)::

    async with DBusRecorder(strap.bus_address) as rec:
        await rec.call(DEVICE, "org.bluez.Device1", "Connect")
        rec.signals  # [(member, path, body), ...]
"""

from __future__ import annotations

import asyncio
from typing import Any

from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus

BLUEZ = "org.bluez"
_OBJECT_MANAGER_SIGNALS = ("InterfacesAdded", "InterfacesRemoved")
ADAPTER = "/org/bluez/hci0"


def device_path(address: str) -> str:
    """BlueZ's object path of a device."""
    return f"{ADAPTER}/dev_{address.upper().replace(':', '_')}"


def heart_rate_path(address: str) -> str:
    """Object path of the virtual strap's Heart Rate Measurement characteristic (its fixed
    attribute table: service handle 0x0010, characteristic 0x0011)."""
    return f"{device_path(address)}/service0010/char0011"


def unpack(value: Any) -> Any:
    """Variants to plain values, recursively."""
    if isinstance(value, Variant):
        return unpack(value.value)
    if isinstance(value, dict):
        return {k: unpack(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unpack(v) for v in value]
    return value


class DBusRecorder:
    """Records every signal on the bus from the moment it connects.

    Attributes
    ----------
    signals : list of (member, path, body)
        In arrival order, bodies unpacked.
    """

    def __init__(self, bus_address: str) -> None:
        self.bus_address = bus_address
        self.bus: MessageBus | None = None
        self.signals: list[tuple[str, str, list[Any]]] = []

    async def __aenter__(self) -> DBusRecorder:
        self.bus = await MessageBus(bus_address=self.bus_address).connect()
        self.bus.add_message_handler(self._on_message)
        await self.call("/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
                        ["type='signal'"], destination="org.freedesktop.DBus")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None

    @property
    def unique_name(self) -> str:
        """This client's unique bus name (what BlueZ keys its sessions by)."""
        assert self.bus is not None and self.bus.unique_name is not None
        return self.bus.unique_name

    def _on_message(self, msg: Message) -> None:
        if msg.message_type is MessageType.SIGNAL and msg.member != "NameAcquired":
            body = unpack(msg.body)
            # dbus-fast sends ObjectManager signals from the object's path (bluetoothd from
            # "/"): record the object they are about, which is what clients look at.
            path = body[0] if msg.member in _OBJECT_MANAGER_SIGNALS else msg.path or ""
            self.signals.append((msg.member or "", path, body))

    async def call(
        self, path: str, interface: str, member: str, signature: str = "",
        body: list[Any] | None = None, *, destination: str = BLUEZ,
    ) -> Message:
        """One method call; returns the reply (an error reply is returned, not raised)."""
        assert self.bus is not None
        reply = await self.bus.call(Message(
            destination=destination, path=path, interface=interface, member=member,
            signature=signature, body=body or [],
        ))
        assert reply is not None
        return reply

    async def wait_for(self, member: str, path: str | None = None,
                       timeout_s: float = 5.0) -> tuple[str, str, list[Any]]:
        """The first recorded signal ``member`` (on ``path``), waiting for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while True:
            for sig in self.signals:
                if sig[0] == member and (path is None or sig[1] == path):
                    return sig
            if loop.time() > deadline:
                raise TimeoutError(f"no {member} signal on {path} in {timeout_s} s")
            await asyncio.sleep(0.01)

    async def discover(self, address: str, timeout_s: float = 5.0) -> None:
        """Start discovery until the strap's Device1 object appears, then stop it."""
        reply = await self.call(ADAPTER, "org.bluez.Adapter1", "StartDiscovery")
        assert reply.message_type is MessageType.METHOD_RETURN, reply.body
        before = len(self.signals)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        path = device_path(address)
        while not any(s[0] in ("InterfacesAdded", "PropertiesChanged") and s[1] == path
                      for s in self.signals[before:]):
            if loop.time() > deadline:
                raise TimeoutError("the strap did not appear")
            await asyncio.sleep(0.01)
        await self.call(ADAPTER, "org.bluez.Adapter1", "StopDiscovery")

    def device_changes(self, address: str) -> list[tuple[str, Any]]:
        """Device1 PropertiesChanged and Disconnected signals as (what, value) in order."""
        path = device_path(address)
        out: list[tuple[str, Any]] = []
        for member, sig_path, body in self.signals:
            if sig_path != path:
                continue
            if member == "PropertiesChanged" and body[0] == "org.bluez.Device1":
                out.extend((k, v) for k, v in body[1].items() if k != "RSSI")
            elif member == "Disconnected":
                out.append(("Disconnected", tuple(body)))
        return out
