"""Find heart-rate straps: every device that advertises the Heart Rate service (0x180D).

Never filter on vendor names (docs/domain.md section 1): any strap that follows the standard works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sensors.ble.errors import describe_ble_error
from sensors.ble.gatt import HEART_RATE_SERVICE_UUID


@dataclass(frozen=True, slots=True)
class StrapAdvertisement:
    """A strap seen while scanning.

    Attributes
    ----------
    name : str or None
        Advertised name (may be missing).
    address : str
        Bluetooth address (on macOS a per-machine UUID).
    rssi : int or None
        Signal strength, dBm (higher is closer).
    """

    name: str | None
    address: str
    rssi: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"name": self.name, "address": self.address, "rssi": self.rssi}


async def scan_for_straps(timeout_s: float = 5.0) -> list[StrapAdvertisement]:
    """Scan for ``timeout_s`` seconds; every device advertising 0x180D, strongest first.

    Raises
    ------
    StrapError
        Adapter off or missing, no permission, a scan already running (``InProgress``)...
    """
    from bleak import BleakScanner

    try:
        found = await BleakScanner.discover(
            timeout=timeout_s, return_adv=True, service_uuids=[HEART_RATE_SERVICE_UUID]
        )
    except Exception as exc:  # any backend error, translated for the user and re-raised
        raise describe_ble_error(exc, "scanning for straps") from exc
    straps = [
        StrapAdvertisement(adv.local_name or device.name, device.address, adv.rssi)
        for device, adv in found.values()
        if HEART_RATE_SERVICE_UUID in {u.lower() for u in adv.service_uuids}
    ]
    return sorted(straps, key=lambda s: -(s.rssi if s.rssi is not None else -1000))
