"""Bluetooth LE heart-rate straps (any vendor) through bleak.

:mod:`~sensors.ble.gatt` (Heart Rate, Battery and Device Information data),
:mod:`~sensors.ble.scan` (find straps by the 0x180D service),
:mod:`~sensors.ble.strap` (the strap as a heart-rate source), :mod:`~sensors.ble.errors`,
:mod:`~sensors.ble.platforms` (what differs on macOS and Windows), :mod:`~sensors.ble.pmd`
(the Polar PMD protocol: raw ECG and accelerometer).
bleak is imported only when scanning or connecting.
"""

from sensors.ble.errors import StrapError, describe_ble_error
from sensors.ble.gatt import (
    HeartRateMeasurement,
    MalformedMeasurementError,
    parse_heart_rate_measurement,
)
from sensors.ble.platforms import address_problem, platform_hint
from sensors.ble.scan import StrapAdvertisement, scan_for_straps
from sensors.ble.strap import BleHeartRateStrap

__all__ = [
    "BleHeartRateStrap",
    "HeartRateMeasurement",
    "MalformedMeasurementError",
    "StrapAdvertisement",
    "StrapError",
    "address_problem",
    "describe_ble_error",
    "parse_heart_rate_measurement",
    "platform_hint",
    "scan_for_straps",
]
