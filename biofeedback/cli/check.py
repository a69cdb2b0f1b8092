"""``biofeedback check [--repair --out FILE]``: SQLite's integrity check, and a salvage copy."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from biofeedback.cli.common import UsageError, add_data_dir
from biofeedback.store.integrity import CheckResult, check_database
from biofeedback.store.paths import database_path
from biofeedback.store.salvage import RepairResult, SessionSalvage, repair_database


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "check", help="check the session database; salvage a damaged one into a new file",
        description="Run SQLite's integrity and foreign-key checks on the session database "
        "(exit 0 when sound, 1 when damaged). With --repair, copy every readable session of a "
        "damaged database into a new file. The checked file is never modified.")
    p.add_argument("--database", metavar="FILE",
                   help="check this database file instead of the data folder's")
    p.add_argument("--repair", action="store_true",
                   help="on damage, salvage every readable row into the new file --out")
    p.add_argument("--out", metavar="FILE",
                   help="the repaired database to write (must not exist)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check, and repair when asked and needed; exit 1 when the database is damaged."""
    if args.repair != (args.out is not None):
        raise UsageError("--repair and --out FILE go together: --repair --out NEW_FILE")
    path = Path(args.database) if args.database else database_path(args.data_dir)
    result = check_database(path)
    repair: RepairResult | None = None
    if args.repair and not result.ok and result.repairable:
        repair = repair_database(path, args.out)
    if args.json:
        doc = result.to_dict()
        if args.repair:
            doc["repair"] = None if repair is None else repair.to_dict()
        print(json.dumps(doc, indent=2))
    else:
        _print_check(result, args.repair)
        if repair is not None:
            _print_repair(repair)
    return 0 if result.ok else 1


def _print_check(result: CheckResult, repairing: bool) -> None:
    if result.ok:
        print(f"ok: {result.path} (schema version {result.schema_version}): "
              f"{result.sessions:,} sessions, {result.beats:,} beats")
        if repairing:
            print("nothing to repair: no file was written")
        return
    for problem in result.problems:
        print(problem)
    if not result.repairable:
        if repairing:
            print("nothing can be salvaged from it: no file was written")
    elif not repairing:
        print("run 'biofeedback check --repair --out NEW_FILE' to salvage what it holds into "
              "a new file (this one is left as it is)")


def _print_repair(repair: RepairResult) -> None:
    print(f"salvaged from {repair.source} into {repair.out}:")
    for session in repair.sessions:
        print(_session_line(session))
    for words in repair.not_saved:
        print(f"not saved: {words}")
    print(f"{repair.summary()}; {repair.out} passed SQLite's integrity check, "
          f"{repair.source} was left as it is")


def _session_line(s: SessionSalvage) -> str:
    line = f"  session {s.id:>4}  {(s.participant or '-'):<12} {s.outcome:<6}"
    if s.outcome == "lost":
        return f"{line}  nothing readable"
    line += (f"  {s.beats_saved:,}/{s.beats_expected:,} beats, {s.markers} markers, "
             f"{s.phases} phases")
    if s.unreadable:
        line += f"; not readable: {', '.join(s.unreadable)}"
    return line
