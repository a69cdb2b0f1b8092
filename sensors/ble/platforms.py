"""What differs between the operating systems' Bluetooth stacks, said as advice.

The project can only run BlueZ (Linux) here, so each function takes the platform as an
argument (a :data:`sys.platform` value, which is the default) and every macOS and Windows
branch is unit-tested on Linux (``tests/sensors/ble/test_platform.py``). bleak is imported
only when an exception is examined. docs/straps.md ("Platform notes") says what each branch
is for and where the behaviour is documented.
"""

from __future__ import annotations

import re
import sys

__all__ = ["address_problem", "platform_hint"]

_MAC = re.compile(r"[0-9A-F]{2}(?::[0-9A-F]{2}){5}", re.IGNORECASE)
_UUID = re.compile(r"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}", re.IGNORECASE)

_MAC_EXAMPLE = "A0:9E:1A:AB:C1:23"
_UUID_EXAMPLE = "243E23AE-4A99-406C-B317-18F1BD7B4CBE"
_SCAN_HERE = "run 'biofeedback scan' on this computer and use the address it lists"

# WinRT's GattCommunicationStatus.UNREACHABLE, as bleak words it ("<what>: Unreachable").
_WINDOWS_UNREACHABLE = "Unreachable"
_WINDOWS_STA = "Thread is configured for Windows GUI but callbacks are not working"


def _names_devices_by_uuid(platform: str) -> bool:
    # CoreBluetooth hides the MAC and hands out a UUID of its own; every other stack bleak
    # drives (BlueZ, WinRT, Android) names a device by its Bluetooth address.
    return platform == "darwin"


def address_problem(address: str, platform: str = sys.platform) -> str | None:
    """Why ``address`` cannot name a strap on ``platform``, or None if its form fits.

    Parameters
    ----------
    address : str
        The address as typed after ``ble:`` (surrounding spaces are ignored).
    platform : str, optional
        A :data:`sys.platform` value; this computer's by default.

    Returns
    -------
    str or None
        A sentence saying what is wrong and what to do: a MAC address on macOS (which names
        devices by a UUID of its own, different on every Mac), a macOS UUID elsewhere, or
        something that is neither. None when the form fits the platform; whether a strap of
        that address is in range shows only when looking for it.
    """
    address = address.strip()
    is_mac = _MAC.fullmatch(address) is not None
    is_uuid = _UUID.fullmatch(address) is not None
    if _names_devices_by_uuid(platform):
        if is_uuid:
            return None
        if is_mac:
            return (
                f"{address} is a Bluetooth MAC address, which macOS never shows: it names each "
                f"device by a UUID that is different on every Mac (like {_UUID_EXAMPLE}); "
                f"{_SCAN_HERE}"
            )
        expected = f"a UUID like {_UUID_EXAMPLE}"
    else:
        if is_mac:
            return None
        if is_uuid:
            return (
                f"{address} is a macOS device id (a UUID only the Mac that found the strap "
                f"knows), not a Bluetooth address; here straps are named by their address "
                f"(like {_MAC_EXAMPLE}): {_SCAN_HERE}"
            )
        expected = f"six pairs of hexadecimal digits like {_MAC_EXAMPLE}"
    return f"{address!r} is not a Bluetooth address (expected {expected}); {_SCAN_HERE}"


def platform_hint(exc: BaseException, platform: str = sys.platform) -> str | None:
    """Advice to add to a Bluetooth error that only this platform's stack raises.

    Parameters
    ----------
    exc : BaseException
        What bleak (or the stack under it) raised.
    platform : str, optional
        A :data:`sys.platform` value; this computer's by default.

    Returns
    -------
    str or None
        What to try, for: Windows' "Unreachable" GATT status; Windows' threading check
        ("Thread is configured for Windows GUI but callbacks are not working"); Bluetooth
        permission denied on macOS; a MAC address not found on macOS. None for anything else
        (the error's own words are then all there is to say).
    """
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakBluetoothNotAvailableReason,
        BleakDeviceNotFoundError,
        BleakError,
    )

    if not isinstance(exc, BleakError):
        return None
    if platform == "win32":
        message = str(exc)
        if _WINDOWS_STA in message:
            return (
                "Windows delivers no Bluetooth callbacks to this thread: it was set up for a "
                "window (single-threaded apartment) but no Windows message loop runs on it, "
                "often because a package imported pywin32's pythoncom. This is a fault in how "
                "the program set up its threads, not in the strap: please report it with the "
                "command you ran"
            )
        if _WINDOWS_UNREACHABLE in message:
            return (
                "Windows could not read the strap's services (Unreachable): remove the strap "
                "in Settings → Bluetooth & devices, switch Bluetooth off and on, and try again"
            )
    elif platform == "darwin":
        denied = {
            BleakBluetoothNotAvailableReason.DENIED_BY_USER,
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
            BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN,
        }
        if isinstance(exc, BleakBluetoothNotAvailableError) and exc.reason in denied:
            return (
                "allow Bluetooth for this terminal or app in System Settings → Privacy & "
                "Security → Bluetooth"
            )
        if isinstance(exc, BleakDeviceNotFoundError):
            # A MAC saved on Linux or Windows can never be found by CoreBluetooth.
            return address_problem(exc.identifier, platform)
    return None
