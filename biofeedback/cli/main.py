"""The ``biofeedback`` command line."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from biofeedback.cli.common import ArgumentParser
from biofeedback.cli.log import LOG_LEVEL_ENV, LOG_LEVELS, configure_logging, resolve_log_level
from biofeedback.core.errors import BiofeedbackError
from biofeedback.store.faults import store_error
from biofeedback.store.paths import database_path

logger = logging.getLogger(__name__)


def _log_level_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="biofeedback", add_help=False, allow_abbrev=False)
    _add_log_level(parser)
    return parser


def _add_log_level(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-level",
        metavar="LEVEL",
        default=None,
        help=f"log to standard error from this level on: {', '.join(LOG_LEVELS)} "
        f"(default: ${LOG_LEVEL_ENV}, else WARNING); DEBUG shows swallowed errors and bleak's "
        "Bluetooth log. Accepted before or after the command.",
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every command (or only the command ``only``: the window
    starts faster without importing every other command's modules)."""
    parser = ArgumentParser(
        prog="biofeedback",
        description="Heart-rate variability biofeedback and research.",
    )
    _add_log_level(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from biofeedback.cli import app

    modules: list[ModuleType] = [app]
    if only != "app":
        from biofeedback.cli import (
            analyze,
            backup,
            check,
            compare,
            export,
            import_cmd,
            plot,
            protocols,
            record,
            replay,
            report,
            scan,
            sessions,
            simulate_study,
            study,
        )

        modules += [
            record, replay, analyze, compare, report, plot, sessions, scan, protocols, study,
            simulate_study, import_cmd, export, backup, check,
        ]
    for module in modules:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; user errors go to standard error with exit status 1, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # --log-level is global but may follow the command, so it is taken out before the command
    # parser sees the arguments (and before argv[0] picks the window's fast path below).
    log_options, argv = _log_level_parser().parse_known_args(argv)
    try:
        configure_logging(resolve_log_level(log_options.log_level, os.environ))
    except ValueError as exc:
        print(f"biofeedback: error: {exc}", file=sys.stderr)
        return 2
    # No command: open the window, like a desktop program.
    argv = argv or ["app"]
    parser = build_parser("app" if argv[0] == "app" else None)
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    logger.debug("command %s, arguments %s", args.command, argv[1:])
    try:
        return int(args.run(args))
    except BiofeedbackError as exc:
        print(f"biofeedback {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:
        print(f"biofeedback {args.command}: error: {describe_os_error(exc)}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:  # the store translates its own; this is a safety net
        logger.debug("SQLite error in %r", args.command, exc_info=exc)
        error = store_error(exc, database_path(getattr(args, "data_dir", None)), "use")
        print(f"biofeedback {args.command}: error: {error}", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: still no traceback for the user
        logger.debug("internal error in %r", args.command, exc_info=exc)
        print(
            f"biofeedback {args.command}: internal error: {type(exc).__name__}: {exc}\n"
            "Please report this with the command you ran.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())


def describe_os_error(exc: OSError) -> str:
    """A sentence for a failed file operation: which file, what happened, what to do."""
    name = exc.filename if exc.filename is not None else "a file"
    if exc.errno == errno.ENOSPC:
        folder = Path(exc.filename).parent if exc.filename is not None else "the output"
        return (f"the disk holding {folder} is full: {name} was not written (nothing "
                "half-written was left); free space on it and try again")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return (f"cannot write {name}: {exc.strerror} (a read-only disk, or no write "
                "permission); choose another place")
    return f"{name}: {exc.strerror or exc}" if exc.filename is not None else str(exc)
