"""``python -m sensors.virtual --pmd`` driven by the real bleak: the PMD service, the control
point's responses as indications, ECG and ACC frames equal to what the strap logged as sent,
every error, pairing, the device-initiated stop and the delayed ECG start."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bleak.backends.bluezdbus.manager import get_global_bluez_manager
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDBusError
from virtual_strap import StrapFactory, VirtualStrap

from sensors.ble.gatt import HEART_RATE_MEASUREMENT_UUID, HEART_RATE_SERVICE_UUID
from sensors.ble.pmd import PmdDataDecoder

pytestmark = pytest.mark.timeout(60)

PMD_SERVICE = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CP = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
PMD_DATA = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
START_ECG = bytes.fromhex("02000001820001010e00")
START_ACC_50_4G = bytes.fromhex("0202" "00013200" "01011000" "02010400")

@pytest.fixture
def pmd_strap(strap_with: StrapFactory) -> StrapFactory:
    """Starts one ``--pmd`` virtual strap with extra options; the bus set for bleak."""
    return partial(strap_with, "--pmd")


def _decode(frame: bytes) -> tuple[int, int, list[Any]]:
    """Type, timestamp and samples of a PMD frame (decoded here, not by the strap's code)."""
    kind, stamp, body = frame[0], int.from_bytes(frame[1:9], "little"), frame[10:]
    if kind == 0x00:
        assert frame[9] == 0x00
        return kind, stamp, [int.from_bytes(body[i:i + 3], "little", signed=True)
                             for i in range(0, len(body), 3)]
    assert kind == 0x02 and frame[9] == 0x01
    v = [int.from_bytes(body[i:i + 2], "little", signed=True) for i in range(0, len(body), 2)]
    return kind, stamp, [v[i:i + 3] for i in range(0, len(v), 3)]


class Pmd:
    """A client's view of the PMD service: indications and data frames as they arrive."""

    def __init__(self, client: BleakClient) -> None:
        self.client = client
        self.indications: asyncio.Queue[bytes] = asyncio.Queue()
        self.frames: list[bytes] = []

    async def subscribe(self) -> None:
        await self.client.start_notify(
            PMD_CP, lambda _c, d: self.indications.put_nowait(bytes(d)))
        await self.client.start_notify(PMD_DATA, lambda _c, d: self.frames.append(bytes(d)))

    async def ask(self, request: bytes) -> bytes:
        await self.client.write_gatt_char(PMD_CP, request, response=True)
        return await asyncio.wait_for(self.indications.get(), 2.0)


async def _session(body: Callable[[Pmd], Awaitable[Any]], pair: bool = False) -> Any:
    device: BLEDevice | None = await BleakScanner.find_device_by_filter(
        lambda _d, adv: HEART_RATE_SERVICE_UUID in adv.service_uuids, timeout=5)
    assert device is not None
    async with BleakClient(device, pair=pair) as client:
        pmd = Pmd(client)
        result = await body(pmd)
        await asyncio.sleep(0.2)  # signals still in flight on bleak's other connection
        return result


def _frames_logged(strap: VirtualStrap, stream: str) -> list[dict[str, Any]]:
    return [r for r in strap.records() if r.get("pmd") == stream and r["delivered"]]


def test_pmd_service_features_settings_and_ecg_acc_as_sent(
    pmd_strap: StrapFactory,
) -> None:
    strap = pmd_strap("--pmd-paired", "--pmd-rate-error", "0.004")
    hr_packets: list[bytes] = []

    async def body(pmd: Pmd) -> dict[str, Any]:
        client = pmd.client
        service = client.services.get_service(PMD_SERVICE)
        assert service is not None
        props = {c.uuid: sorted(c.properties) for c in service.characteristics}
        assert props == {PMD_CP: ["indicate", "read", "write"], PMD_DATA: ["notify"]}
        assert client.services.get_service("0000feee-0000-1000-8000-00805f9b34fb") is not None
        await client._backend._acquire_mtu()  # type: ignore[attr-defined]
        assert client.mtu_size == 232  # AcquireWrite on Polar's 5C51 (write-without-response)
        features = bytes(await client.read_gatt_char(PMD_CP))
        await client.start_notify(HEART_RATE_MEASUREMENT_UUID,
                                  lambda _c, d: hr_packets.append(bytes(d)))
        await pmd.subscribe()
        got = {
            "features": features,
            "ecg_settings": await pmd.ask(bytes.fromhex("0100")),
            "acc_settings": await pmd.ask(bytes.fromhex("0102")),
            "start_ecg": await pmd.ask(START_ECG),
            "start_acc": await pmd.ask(START_ACC_50_4G),
        }
        await asyncio.sleep(1.5)  # 60 virtual s
        got["stop_ecg"] = await pmd.ask(bytes.fromhex("0300"))
        got["stop_acc"] = await pmd.ask(bytes.fromhex("0302"))
        got["read_again"] = bytes(await client.read_gatt_char(PMD_CP))
        return got

    got = asyncio.run(_session(body))
    assert got["features"] == got["read_again"] == bytes.fromhex("0f0500")  # ECG + ACC
    assert got["ecg_settings"] == bytes.fromhex("f0010000" "00" "00018200" "01010e00")
    assert got["acc_settings"] == bytes.fromhex(
        "f0010200" "00" "00041900320064" "00c800" "01011000" "0203020004000800")
    for key in ("start_ecg", "start_acc", "stop_ecg", "stop_acc"):
        assert got[key][0] == 0xF0 and got[key][3] == 0x00 and len(got[key]) == 5, key
    indications = strap.events("pmd_indication")
    assert len(indications) == 6 and all(len(e["to"]) == 1 for e in indications)

    received = [_decode(bytes.fromhex(r["hex"])) for r in strap.records()
                if r.get("pmd") and r["delivered"]]
    assert received
    for stream, kind, rate, per_frame in (("ecg", 0x00, 130.52, 73), ("acc", 0x02, 50.2, 36)):
        logged = _frames_logged(strap, stream)
        assert len(logged) >= 5, stream
        decoded = [d for d in received if d[0] == kind]
        assert [d[2] for d in decoded] == [r["samples"] for r in logged]
        assert [d[1] for d in decoded] == [r["timestamp_ns"] for r in logged]
        assert {len(r["samples"]) for r in logged} == {per_frame}
        assert [r["first_index"] for r in logged] == [per_frame * i for i in range(len(logged))]
        assert logged[0]["rate_hz"] == pytest.approx(rate)
        spacing = (logged[-1]["timestamp_ns"] - logged[0]["timestamp_ns"]) / 1e9
        assert spacing == pytest.approx((len(logged) - 1) * per_frame / rate, abs=1e-6)
    # The app's own decoder (sensors.ble.pmd) reads the strap's frames sample for sample,
    # indices continuous, at the strap's real rate (arrivals here: the frames' device times).
    frames = [bytes.fromhex(r["hex"]) for r in strap.records() if r.get("pmd") and r["delivered"]]
    decoder = PmdDataDecoder({"ecg": 130, "acc": 50})
    t_first = int.from_bytes(frames[0][1:9], "little")
    chunks = [decoder.feed(f, (int.from_bytes(f[1:9], "little") - t_first) / 1e9 + 0.02)
              for f in frames]
    for stream, rate in (("ecg", 130.52), ("acc", 50.2)):
        mine = [c for c in chunks if c.stream == stream]
        rows = np.concatenate([c.samples for c in mine]).tolist()
        logged_rows = [row if isinstance(row, list) else [row]
                       for r in _frames_logged(strap, stream) for row in r["samples"]]
        assert rows == logged_rows, stream
        assert [c.first_index for c in mine] == [sum(x.n_samples for x in mine[:i])
                                                 for i in range(len(mine))]
        assert mine[-1].rate_hz == pytest.approx(rate, rel=2e-3), stream
    # the ECG's beats are the RR of the heart-rate packets sent meanwhile
    r_peaks = [t for r in _frames_logged(strap, "ecg") for t in r["r_peaks_s"]]
    rr_sent = [v for p in strap.packets(delivered=True) for v in p["rr_raw"]]
    rr_ecg = [round((b - a) * 1024) for a, b in itertools.pairwise(r_peaks)]
    assert len(rr_ecg) > 30
    text = ",".join(map(str, rr_sent))
    assert ",".join(map(str, rr_ecg)) in text
    assert len(hr_packets) >= 40


def test_every_error_response_over_the_air(pmd_strap: StrapFactory) -> None:
    strap = pmd_strap("--pmd-paired")

    async def body(pmd: Pmd) -> list[bytes]:
        await pmd.subscribe()
        # bad op code, unknown type, PPG (not on an H10), too short, no resolution, 128 Hz,
        # a stray byte, 16 G, stop what does not run
        requests = ["0400", "0111", "0101", "02", "020000018200",
                    "02000001800001010e00", "0200000182000101100000",
                    "02020001c80001011000020110" "00", "0300"]
        out = [await pmd.ask(bytes.fromhex(r)) for r in requests]
        assert await pmd.ask(START_ECG) == bytes.fromhex("f002000000")
        out.append(await pmd.ask(START_ECG))  # already started
        # the link's end stops the streams (an H10 ends its online measurements)
        assert strap.command("link-loss") == "OK link-loss"
        while pmd.client.is_connected:
            await asyncio.sleep(0.02)
        return out

    statuses = [r[3] for r in asyncio.run(_session(body))]
    assert statuses == [1, 2, 3, 4, 5, 8, 4, 9, 6, 6]
    assert len(strap.events("pmd_command")) == 11
    assert [e["streams"] for e in strap.events("pmd_stopped")] == [["ecg"]]
    assert strap.command("status").endswith(" paired=1 pmd=none")
    assert strap.command("hr 90") == "OK hr 90"  # the simulator behind the beat track


def test_not_paired_refused_then_paired_by_pair_and_auto_pair(
    pmd_strap: StrapFactory,
) -> None:
    pmd_strap()

    async def refused(pmd: Pmd) -> str:
        await pmd.subscribe()
        with pytest.raises(BleakDBusError) as err:
            await pmd.client.write_gatt_char(PMD_CP, START_ECG, response=True)
        assert bytes(await pmd.client.read_gatt_char(PMD_CP)) == bytes.fromhex("0f0500")
        return f"{err.value.dbus_error}: {err.value.dbus_error_details}"

    assert asyncio.run(_session(refused)) == "org.bluez.Error.NotPermitted: Not paired"

    async def paired(pmd: Pmd) -> bytes:
        await pmd.subscribe()
        return await pmd.ask(START_ECG)

    assert asyncio.run(_session(paired, pair=True)) == bytes.fromhex("f002000000")


def test_auto_pair_emulates_bluez(pmd_strap: StrapFactory) -> None:
    strap = pmd_strap("--pmd-auto-pair")
    changes: list[dict[str, Any]] = []

    async def body(pmd: Pmd) -> bytes:
        await pmd.subscribe()
        response = await pmd.ask(START_ECG)
        # bleak's BlueZ manager keeps the device properties from the PropertiesChanged
        manager = await get_global_bluez_manager()
        path = pmd.client._backend._device_path  # type: ignore[attr-defined]
        changes.append(dict(manager._properties[path]["org.bluez.Device1"]))
        return response

    assert asyncio.run(_session(body)) == bytes.fromhex("f002000000")
    assert changes[0]["Paired"] is True and changes[0]["Bonded"] is True
    assert strap.events("paired")[0]["auto"] is True


def test_device_initiated_stop_and_delayed_ecg(pmd_strap: StrapFactory) -> None:
    strap = pmd_strap("--pmd-paired", "--pmd-ecg-delay", "20")

    async def body(pmd: Pmd) -> bytes:
        await pmd.subscribe()
        await pmd.client.start_notify(HEART_RATE_MEASUREMENT_UUID, lambda _c, _d: None)
        assert await pmd.ask(START_ECG) == bytes.fromhex("f002000000")
        assert await pmd.ask(START_ACC_50_4G) == bytes.fromhex("f002020000")
        await asyncio.sleep(0.25)  # 10 virtual s: ACC and heart rate flow, no ECG yet
        assert strap.command("pmd-stop acc") == "OK pmd-stop acc"
        stopped = await asyncio.wait_for(pmd.indications.get(), 2.0)
        assert strap.command("pmd-stop acc") == "ERR not running"
        while not any(f[0] == 0x00 for f in pmd.frames):  # ECG: 20 virtual s after START
            await asyncio.sleep(0.05)
        return stopped

    stopped = asyncio.run(_session(body))
    assert stopped == bytes.fromhex("0102")  # ONLINE_MEASUREMENT_STOPPED, ACC
    start = next(e for e in strap.events("pmd_command") if e["request"] == START_ECG.hex())
    ecg = _frames_logged(strap, "ecg")
    assert ecg and ecg[0]["t0_s"] == pytest.approx(start["at_s"] + 20.0, abs=1e-6)
    acc = _frames_logged(strap, "acc")
    assert len([r for r in acc if r["t_last_s"] < ecg[0]["t0_s"]]) >= 5
    stop = strap.events("pmd_device_stop")[0]
    assert acc and all(r["t_last_s"] <= stop["virtual_time_s"] for r in acc)
    # the heart rate went on meanwhile, as usual
    assert [p for p in strap.packets(delivered=True) if p["virtual_time_s"] < ecg[0]["t0_s"]]
