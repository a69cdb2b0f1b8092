"""Power loss, longer than the CI test: many seeded SIGKILLs; prints JSON.

Kills a recording, an import, an export, a migration and a study simulation (forked from one
process that imported the program once) and real ``python -m biofeedback`` processes at
seeded random moments, and checks after each kill that the database is intact, every
acknowledged notification is there, no half-written export or import is visible and the next
run works (``tests/power_loss.py``). Figures: kills per kind, kills survived, failures (goal
none), seconds.

    python benchmarks/power_loss.py [--kills 2000] [--cli-kills 30] [--seed 0]
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
from power_loss import run_power_loss  # type: ignore[import-not-found]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=2000, help="fork-server kills")
    parser.add_argument("--cli-kills", type=int, default=30, help="CLI processes killed")
    parser.add_argument("--seed", type=int, default=0, help="seed of the kill moments")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="power-loss-") as folder:
        report = run_power_loss(Path(folder), kills=args.kills, cli_kills=args.cli_kills,
                                seed=args.seed)
    print(json.dumps({"machine": machine(), "power_loss": report.to_dict()}, indent=2))
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
