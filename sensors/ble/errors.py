"""Bluetooth failures in words a user can act on.

bleak raises a handful of exception types and BlueZ names its errors on D-Bus; every one of
them becomes a :class:`StrapError` whose message says what happened and what to try. Errors
only the macOS or Windows stack raises get that platform's advice appended
(:func:`~sensors.ble.platforms.platform_hint`).
"""

from __future__ import annotations

import sys

from biofeedback.core.errors import BiofeedbackError
from sensors.ble.platforms import platform_hint


class StrapError(BiofeedbackError):
    """A Bluetooth problem, described for the user."""


_DBUS_ERRORS = {
    "org.bluez.Error.InProgress": (
        "another Bluetooth scan is already running on this adapter (BlueZ allows one per "
        "connection); wait for it to finish or close the other program"
    ),
    "org.bluez.Error.NotReady": "the Bluetooth adapter is not ready (powered off?)",
    "org.bluez.Error.NotPermitted": "the strap did not allow this operation",
    "org.bluez.Error.NotAuthorized": "not authorised to use Bluetooth (check permissions)",
    "org.bluez.Error.NotConnected": "the strap is not connected",
    "org.bluez.Error.AlreadyConnected": "the strap is already connected",
    "org.bluez.Error.DoesNotExist": "the strap is no longer known to the adapter",
    "org.freedesktop.DBus.Error.ServiceUnknown": (
        "the Bluetooth service (BlueZ) is not running; start it with "
        "'systemctl start bluetooth'"
    ),
    "org.freedesktop.DBus.Error.AccessDenied": (
        "not allowed to use Bluetooth (on Linux, add yourself to the 'bluetooth' group)"
    ),
    "org.freedesktop.DBus.Error.NoReply": "the Bluetooth service did not answer in time",
}


def describe_ble_error(
    exc: BaseException, action: str, *, platform: str = sys.platform
) -> StrapError:
    """Turn a bleak, D-Bus, OS or timeout error into a :class:`StrapError`.

    Parameters
    ----------
    exc : BaseException
        What was raised.
    action : str
        What was being done, e.g. ``"scanning"`` or ``"connecting to A0:9E:1A:AB:C1:23"``.
    platform : str, optional
        A :data:`sys.platform` value (this computer's by default): whose stack raised
        ``exc``, for the advice only that stack's errors need.

    Returns
    -------
    StrapError
        An error whose message starts with the action, then the cause, then the platform's
        advice if there is any. A :class:`StrapError` is returned unchanged.
    """
    from bleak.exc import (
        BleakBluetoothNotAvailableError,
        BleakCharacteristicNotFoundError,
        BleakDBusError,
        BleakDeviceNotFoundError,
        BleakError,
    )

    if isinstance(exc, StrapError):
        return exc
    if isinstance(exc, BleakBluetoothNotAvailableError):
        reason = exc.reason.name.lower().replace("_", " ")
        # str(exc) is the repr of its args tuple (message, reason enum): keep the sentence.
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        cause = f"Bluetooth is not available ({reason}): {message}"
    elif isinstance(exc, BleakDBusError):
        known = _DBUS_ERRORS.get(exc.dbus_error)
        detail = exc.dbus_error_details
        cause = known or f"Bluetooth error {exc.dbus_error}"
        if detail and not known:
            cause += f": {detail}"
    elif isinstance(exc, BleakDeviceNotFoundError):
        cause = (
            f"no strap with address {exc.identifier} is in range: is it worn with moist "
            "electrodes, and not connected to another app?"
        )
    elif isinstance(exc, BleakCharacteristicNotFoundError):
        cause = f"the device does not offer the heart-rate measurement ({exc})"
    elif isinstance(exc, TimeoutError):
        cause = "the strap did not answer in time (out of range, or its battery is flat?)"
    elif isinstance(exc, BleakError):
        cause = str(exc) or type(exc).__name__
    elif isinstance(exc, OSError):
        cause = f"system error: {exc.strerror or exc}"
    else:
        cause = f"{type(exc).__name__}: {exc}"
    hint = platform_hint(exc, platform)
    if hint:
        cause += f"; {hint}"
    error = StrapError(f"{action}: {cause}")
    error.__cause__ = exc
    return error
