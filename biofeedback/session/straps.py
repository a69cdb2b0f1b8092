"""Finding a strap to connect to, for whoever offers the choice (the window's source box).

The scan itself is :func:`sensors.ble.scan.scan_for_straps`; it is reached through here so
that the window depends on the session layer, never on a concrete source package.
"""

from __future__ import annotations

from sensors.ble.errors import StrapError
from sensors.ble.scan import StrapAdvertisement, scan_for_straps

__all__ = ["StrapAdvertisement", "StrapError", "scan_for_straps"]
