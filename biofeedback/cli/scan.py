"""``biofeedback scan``: list the heart-rate straps in range."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from biofeedback.cli.common import positive_float


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "scan",
        help="list Bluetooth heart-rate straps in range",
        description="List every device advertising the Heart Rate service (0x180D), "
        "strongest signal first. Use an address with 'record --source ble:ADDRESS'.",
    )
    p.add_argument(
        "--timeout", type=positive_float, default=5.0, metavar="S",
        help="how long to scan, s (default 5)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Scan and print."""
    from sensors.ble.scan import scan_for_straps

    straps = asyncio.run(scan_for_straps(args.timeout))
    if args.json:
        print(json.dumps({"straps": [s.to_dict() for s in straps]}, indent=2))
        return 0
    if not straps:
        print(
            f"no heart-rate strap found in {args.timeout:g} s: is it worn with moist electrodes, "
            "in range, and not connected to another app?",
            file=sys.stderr,
        )
        return 1
    print(f"{'address':<20} {'RSSI':>5}  name")
    for s in straps:
        rssi = "?" if s.rssi is None else str(s.rssi)
        print(f"{s.address:<20} {rssi:>5}  {s.name or '(no name)'}")
    return 0
