"""``biofeedback import``: store another tool's RR recording as a session."""

from __future__ import annotations

import argparse
import json

from biofeedback.cli.common import UsageError, add_data_dir
from biofeedback.io.importers import FORMATS


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "import",
        help="import an RR recording from another tool as a session",
        description="Import Kubios RR text, HRV Logger, Elite HRV, Polar Sensor Logger, Polar "
        "Flow HRV or a generic CSV/TSV of RR intervals or beat times. The format is detected "
        "unless --format is given; a bad file is refused with its line and creates nothing.",
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--format", choices=FORMATS, help="force the format (default: detect)")
    p.add_argument("--column", metavar="NAME",
                   help="column of RR intervals or beat times (csv format)")
    p.add_argument("--participant", metavar="ID", help="pseudonymous participant id")
    p.add_argument("--protocol", metavar="ID", help="protocol id to record with the session")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Read the file, store it in one transaction and print the session id."""
    from biofeedback.io.importers import detect_format, read_import
    from biofeedback.store.database import SessionStore

    fmt = getattr(args, "format", None)
    column = getattr(args, "column", None)
    if column is not None:
        fmt = fmt or detect_format(args.file)
        if fmt != "csv":
            raise UsageError(f"--column applies to the csv format, not {fmt!r}")
    imported = read_import(args.file, fmt, column=column)
    with SessionStore.open(args.data_dir) as store:
        session_id = store.import_recording(
            imported.recording,
            source="import",
            participant_id=args.participant,
            protocol_id=args.protocol,
            settings=imported.settings(),
        )
    if args.json:
        print(json.dumps({
            "session_id": session_id,
            "format": imported.format,
            "original_file": imported.original_name,
            "beats": imported.recording.n_beats,
            "markers": len(imported.markers),
            "start_time": imported.start_time,
        }, indent=2))
    else:
        print(session_id)
    return 0
