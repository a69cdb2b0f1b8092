"""Fault soak of the Bluetooth strap source, longer than the CI test; prints JSON.

Streams hours of virtual-strap time through the real bleak into a real store while a seeded
schedule injects every fault of the virtual BlueZ (link loss, silent link, bluetoothd
restart, adapter unplugged, out of range, adapter off, strap off the body, H10 flags,
stale subscriptions doubling the stream), then checks the store against the strap's packet
log (``tests/fault_soak.py``). Figures: reconnection time after each fault (wall s, median
and max), beats lost outside gaps (goal 0), RSS growth (goal < 20 MB).

    python benchmarks/fault_soak.py [--hours 8] [--speed 150] [--faults 120] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from _common import machine  # type: ignore[import-not-found]
from fault_soak import run_fault_soak  # type: ignore[import-not-found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0, help="virtual-strap hours")
    parser.add_argument("--speed", type=float, default=150.0, help="virtual s per wall s")
    parser.add_argument("--faults", type=int, default=120, help="faults to inject")
    parser.add_argument("--seed", type=int, default=0, help="schedule and simulator seed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fault-soak-") as folder:
        report = run_fault_soak(Path(folder), virtual_hours=args.hours, speed=args.speed,
                                n_faults=args.faults, seed=args.seed)
    print(json.dumps({"machine": machine(), "fault_soak": report.to_dict()}, indent=2))
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
