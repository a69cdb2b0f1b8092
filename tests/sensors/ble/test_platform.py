"""macOS and Windows Bluetooth differences, every branch run here on Linux: the address forms,
the advice appended to the errors only those stacks raise (real bleak exception objects, as
bleak 3.1 words them), and the command line refusing an address of the wrong form."""

from __future__ import annotations

import sys

import pytest
from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
    BleakDeviceNotFoundError,
    BleakError,
)

from biofeedback.cli.main import main
from sensors.ble.errors import StrapError, describe_ble_error
from sensors.ble.platforms import address_problem, platform_hint

MAC = "A0:9E:1A:AB:C1:23"
UUID = "243E23AE-4A99-406C-B317-18F1BD7B4CBE"
UNREACHABLE = BleakError("Could not get GATT services: Unreachable")
# bleak's winrt/util.py, with the suffix it adds when pythoncom is loaded.
STA = BleakError(
    "Thread is configured for Windows GUI but callbacks are not working. Suspect unwanted "
    "side effects from importing 'pythoncom'."
)
DENIED_REASONS = [
    BleakBluetoothNotAvailableReason.DENIED_BY_USER,
    BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM,
    BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN,
]
PRIVACY = "System Settings → Privacy & Security → Bluetooth"


def denied(reason: BleakBluetoothNotAvailableReason) -> BleakBluetoothNotAvailableError:
    # The CoreBluetooth backend's own words for a denied permission.
    return BleakBluetoothNotAvailableError(
        "Bluetooth access is denied by the user for the current application. Check macOS "
        "privacy settings.",
        reason,
    )


# --- address_problem ---------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["linux", "win32"])
@pytest.mark.parametrize("address", [MAC, MAC.lower(), f"  {MAC} "])
def test_a_mac_address_fits_linux_and_windows(platform, address):
    assert address_problem(address, platform) is None


@pytest.mark.parametrize("address", [UUID, UUID.lower()])
def test_a_uuid_fits_macos(address):
    assert address_problem(address, "darwin") is None


def test_a_mac_address_on_macos_says_the_mac_uses_its_own_uuid():
    problem = address_problem(MAC, "darwin")
    assert problem is not None
    assert problem.startswith(f"{MAC} is a Bluetooth MAC address, which macOS never shows")
    assert "UUID that is different on every Mac" in problem
    assert "run 'biofeedback scan' on this computer" in problem


@pytest.mark.parametrize("platform", ["linux", "win32"])
def test_a_uuid_elsewhere_says_it_is_a_macos_id(platform):
    problem = address_problem(UUID, platform)
    assert problem is not None
    assert problem.startswith(f"{UUID} is a macOS device id")
    assert "only the Mac that found the strap knows" in problem
    assert f"like {MAC}" in problem and "run 'biofeedback scan' on this computer" in problem


@pytest.mark.parametrize("address", ["", "polar", "A0:9E:1A:AB:C1", "A0-9E-1A-AB-C1-23",
                                     "A0:9E:1A:AB:C1:2G", f"{UUID}0", "243E23AE4A99406C"])
@pytest.mark.parametrize(
    ("platform", "expected"),
    [("linux", f"six pairs of hexadecimal digits like {MAC}"),
     ("win32", f"six pairs of hexadecimal digits like {MAC}"),
     ("darwin", f"a UUID like {UUID}")],
)
def test_anything_else_is_not_a_bluetooth_address(address, platform, expected):
    problem = address_problem(address, platform)
    assert problem == (
        f"{address.strip()!r} is not a Bluetooth address (expected {expected}); "
        "run 'biofeedback scan' on this computer and use the address it lists"
    )


# --- platform_hint -----------------------------------------------------------------------


def test_windows_unreachable_advises_removing_the_strap():
    assert platform_hint(UNREACHABLE, "win32") == (
        "Windows could not read the strap's services (Unreachable): remove the strap in "
        "Settings → Bluetooth & devices, switch Bluetooth off and on, and try again"
    )
    # The same status on a characteristic or a write, not only on the services.
    read = BleakError("Could not read characteristic handle 12: Unreachable")
    assert "Unreachable" in (platform_hint(read, "win32") or "")


def test_windows_thread_check_says_the_thread_setup_is_wrong():
    hint = platform_hint(STA, "win32")
    assert hint is not None
    assert hint.startswith("Windows delivers no Bluetooth callbacks to this thread")
    assert "pythoncom" in hint and "not in the strap" in hint
    without_pythoncom = BleakError(
        "Thread is configured for Windows GUI but callbacks are not working."
    )
    assert platform_hint(without_pythoncom, "win32") == hint


@pytest.mark.parametrize("reason", DENIED_REASONS)
def test_macos_denied_permission_points_at_privacy_settings(reason):
    assert platform_hint(denied(reason), "darwin") == (
        f"allow Bluetooth for this terminal or app in {PRIVACY}"
    )


@pytest.mark.parametrize(
    "reason",
    [BleakBluetoothNotAvailableReason.POWERED_OFF, BleakBluetoothNotAvailableReason.NO_BLUETOOTH,
     BleakBluetoothNotAvailableReason.UNKNOWN],
)
def test_macos_bluetooth_off_or_missing_is_not_a_permission(reason):
    error = BleakBluetoothNotAvailableError("Bluetooth device is turned off", reason)
    assert platform_hint(error, "darwin") is None


def test_macos_device_not_found_by_a_mac_address_explains_the_uuid():
    hint = platform_hint(BleakDeviceNotFoundError(MAC, f"Device with address {MAC} was not "
                                                       "found"), "darwin")
    assert hint == address_problem(MAC, "darwin")
    assert platform_hint(BleakDeviceNotFoundError(UUID), "darwin") is None


@pytest.mark.parametrize(
    ("exc", "platform"),
    [
        # Each stack's advice belongs to that stack only.
        (UNREACHABLE, "linux"), (UNREACHABLE, "darwin"),
        (STA, "linux"), (STA, "darwin"),
        (denied(BleakBluetoothNotAvailableReason.DENIED_BY_USER), "win32"),
        # BlueZ refuses a D-Bus connection as DENIED_BY_SYSTEM: the D-Bus advice covers it.
        (BleakBluetoothNotAvailableError("auth failed",
                                         BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM),
         "linux"),
        (BleakDeviceNotFoundError(MAC), "linux"), (BleakDeviceNotFoundError(MAC), "win32"),
        (BleakError("Could not get GATT services: Access Denied"), "win32"),
        (BleakDBusError("org.bluez.Error.InProgress", []), "linux"),
        # Not bleak's: an OS error that happens to say "unreachable" gets no Windows advice.
        (OSError(10065, "A socket operation was attempted to an Unreachable host"), "win32"),
        (TimeoutError(), "win32"), (TimeoutError(), "darwin"),
    ],
)
def test_no_hint_where_the_platform_has_nothing_to_add(exc, platform):
    assert platform_hint(exc, platform) is None


# --- describe_ble_error ------------------------------------------------------------------


def test_describe_appends_the_windows_hint():
    error = describe_ble_error(UNREACHABLE, "connecting to strap X", platform="win32")
    assert isinstance(error, StrapError) and error.__cause__ is UNREACHABLE
    assert str(error) == (
        "connecting to strap X: Could not get GATT services: Unreachable; Windows could not "
        "read the strap's services (Unreachable): remove the strap in Settings → Bluetooth & "
        "devices, switch Bluetooth off and on, and try again"
    )


def test_describe_appends_the_macos_permission_hint():
    error = describe_ble_error(
        denied(BleakBluetoothNotAvailableReason.DENIED_BY_USER), "scanning", platform="darwin"
    )
    assert str(error) == (
        "scanning: Bluetooth is not available (denied by user): Bluetooth access is denied by "
        "the user for the current application. Check macOS privacy settings.; allow Bluetooth "
        f"for this terminal or app in {PRIVACY}"
    )


def test_describe_appends_the_macos_address_hint():
    error = describe_ble_error(BleakDeviceNotFoundError(MAC), "connecting", platform="darwin")
    assert str(error).startswith(f"connecting: no strap with address {MAC} is in range")
    assert str(error).endswith(f"; {address_problem(MAC, 'darwin')}")


def test_describe_adds_nothing_on_linux():
    error = describe_ble_error(UNREACHABLE, "connecting to strap X", platform="linux")
    assert str(error) == "connecting to strap X: Could not get GATT services: Unreachable"


def test_describe_defaults_to_this_computer():
    assert str(describe_ble_error(STA, "scanning")) == str(
        describe_ble_error(STA, "scanning", platform=sys.platform)
    )


# --- the command line --------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.skipif(sys.platform == "darwin", reason="a UUID is the right form on macOS")
@pytest.mark.parametrize("command", ["record", "app"])
def test_cli_refuses_a_macos_uuid_before_scanning(data_dir, capsys, monkeypatch, command):
    def no_scan(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the address must be refused before any Bluetooth is used")

    monkeypatch.setattr("bleak.BleakScanner.find_device_by_address", no_scan)
    code, out, err = run_cli(capsys, command, "--source", f"ble:{UUID}")
    assert code == 1 and out == ""  # as for any other source that names no strap
    assert err == f"biofeedback {command}: error: {address_problem(UUID)}\n"
    assert not data_dir.exists()  # no session database was opened


def test_cli_refuses_what_is_not_an_address(data_dir, capsys):
    code, _, err = run_cli(capsys, "record", "--source", "ble:polar h10")
    assert code == 1
    assert "'polar h10' is not a Bluetooth address" in err and "Traceback" not in err
