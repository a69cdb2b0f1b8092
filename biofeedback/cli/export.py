"""``biofeedback export``: a session (CSV, Kubios RR text, BIDS, EDF+) or a study (BIDS)."""

from __future__ import annotations

import argparse

from biofeedback.cli.common import UsageError, add_data_dir, session_id


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "export",
        help="export a session or a study for other tools",
        description="Export a stored session as CSV (every beat, plus a markers CSV beside "
        "it), Kubios RR text, a BIDS dataset folder or EDF+ (HR and RR at 4 Hz, phases and "
        "markers as annotations); or every session of a study as one BIDS dataset. Prints "
        "the paths written.",
    )
    p.add_argument("session", metavar="SESSION_ID", nargs="?", type=session_id, default=None,
                   help="session to export (or --study)")
    p.add_argument("--study", metavar="NAME", help="export every session of a study (BIDS)")
    p.add_argument("--format", required=True, choices=("csv", "kubios", "bids", "edf"),
                   help="export format")
    p.add_argument("--out", required=True, metavar="PATH",
                   help="file to write (csv, kubios, edf) or dataset folder to create (bids)")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Export and print the paths written."""
    from biofeedback.export.stored import export_session, export_study
    from biofeedback.store.database import SessionStore

    if (args.session is None) == (args.study is None):
        raise UsageError("Give either a SESSION_ID or --study NAME (not both).")
    if args.study is not None and args.format != "bids":
        raise UsageError("A study is exported as one BIDS dataset: use --format bids.")
    with SessionStore.open_for_reading(args.data_dir) as store:
        if args.study is not None:
            paths = [export_study(store, args.study, args.out)]
        else:
            paths = export_session(store, args.session, args.format, args.out)
    for path in paths:
        print(path)
    return 0
