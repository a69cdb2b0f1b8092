"""The virtual BlueZ (``python -m sensors.virtual``) driven by the real, unmodified bleak.

Each test starts its own virtual strap (private dbus-daemon, fake org.bluez, one strap) and
runs bleak in a fresh ``asyncio.run`` loop (bleak caches BlueZ state per loop).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.device import BLEDevice
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakDBusError,
    BleakGATTProtocolError,
    BleakGATTProtocolErrorCode,
)
from dbus_fast import Message, MessageType
from dbus_fast.aio import MessageBus
from virtual_strap import ROOT, VirtualStrap, bluetoothctl_stub, virtual_strap

from sensors.ble.gatt import (
    BATTERY_LEVEL_UUID,
    BODY_SENSOR_LOCATION_UUID,
    FIRMWARE_REVISION_UUID,
    HEART_RATE_MEASUREMENT_UUID,
    HEART_RATE_SERVICE_UUID,
    MANUFACTURER_NAME_UUID,
    MODEL_NUMBER_UUID,
    SERIAL_NUMBER_UUID,
    parse_battery_level,
    parse_body_sensor_location,
    parse_heart_rate_measurement,
    parse_utf8_string,
)
from sensors.virtual.daemon import is_system_bus

__all__ = ["virtual_strap"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.timeout(60)


def _is_strap(device: BLEDevice, adv: object) -> bool:
    return HEART_RATE_SERVICE_UUID in adv.service_uuids  # type: ignore[attr-defined]


async def _find(timeout: float = 5.0) -> BLEDevice | None:
    return await BleakScanner.find_device_by_filter(_is_strap, timeout=timeout)


def _adapter_call(bus: MessageBus, member: str) -> Message:
    return Message(
        destination="org.bluez", path="/org/bluez/hci0", interface="org.bluez.Adapter1",
        member=member,
    )


def test_scanner_finds_the_strap_with_name_and_rssi(virtual_strap: VirtualStrap) -> None:
    seen: list[tuple[BLEDevice, object]] = []

    async def scan() -> BLEDevice | None:
        return await BleakScanner.find_device_by_filter(
            lambda d, adv: seen.append((d, adv)) or _is_strap(d, adv), timeout=5
        )

    t0 = time.monotonic()
    device = asyncio.run(scan())
    assert device is not None
    assert time.monotonic() - t0 < 3.0
    assert device.address == virtual_strap.device_address
    assert device.name == "Virtual HRM"
    adv = seen[-1][1]
    assert adv.local_name == "Virtual HRM"  # type: ignore[attr-defined]
    assert -70 <= adv.rssi <= -50  # type: ignore[attr-defined]
    assert 0xFFFF in adv.manufacturer_data  # type: ignore[attr-defined]


def test_reads_and_notifications_match_the_packet_log(virtual_strap: VirtualStrap) -> None:
    received: list[bytes] = []

    async def session() -> dict[str, bytes]:
        device = await _find()
        assert device is not None
        values = {}
        async with BleakClient(device) as client:
            for uuid in (BODY_SENSOR_LOCATION_UUID, BATTERY_LEVEL_UUID, MODEL_NUMBER_UUID,
                         SERIAL_NUMBER_UUID, FIRMWARE_REVISION_UUID, MANUFACTURER_NAME_UUID):
                values[uuid] = bytes(await client.read_gatt_char(uuid))
            await client.start_notify(
                HEART_RATE_MEASUREMENT_UUID, lambda _c, data: received.append(bytes(data))
            )
            await asyncio.sleep(3.0)
            await client.stop_notify(HEART_RATE_MEASUREMENT_UUID)
            await asyncio.sleep(0.2)  # signals still in flight on bleak's other connection
        return values

    values = asyncio.run(session())
    assert parse_body_sensor_location(values[BODY_SENSOR_LOCATION_UUID]) == "chest"
    assert parse_battery_level(values[BATTERY_LEVEL_UUID]) == 87
    assert parse_utf8_string(values[MODEL_NUMBER_UUID]) == "Virtual HRM"
    assert parse_utf8_string(values[SERIAL_NUMBER_UUID]) == "VHRM-0001"
    assert parse_utf8_string(values[FIRMWARE_REVISION_UUID]) == "1.0.0"
    assert parse_utf8_string(values[MANUFACTURER_NAME_UUID]) == "biofeedback"

    delivered = [bytes.fromhex(p["hex"]) for p in virtual_strap.packets(delivered=True)]
    assert 50 <= len(received) <= 70  # 3 s at speed 20
    assert received == delivered
    assert virtual_strap.command("packets") == f"PACKETS {len(delivered)}"
    for raw, record in zip(received, virtual_strap.packets(delivered=True), strict=True):
        m = parse_heart_rate_measurement(raw)
        assert m.sensor_contact is True
        assert [round(ms * 1024 / 1000) for ms in m.rr_intervals_ms] == record["rr_raw"]
        assert m.heart_rate_bpm == record["heart_rate_bpm"]
    # seconds with nobody subscribed were built and dropped, never sent
    seqs = [p["seq"] for p in virtual_strap.packets()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert virtual_strap.events("connect") and virtual_strap.events("notify_start")


def test_pairing_errors_and_notify_options(virtual_strap: VirtualStrap) -> None:
    async def session() -> int:
        got: list[bytes] = []
        device = await _find()
        assert device is not None
        async with BleakClient(device, pair=True) as client:  # Pair instead of Connect
            with pytest.raises(BleakGATTProtocolError) as err:
                await client.read_gatt_char(HEART_RATE_MEASUREMENT_UUID)
            assert err.value.code is BleakGATTProtocolErrorCode.READ_NOT_PERMITTED
            with pytest.raises(BleakGATTProtocolError) as err:
                await client.write_gatt_char(BATTERY_LEVEL_UUID, b"\x01", response=True)
            assert err.value.code is BleakGATTProtocolErrorCode.WRITE_NOT_PERMITTED
            # no NotifyAcquired property: bleak falls back to StartNotify
            await client.start_notify(
                HEART_RATE_MEASUREMENT_UUID, lambda _c, d: got.append(bytes(d)),
                bluez={"use_start_notify": False},
            )
            await asyncio.sleep(0.5)
        return len(got)

    assert asyncio.run(session()) >= 5
    assert virtual_strap.command("hr 90") == "OK hr 90"


def test_link_loss_fires_disconnected_callback_and_reconnects(
    virtual_strap: VirtualStrap,
) -> None:
    async def session() -> tuple[float, int, int]:
        lost = asyncio.Event()
        first: list[bytes] = []
        second: list[bytes] = []
        device = await _find()
        assert device is not None
        client = BleakClient(device, disconnected_callback=lambda _c: lost.set())
        await client.connect()
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _c, d: first.append(d))
        await asyncio.sleep(0.5)
        virtual_strap.link_loss()
        t_loss = time.monotonic()
        await asyncio.wait_for(lost.wait(), 2.0)
        assert not client.is_connected
        await client.disconnect()  # releases bleak's per-connection bus after a remote drop
        device = await _find(timeout=2.0)
        assert device is not None
        async with BleakClient(device) as again:
            await again.start_notify(
                HEART_RATE_MEASUREMENT_UUID, lambda _c, d: second.append(d)
            )
            reconnected = time.monotonic() - t_loss
            await asyncio.sleep(0.5)
        return reconnected, len(first), len(second)

    reconnected, n_first, n_second = asyncio.run(session())
    assert reconnected < 2.0
    assert n_first >= 5 and n_second >= 5
    assert len(virtual_strap.events("link_loss")) == 1
    loss = virtual_strap.events("link_loss")[0]
    assert loss["was_connected"] is True
    # packets built between the loss and the new subscription were dropped
    dropped = [p for p in virtual_strap.packets(delivered=False)
               if p["monotonic_s"] > loss["monotonic_s"]]
    assert dropped


def test_power_off_makes_scanning_and_connecting_fail(virtual_strap: VirtualStrap) -> None:
    async def session() -> None:
        device = await _find()
        assert device is not None
        assert virtual_strap.command("power off") == "OK power off"
        await asyncio.sleep(0.1)  # let bleak see Powered=false
        with pytest.raises(BleakBluetoothNotAvailableError, match="No powered Bluetooth"):
            await _find(timeout=1.0)
        with pytest.raises(BleakDBusError) as err:
            await BleakClient(device, timeout=3.0).connect()
        assert err.value.dbus_error == "org.bluez.Error.NotReady"
        assert virtual_strap.command("power on") == "OK power on"
        await asyncio.sleep(0.1)
        assert await _find() is not None

    asyncio.run(session())
    assert [e["powered"] for e in virtual_strap.events("power")] == [False, True]


async def _connect_then_lose(command: Callable[[], str], answer: str) -> BLEDevice:
    """Connect to the strap, run a control command, and wait for the link to drop."""
    lost = asyncio.Event()
    device = await _find()
    assert device is not None
    client = BleakClient(device, disconnected_callback=lambda _c: lost.set())
    await client.connect()
    assert command() == answer
    await asyncio.wait_for(lost.wait(), 2.0)
    await client.disconnect()
    return device


def test_power_off_drops_a_connected_strap(virtual_strap: VirtualStrap) -> None:
    async def session() -> None:
        await _connect_then_lose(lambda: virtual_strap.command("power off"), "OK power off")

    asyncio.run(session())
    assert virtual_strap.events("disconnect")[-1]["reason"] == "power_off"


def test_second_start_discovery_from_one_connection_is_in_progress(
    virtual_strap: VirtualStrap,
) -> None:
    async def session() -> tuple[Message, Message, Message, Message]:
        bus = await MessageBus(bus_address=virtual_strap.bus_address).connect()
        try:
            first = await bus.call(_adapter_call(bus, "StartDiscovery"))
            second = await bus.call(_adapter_call(bus, "StartDiscovery"))
            other = await MessageBus(bus_address=virtual_strap.bus_address).connect()
            third = await other.call(_adapter_call(other, "StartDiscovery"))  # another client
            other.disconnect()
            stop = await bus.call(_adapter_call(bus, "StopDiscovery"))
        finally:
            bus.disconnect()
        assert first is not None and second is not None
        assert third is not None and stop is not None
        return first, second, third, stop

    first, second, third, stop = asyncio.run(session())
    assert first.message_type is MessageType.METHOD_RETURN
    assert second.message_type is MessageType.ERROR
    assert second.error_name == "org.bluez.Error.InProgress"
    assert third.message_type is MessageType.METHOD_RETURN
    assert stop.message_type is MessageType.METHOD_RETURN


def test_gone_and_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strap = VirtualStrap(tmp_path, speed=20, extra_args=["--connect-timeout", "0.5"])
    with strap:
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", strap.bus_address)
        monkeypatch.setenv("PATH", f"{bluetoothctl_stub(tmp_path)}{os.pathsep}"
                                   f"{os.environ['PATH']}")

        async def session() -> None:
            device = await _connect_then_lose(lambda: strap.command("gone"), "OK gone")
            assert await _find(timeout=0.8) is None  # not advertising
            # Connect is held, fails with le-connection-abort-by-local, bleak retries until
            # its own timeout
            t0 = time.monotonic()
            with pytest.raises(TimeoutError):
                await BleakClient(device, timeout=1.5).connect()
            assert 1.2 < time.monotonic() - t0 < 3.0
            assert strap.command("back") == "OK back"
            found = await _find(timeout=2.0)
            assert found is not None
            async with BleakClient(found) as again:
                assert again.is_connected

        asyncio.run(session())
        assert strap.events("connect_failed")[0]["reason"] == "le-connection-abort-by-local"
        assert strap.events("disconnect")[0]["reason"] == "out_of_range"


def test_contact_flag_and_rr_file(tmp_path: Path) -> None:
    rr_ms = [800, 900, 1000, 700, 750, 820]
    rr_file = tmp_path / "rr.txt"
    rr_file.write_text("# test\n" + "\n".join(map(str, rr_ms)) + "\n", encoding="utf-8")
    with VirtualStrap(tmp_path, speed=50, extra_args=["--rr-file", str(rr_file)]) as strap:
        assert strap.command("contact off") == "OK contact off"
        deadline = time.monotonic() + 3
        while len(strap.packets()) < 8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert strap.command("nonsense").startswith("ERR ")
        assert strap.command("hr 80").startswith("ERR ")  # simulator only
    packets = strap.packets()
    assert len(packets) >= 8
    # every RR of the file, in order, each in the packet of the second it completed in
    assert [r for p in packets for r in p["rr_raw"]] == [round(v * 1.024) for v in rr_ms]
    assert [len(p["rr_raw"]) for p in packets[:5]] == [1, 1, 1, 1, 2]  # 0.8 1.7 2.7 3.4 4.15 4.97
    tail = packets[-1]
    m = parse_heart_rate_measurement(bytes.fromhex(tail["hex"]))
    assert m.rr_intervals_ms == () and m.heart_rate_bpm == tail["heart_rate_bpm"] > 0
    assert m.sensor_contact is False  # contact off went in before these packets
    assert not any(p["delivered"] for p in packets)


def test_is_system_bus() -> None:
    assert is_system_bus("")
    assert is_system_bus("unix:path=/run/dbus/system_bus_socket")
    assert is_system_bus("unix:path=/var/run/dbus/system_bus_socket")
    assert is_system_bus("unix:path=/var/run/dbus/system_bus_socket,guid=0123")
    assert is_system_bus("unix:path=/tmp/x;unix:path=/run/dbus/system_bus_socket")
    assert is_system_bus("/run/dbus/system_bus_socket")
    assert not is_system_bus("unix:path=/tmp/virtual-bluez-x/bus,guid=0123")
    assert not is_system_bus("unix:abstract=/tmp/dbus-xyz")


@pytest.mark.parametrize(
    "address",
    ["unix:path=/run/dbus/system_bus_socket", "unix:path=/var/run/dbus/system_bus_socket", ""],
)
def test_refuses_the_system_bus(address: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sensors.virtual", "--bus", address],
        cwd=ROOT, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "system bus" in result.stderr
    assert "READY" not in result.stdout


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline:
                pids.append(int(entry.name))
    return pids


def test_sigterm_exits_cleanly(tmp_path: Path) -> None:
    strap = VirtualStrap(tmp_path, speed=20)
    strap.start()
    assert strap.startup_s is not None and strap.startup_s < 5.0
    socket_path = strap.bus_address.split("path=", 1)[1].split(",", 1)[0]
    folder = Path(socket_path).parent
    assert folder.is_dir()
    assert _processes_mentioning(str(folder))  # the private dbus-daemon
    strap.link_loss()  # harmless when nobody is connected
    time.sleep(0.2)
    assert strap.stop() == 0
    assert not folder.exists()
    deadline = time.monotonic() + 2
    while _processes_mentioning(str(folder)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _processes_mentioning(str(folder))
    assert strap.events("stop")
