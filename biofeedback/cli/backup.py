"""``biofeedback backup`` and ``biofeedback restore``: the whole database into one verified
file, and such a file back into an empty data folder."""

from __future__ import annotations

import argparse
import json

from biofeedback.cli.common import add_data_dir
from biofeedback.store.backup import backup_database, restore_database
from biofeedback.store.paths import database_path, resolve_data_dir


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register both commands."""
    p = commands.add_parser(
        "backup", help="copy every session into one verified file (safe while recording)",
        description="Copy the session database into FILE with SQLite's online backup (a "
        "recording may go on meanwhile), then verify the copy before reporting it done.",
    )
    p.add_argument("--out", metavar="FILE", required=True, help="the backup file to write")
    p.add_argument("--force", action="store_true",
                   help="replace FILE if it exists (once the new backup is verified)")
    p.add_argument("--json", action="store_true", help="print what was backed up as JSON")
    add_data_dir(p)
    p.set_defaults(run=run_backup)

    p = commands.add_parser(
        "restore", help="restore a backup into an empty data folder",
        description="Verify a backup file, then copy it into the data folder, which must hold "
        "no sessions (a folder with sessions is refused and left unchanged).",
    )
    p.add_argument("file", metavar="FILE", help="a file written by 'biofeedback backup'")
    p.add_argument("--json", action="store_true", help="print what was restored as JSON")
    add_data_dir(p)
    p.set_defaults(run=run_restore)


def run_backup(args: argparse.Namespace) -> int:
    """Back the data folder's database up into ``--out``."""
    result = backup_database(database_path(args.data_dir), args.out, overwrite=args.force)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(
            f"Backed up {_count(result.sessions, 'session')} ({_count(result.beats, 'beat')}, "
            f"{result.bytes / 1e6:.1f} MB) to {result.path} in {result.seconds:.1f} s "
            "(verified)")
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore FILE into the data folder."""
    result = restore_database(args.file, resolve_data_dir(args.data_dir))
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(
            f"Restored {_count(result.sessions, 'session')} ({_count(result.beats, 'beat')}) "
            f"from {result.backup} into {result.path}")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
