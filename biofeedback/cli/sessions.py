"""``biofeedback sessions``: list the stored sessions."""

from __future__ import annotations

import argparse
import json

from biofeedback.cli.common import add_data_dir
from biofeedback.cli.progress import format_clock
from biofeedback.store.database import SessionStore


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser("sessions", help="list the stored sessions")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--participant", metavar="ID", help="only this participant's sessions")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the session list, newest first."""
    with SessionStore.open_for_reading(args.data_dir) as store:
        rows = store.list_sessions(args.participant)
    if args.json:
        print(json.dumps({"sessions": [r.to_dict() for r in rows]}, indent=2))
        return 0
    if not rows:
        print("no sessions yet")
        return 0
    header = f"{'id':>5}  {'participant':<12} {'source':<7} {'start (UTC)':<20} "
    header += f"{'duration':>9} {'beats':>7}  status"
    print(header)
    for r in rows:
        print(
            f"{r.id:>5}  {(r.participant_id or '-'):<12} {r.source:<7} {r.started_utc[:19]:<20} "
            f"{format_clock(r.duration_s):>9} {r.n_beats:>7}  {r.status}"
            + (f" ({r.end_reason})" if r.end_reason else "")
        )
    return 0
