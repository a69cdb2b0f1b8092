"""``python -m sensors.virtual``: a private D-Bus with a fake BlueZ and one heart-rate strap.

Exit status: 0 after SIGTERM/SIGINT, 2 for bad arguments or a refused bus (the real system
bus), 1 when the private ``dbus-daemon`` cannot start.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import sys
from types import FrameType

# The command line is the one place of the virtual strap that reads a file format: the
# strap's sources themselves receive a Recording (sensors never parse files).
from biofeedback.io.importers import read_import
from sensors.ble.gatt import BODY_SENSOR_LOCATIONS
from sensors.virtual.daemon import PrivateBus, SystemBusRefusedError, refuse_system_bus
from sensors.virtual.gatt import StrapInfo
from sensors.virtual.packet_log import PacketLog
from sensors.virtual.pmd_device import PmdOptions
from sensors.virtual.rr_source import FileRRSource, RRSource, SimulatedRRSource
from sensors.virtual.service import StrapOptions, serve

_ADDRESS = re.compile(r"^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$")


def _body_location(text: str) -> int:
    by_name = {name: code for code, name in BODY_SENSOR_LOCATIONS.items()}
    if text.lower() in by_name:
        return by_name[text.lower()]
    if text.isdigit() and 0 <= int(text) <= 255:
        return int(text)
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected one of {', '.join(by_name)} or a code 0-255"
    )


def _address(text: str) -> str:
    if not _ADDRESS.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a Bluetooth address AA:BB:CC:DD:EE:FF")
    return text.upper()


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be positive")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _rate_error(text: str) -> float:
    value = float(text)
    if not -0.05 <= value <= 0.05:
        raise argparse.ArgumentTypeError(f"rate error {text} outside -0.05..0.05")
    return value


def _mtu(text: str) -> int:
    value = int(text)
    if not 23 <= value <= 517:
        raise argparse.ArgumentTypeError(f"MTU {text} outside 23-517")
    return value


def _streams(text: str) -> frozenset[str]:
    """``ecg``, ``acc``, ``ecg,acc`` or ``none``."""
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    if names == {"none"}:
        return frozenset()
    unknown = sorted(names - {"ecg", "acc"})
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected ecg, acc, ecg,acc or none")
    return frozenset(names)


def _stream(text: str) -> str:
    if text.lower() not in ("ecg", "acc"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected ecg or acc")
    return text.lower()


def _battery(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"battery {text} must be 0-100")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser."""
    p = argparse.ArgumentParser(
        prog="python -m sensors.virtual",
        description="Virtual BlueZ with one virtual heart-rate strap on a private D-Bus. "
        "Prints DBUS_SYSTEM_BUS_ADDRESS=... and READY, then takes commands on stdin, one "
        "per line: link-loss; zombie (link up, silent); restart-bluez [MS] (bluetoothd "
        "crashes, back after MS ms with fresh objects); unplug-adapter [MS] / plug-adapter "
        "(hci0 removed without Connected=false); off-body / on-body (HR 0, no RR, garbled "
        "RR, the strap hangs up after 45 virtual s); h10-flags on|off (flags 0x10, no "
        "contact support); late-gatt MS (ServicesResolved MS ms before the GATT objects); "
        "power off|on; gone; back; contact off|on; hr BPM; pmd-stop ecg|acc (the strap "
        "ends a PMD stream itself); hr-silent on|off (no 0x2A37 while PMD goes on, until "
        "the link drops); packets; status. "
        "SIGUSR1 = link loss; SIGTERM = clean exit.",
    )
    src = p.add_mutually_exclusive_group()
    src.add_argument("--rr-file", help="RR file to play, any format biofeedback import reads "
                     "(default: the simulator)")
    src.add_argument("--seed", type=int, default=0, help="simulator seed (default 0)")
    p.add_argument("--speed", type=_positive, default=1.0,
                   help="virtual seconds per wall second; one packet per 1/SPEED s (default 1)")
    p.add_argument("--name", default="Virtual HRM", help="advertised name")
    p.add_argument("--address", type=_address, default="A0:9E:1A:00:00:01",
                   help="the strap's Bluetooth address")
    p.add_argument("--packet-log", help="JSON-lines log of every packet and event")
    p.add_argument("--battery", type=_battery, default=87, help="battery level, percent")
    p.add_argument("--body-location", type=_body_location, default=1,
                   help="Body Sensor Location: chest, wrist, ... or a code (default chest)")
    p.add_argument("--firmware", default="1.0.0", help="firmware revision string")
    p.add_argument("--serial", default="VHRM-0001", help="serial number string")
    p.add_argument("--rssi", type=int, default=-60, help="mean RSSI, dBm")
    p.add_argument("--connect-timeout", type=_positive, default=20.0,
                   help="seconds a Connect to an absent strap is held before "
                   "org.bluez.Error.Failed le-connection-abort-by-local (default 20, as BlueZ)")
    p.add_argument("--relink-delay", type=_positive, default=0.5,
                   help="seconds of silence after a link loss before advertising again")
    p.add_argument("--connected-at-start", action="store_true",
                   help="the strap is already connected (a crashed app left the link up): "
                   "it does not advertise")
    p.add_argument("--late-gatt", type=float, default=0.0, metavar="MS",
                   help="send ServicesResolved=true MS ms before the GATT objects")
    p.add_argument("--h10-flags", action="store_true",
                   help="flags 0x10 as a Polar H10: no skin-contact support")
    p.add_argument("--pmd", action="store_true",
                   help="speak Polar PMD as an H10: ECG 130 Hz and ACC 25-200 Hz synthesised "
                   "from the RR sent (off by default: other straps have no PMD)")
    p.add_argument("--pmd-ecg-delay", type=_non_negative, default=0.0, metavar="S",
                   help="virtual seconds from START ECG to its first sample (an H10 often "
                   "takes ~30; default 0)")
    p.add_argument("--pmd-rate-error", type=_rate_error, default=0.0, metavar="F",
                   help="fraction the real sample rates are off, e.g. 0.004 = ECG 130.52 Hz")
    p.add_argument("--pmd-mtu", type=_mtu, default=232,
                   help="ATT MTU; frames hold what fits (73 ECG samples at 232, the default)")
    p.add_argument("--pmd-paired", action="store_true",
                   help="the strap is already paired (otherwise control-point writes are "
                   "refused with NotPermitted 'Not paired')")
    p.add_argument("--pmd-auto-pair", action="store_true",
                   help="emulate BlueZ pairing on the first refused write (Paired, Bonded)")
    p.add_argument("--pmd-pair-fails", action="store_true",
                   help="Device1.Pair fails with org.bluez.Error.AuthenticationFailed "
                   "(the strap stays unpaired)")
    p.add_argument("--pmd-features", type=_streams, default=frozenset({"ecg", "acc"}),
                   metavar="ecg,acc|ecg|acc|none",
                   help="streams the feature read offers (default ecg,acc as an H10); "
                   "commands about the others are answered NOT_SUPPORTED")
    p.add_argument("--pmd-refuse", type=_stream, action="append", default=[],
                   metavar="ecg|acc",
                   help="answer START of this stream, valid settings and all, with "
                   "INVALID_MTU (10) as H10s sometimes do (polar-ble-sdk#222); repeatable")
    p.add_argument("--breathing", type=_positive, metavar="PER_MIN",
                   help="fixed breathing rate of the synthetic ECG/ACC (default: the "
                   "simulator's own, the one its RSA follows; 12/min for --rr-file)")
    p.add_argument("--movement-rate", type=_non_negative, default=0.5, metavar="PER_MIN",
                   help="mean movement artifacts per minute in the ACC (default 0.5)")
    p.add_argument("--bus", help="use this existing private bus instead of starting a "
                   "dbus-daemon (the system bus is refused)")
    return p


def _terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM before the event loop runs: unwind through the clean-up code."""
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    """Run the virtual strap; see the module notes for exit statuses."""
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    if args.bus is not None:
        try:
            refuse_system_bus(args.bus)
        except SystemBusRefusedError as exc:
            print(f"virtual-bluez: {exc}", file=sys.stderr)
            return 2
    try:
        source: RRSource = (
            FileRRSource(read_import(args.rr_file).recording) if args.rr_file
            else SimulatedRRSource(args.seed)
        )
    except (OSError, ValueError) as exc:
        print(f"virtual-bluez: {exc}", file=sys.stderr)
        return 2
    opts = StrapOptions(
        address=args.address,
        name=args.name,
        speed=args.speed,
        info=StrapInfo(
            body_location=args.body_location,
            battery_percent=args.battery,
            model="Virtual HRM",
            serial=args.serial,
            firmware=args.firmware,
            manufacturer="biofeedback",
        ),
        connect_timeout_s=args.connect_timeout,
        relink_delay_s=args.relink_delay,
        rssi_dbm=args.rssi,
        seed=args.seed,
        connected_at_start=args.connected_at_start,
        late_gatt_s=max(args.late_gatt, 0.0) / 1000.0,
        h10_flags=args.h10_flags,
        pmd=PmdOptions(
            ecg_delay_s=args.pmd_ecg_delay,
            rate_error=args.pmd_rate_error,
            mtu=args.pmd_mtu,
            auto_pair=args.pmd_auto_pair,
            paired=args.pmd_paired,
            features=args.pmd_features,
            refuse=frozenset(args.pmd_refuse),
            pair_fails=args.pmd_pair_fails,
        ) if args.pmd else None,
        breathing_per_min=args.breathing,
        movement_per_min=args.movement_rate,
    )
    daemon: PrivateBus | None = None
    log = PacketLog(args.packet_log)
    try:
        if args.bus is not None:
            address = args.bus
        else:
            daemon = PrivateBus()
            try:
                address = daemon.start()
            except RuntimeError as exc:
                print(f"virtual-bluez: {exc}", file=sys.stderr)
                return 1
        asyncio.run(serve(address, source, log, opts))
    except SystemBusRefusedError as exc:
        print(f"virtual-bluez: {exc}", file=sys.stderr)
        return 2
    except (RuntimeError, OSError) as exc:
        print(f"virtual-bluez: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.close()
        if daemon is not None:
            daemon.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
