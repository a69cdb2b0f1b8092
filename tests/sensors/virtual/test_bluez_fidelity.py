"""The virtual BlueZ emits what bluetoothd emits in the situations real straps produce
(``docs/straps.md``, "Faults the virtual strap reproduces"), seen by a plain D-Bus client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from dbus_fast import MessageType
from dbus_recorder import DBusRecorder, device_path, heart_rate_path
from virtual_strap import DEFAULT_ADDRESS, VirtualStrap, virtual_strap

from sensors.ble.gatt import parse_heart_rate_measurement

__all__ = ["virtual_strap"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.timeout(60)

DEVICE = device_path(DEFAULT_ADDRESS)
HR_CHAR = heart_rate_path(DEFAULT_ADDRESS)
DEVICE1 = "org.bluez.Device1"
CHAR1 = "org.bluez.GattCharacteristic1"


async def connect(rec: DBusRecorder) -> None:
    await rec.discover(DEFAULT_ADDRESS)
    reply = await rec.call(DEVICE, DEVICE1, "Connect")
    assert reply.message_type is MessageType.METHOD_RETURN, reply.body


def values(rec: DBusRecorder) -> list[bytes]:
    return [bytes(body[1]["Value"]) for member, path, body in rec.signals
            if member == "PropertiesChanged" and path == HR_CHAR and "Value" in body[1]]


def test_link_loss_is_three_signals_and_keeps_objects_and_sessions(
    virtual_strap: VirtualStrap,
) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as rec:
            await connect(rec)
            assert (await rec.call(HR_CHAR, CHAR1, "StartNotify")).message_type \
                is MessageType.METHOD_RETURN
            await asyncio.sleep(0.3)
            before = len(rec.signals)
            assert virtual_strap.command("link-loss") == "OK link-loss"
            await rec.wait_for("Disconnected", DEVICE)
            await asyncio.sleep(0.2)
            loss = rec.signals[before:]
            assert not [s for s in loss if s[0] == "InterfacesRemoved"]
            changes = [c for c in rec.device_changes(DEFAULT_ADDRESS)
                       if c[0] in ("ServicesResolved", "Connected", "Disconnected")]
            assert changes[-3:] == [
                ("ServicesResolved", False),
                ("Disconnected", ("org.bluez.Reason.Timeout", "Connection timeout")),
                ("Connected", False),
            ]
            # StartNotify while disconnected: success, queued (objects are cached).
            assert (await rec.call(HR_CHAR, CHAR1, "StartNotify")).message_type \
                is MessageType.METHOD_RETURN
            await asyncio.sleep(0.6)  # the strap advertises again
            n_before = len(values(rec))
            assert (await rec.call(DEVICE, DEVICE1, "Connect")).message_type \
                is MessageType.METHOD_RETURN
            await asyncio.sleep(0.4)
            # Re-armed without a new StartNotify, and no InterfacesAdded for the GATT.
            assert len(values(rec)) > n_before
            added = [s for s in rec.signals[before:] if s[0] == "InterfacesAdded"
                     and s[1].startswith(DEVICE + "/")]
            assert added == []
            assert "sessions=1" in virtual_strap.command("status")

    asyncio.run(run())
    # The session ended with its D-Bus connection; the link stays (bluez issue 89). The
    # daemon learns of the closed connection from the bus, a moment later on a busy machine.
    deadline = time.monotonic() + 5.0
    status = virtual_strap.command("status")
    while "notifying=0" not in status and time.monotonic() < deadline:
        time.sleep(0.05)
        status = virtual_strap.command("status")
    assert "connected=1 notifying=0" in status


def test_each_notification_is_sent_once_per_live_session(virtual_strap: VirtualStrap) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as first, \
                DBusRecorder(virtual_strap.bus_address) as second:
            await connect(first)
            for client in (first, second):
                assert (await client.call(HR_CHAR, CHAR1, "StartNotify")).message_type \
                    is MessageType.METHOD_RETURN
            await asyncio.sleep(0.5)
            names = sorted([first.unique_name, second.unique_name])
            doubled = [p for p in virtual_strap.packets(delivered=True) if p["to"] == names]
            assert len(doubled) >= 5
            seen = values(first)
            # Every doubled packet reached the bus twice, back to back.
            for p in doubled[:-1]:
                k = seen.index(bytes.fromhex(p["hex"]))
                assert seen[k + 1] == seen[k]
        await asyncio.sleep(0.3)  # both clients left the bus: their sessions end

    asyncio.run(run())
    assert "sessions=0" in virtual_strap.command("status")


def test_connect_races(virtual_strap: VirtualStrap) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as rec:
            await rec.discover(DEFAULT_ADDRESS)
            # Disconnect on a device that is not connected: success (bluez L12).
            assert (await rec.call(DEVICE, DEVICE1, "Disconnect")).message_type \
                is MessageType.METHOD_RETURN
            assert virtual_strap.command("gone") == "OK gone"
            pending = asyncio.create_task(rec.call(DEVICE, DEVICE1, "Connect"))
            await asyncio.sleep(0.2)
            second = await rec.call(DEVICE, DEVICE1, "Connect")
            assert second.error_name == "org.bluez.Error.InProgress"
            assert (await rec.call(DEVICE, DEVICE1, "Disconnect")).message_type \
                is MessageType.METHOD_RETURN
            first = await pending
            assert first.error_name == "org.bluez.Error.Failed"
            assert first.body == ["br-connection-canceled"]

    asyncio.run(run())


def test_restart_bluez_loses_the_name_and_comes_back_with_fresh_objects(
    virtual_strap: VirtualStrap,
) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as rec:
            await connect(rec)
            await rec.call(HR_CHAR, CHAR1, "StartNotify")
            await asyncio.sleep(0.3)
            before = len(rec.signals)
            assert virtual_strap.command("restart-bluez 300") == "OK restart-bluez 300"
            owner_changes = []
            for _ in range(100):
                owner_changes = [s[2] for s in rec.signals[before:]
                                 if s[0] == "NameOwnerChanged" and s[2][0] == "org.bluez"]
                if len(owner_changes) == 2:
                    break
                await asyncio.sleep(0.05)
            (_, old, gone), (_, none, new) = owner_changes
            assert gone == "" and none == "" and new and new != old
            # Not a word about the link: no Connected=false, no InterfacesRemoved.
            during = rec.signals[before:]
            assert not any(s[0] == "InterfacesRemoved" for s in during)
            assert ("Connected", False) not in rec.device_changes(DEFAULT_ADDRESS)
            objects = await rec.call("/", "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects")
            assert list(objects.body[0]) == ["/org/bluez/hci0"]  # fresh: only the adapter
            await asyncio.sleep(0.3)

    asyncio.run(run())
    status = virtual_strap.command("status")
    assert "connected=0" in status and "sessions=0" in status and "bluez=1" in status
    assert virtual_strap.events("restart_bluez")[0]["was_connected"] is True


def test_unplugged_adapter_removes_everything_without_connected_false(
    virtual_strap: VirtualStrap,
) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as rec:
            await connect(rec)
            before = len(rec.signals)
            assert virtual_strap.command("unplug-adapter") == "OK unplug-adapter"
            await rec.wait_for("InterfacesRemoved", "/org/bluez/hci0")
            await asyncio.sleep(0.2)
            removed = [s[1] for s in rec.signals[before:] if s[0] == "InterfacesRemoved"]
            assert removed[-2:] == [DEVICE, "/org/bluez/hci0"]
            assert HR_CHAR in removed
            assert ("Connected", False) not in rec.device_changes(DEFAULT_ADDRESS)
            reply = await rec.call("/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery")
            assert reply.message_type is MessageType.ERROR
            assert virtual_strap.command("plug-adapter") == "OK plug-adapter"
            await asyncio.sleep(0.1)
            await rec.discover(DEFAULT_ADDRESS)

    asyncio.run(run())


def test_h10_flags_and_off_body_then_the_strap_hangs_up(virtual_strap: VirtualStrap) -> None:
    async def run() -> None:
        async with DBusRecorder(virtual_strap.bus_address) as rec:
            await connect(rec)
            assert virtual_strap.command("h10-flags on") == "OK h10-flags on"
            await rec.call(HR_CHAR, CHAR1, "StartNotify")
            await asyncio.sleep(0.4)
            assert virtual_strap.command("off-body") == "OK off-body"
            # 45 virtual s at 20x: the strap ends the link itself.
            await rec.wait_for("Disconnected", DEVICE, timeout_s=5.0)
            reason = [c[1] for c in rec.device_changes(DEFAULT_ADDRESS)
                      if c[0] == "Disconnected"]
            assert reason == [("org.bluez.Reason.Remote", "Connection terminated by remote user")]
            await asyncio.sleep(0.5)
            assert "connected=0" in virtual_strap.command("status")
            # Asleep: it does not advertise, so a Connect is held, until worn again.
            pending = asyncio.create_task(rec.call(DEVICE, DEVICE1, "Connect"))
            await asyncio.sleep(0.3)
            assert not pending.done()
            assert virtual_strap.command("on-body") == "OK on-body"
            assert (await pending).message_type is MessageType.METHOD_RETURN

    asyncio.run(run())
    packets = virtual_strap.packets(delivered=True)
    h10 = [parse_heart_rate_measurement(bytes.fromhex(p["hex"])) for p in packets
           if p["sensor_contact"] is None]
    assert h10 and all(m.sensor_contact is None for m in h10)
    assert all(p["hex"].startswith(("10", "00")) for p in packets if p["sensor_contact"] is None)
    off = [p for p in packets if p["heart_rate_bpm"] == 0]
    assert len(off) >= 20
    assert [p["rr_raw"] for p in off[:4]] == [[65535], [31], [40000], []]
    assert virtual_strap.events("disconnect")[-1]["reason"] == "strap_off_body"


def test_connected_at_start_does_not_advertise(tmp_path: Path) -> None:
    async def run(strap: VirtualStrap) -> None:
        async with DBusRecorder(strap.bus_address) as rec:
            objects = await rec.call("/", "org.freedesktop.DBus.ObjectManager",
                                     "GetManagedObjects")
            managed = objects.body[0]
            assert managed[DEVICE][DEVICE1]["Connected"].value is True
            assert HR_CHAR in managed
            await rec.call("/org/bluez/hci0", "org.bluez.Adapter1", "StartDiscovery")
            await asyncio.sleep(0.6)
            assert not [s for s in rec.signals if s[0] == "PropertiesChanged"
                        and s[1] == DEVICE and "RSSI" in s[2][1]]

    with VirtualStrap(tmp_path, extra_args=["--connected-at-start"]) as strap:
        asyncio.run(run(strap))
        assert strap.events("connect")[0]["at_start"] is True


def test_late_gatt_resolves_services_before_the_objects(tmp_path: Path) -> None:
    async def run(strap: VirtualStrap) -> None:
        async with DBusRecorder(strap.bus_address) as rec:
            await connect(rec)
            resolved = next(k for k, s in enumerate(rec.signals)
                            if s[0] == "PropertiesChanged" and s[1] == DEVICE
                            and s[2][1].get("ServicesResolved") is True)
            assert not any(s[0] == "InterfacesAdded" and s[1] == HR_CHAR
                           for s in rec.signals[:resolved])
            await rec.wait_for("InterfacesAdded", HR_CHAR, timeout_s=2.0)
            assert any(s[0] == "InterfacesAdded" and s[1] == HR_CHAR
                       for s in rec.signals[resolved:])

    with VirtualStrap(tmp_path, extra_args=["--late-gatt", "300"]) as strap:
        asyncio.run(run(strap))
        assert strap.events("gatt_exported")


def test_bad_fault_commands_are_refused(virtual_strap: VirtualStrap) -> None:
    assert virtual_strap.command("late-gatt soon").startswith("ERR 'soon' is not a number")
    assert virtual_strap.command("restart-bluez -5").startswith("ERR -5 ms outside")
    assert virtual_strap.command("plug-adapter") == "ERR adapter present"
    assert virtual_strap.command("zombie") == "ERR not connected"
