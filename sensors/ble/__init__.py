"""Bluetooth LE heart-rate straps (any vendor) through bleak.

:mod:`~sensors.ble.gatt` (Heart Rate, Battery and Device Information data),
:mod:`~sensors.ble.scan` (find straps by the 0x180D service),
:mod:`~sensors.ble.strap` (the strap as a heart-rate source), :mod:`~sensors.ble.errors`.
bleak is imported only when scanning or connecting.
"""

from sensors.ble.errors import StrapError, describe_ble_error
from sensors.ble.gatt import (
    HeartRateMeasurement,
    MalformedMeasurementError,
    parse_heart_rate_measurement,
)
from sensors.ble.scan import StrapAdvertisement, scan_for_straps
from sensors.ble.strap import BleHeartRateStrap

__all__ = [
    "BleHeartRateStrap",
    "HeartRateMeasurement",
    "MalformedMeasurementError",
    "StrapAdvertisement",
    "StrapError",
    "describe_ble_error",
    "parse_heart_rate_measurement",
    "scan_for_straps",
]
