"""``biofeedback import``: store other tools' recordings (files, folders, zips) as sessions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from biofeedback.cli.common import UsageError, add_data_dir, positive_float
from biofeedback.io.importers import FORMATS

GENERIC_FORMAT = "csv"
"""The format ``--column`` applies to (a generic CSV/TSV of RR intervals or beat times)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "import",
        help="import RR or ECG recordings from other tools as sessions",
        description="Import recordings of other tools and devices (RR, PPI or ECG; see "
        "docs/formats.md): files, folders (searched recursively) and zip archives, one "
        "session per recording. The format is detected unless --format is given. Each "
        "recording is stored in one transaction: a bad file is refused with its line and "
        "leaves nothing behind, and the others still import. Exit status 0 when every file "
        "was imported, 1 when any was refused (the summary is printed either way).",
    )
    p.add_argument("paths", metavar="PATH", nargs="+",
                   help="recording file, folder or zip archive")
    p.add_argument("--format", choices=FORMATS, help="force the format (default: detect)")
    p.add_argument("--column", metavar="NAME",
                   help=f"column of RR intervals or beat times ({GENERIC_FORMAT} format)")
    p.add_argument("--sampling-rate", metavar="HZ", type=positive_float, dest="sampling_rate",
                   help="sampling rate of a single-column ECG file, Hz")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--participant", metavar="ID",
                     help="pseudonymous participant id for every recording")
    who.add_argument("--participant-from-name", metavar="REGEX",
                     help="regular expression giving each file's participant from its name "
                     "(group 'participant', else the first group, else the whole match); a "
                     "file it does not match is refused")
    p.add_argument("--protocol", metavar="ID", help="protocol id to record with the sessions")
    p.add_argument("--json", action="store_true",
                   help="print the summary as JSON: {imported: [...], refused: [...]}")
    p.add_argument("--progress-json", action="store_true",
                   help="progress as one JSON object per line on standard error")
    add_data_dir(p)
    p.set_defaults(run=run)


def _check_column(args: argparse.Namespace) -> None:
    from biofeedback.io.importers import detect_format

    if args.column is None:
        return
    if args.format is not None:
        if args.format != GENERIC_FORMAT:
            raise UsageError(f"--column applies to the {GENERIC_FORMAT} format, "
                             f"not {args.format!r}")
        return
    for path in args.paths:
        if Path(path).is_file() and Path(path).suffix.lower() != ".zip":
            fmt = detect_format(path)
            if fmt != GENERIC_FORMAT:
                raise UsageError(f"--column applies to the {GENERIC_FORMAT} format, not "
                                 f"{fmt!r} ({path})")


class ProgressPrinter:
    """``progress(done, total, file)`` printing ``import: 3/12 name`` or a JSON line.

    Parameters
    ----------
    stream : text stream
        Standard error (standard output carries the summary).
    as_json : bool
        One JSON object per line (``{"done", "total", "file"}``) for the window.
    """

    def __init__(self, stream: TextIO, as_json: bool) -> None:
        self.stream = stream
        self.as_json = as_json

    def __call__(self, done: int, total: int, file: str) -> None:
        if self.as_json:
            line = json.dumps({"done": done, "total": total, "file": file})
        elif total > 1:
            line = f"import: {done}/{total} {file}"
        else:
            return  # one file: the summary says it all
        print(line, file=self.stream, flush=True)


def run(args: argparse.Namespace) -> int:
    """Import every recording, print the summary; 0 when all imported, else 1."""
    from biofeedback.importing import import_paths, render_table
    from biofeedback.store.database import SessionStore

    if any(not str(path).strip() for path in args.paths):
        # An unset shell variable ('import "$FOLDER"'), not the current folder.
        raise UsageError("a PATH is empty; give a recording file, folder or zip archive")
    _check_column(args)
    progress = ProgressPrinter(sys.stderr, args.progress_json)
    with SessionStore.open(args.data_dir, verify=True) as store:
        try:
            summary = import_paths(
                store, args.paths,
                participant_id=args.participant,
                participant_from_name=args.participant_from_name,
                protocol_id=args.protocol,
                format=args.format,
                column=args.column,
                sampling_rate_hz=args.sampling_rate,
                progress=progress,
            )
        except ValueError as exc:  # a bad regular expression
            raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        print(render_table(summary))
    if not summary.imported and not summary.refused:
        print("biofeedback import: no recording files found in "
              f"{', '.join(map(str, args.paths))}", file=sys.stderr)
    return 0 if summary.ok else 1
