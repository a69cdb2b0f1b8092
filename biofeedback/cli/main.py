"""The ``biofeedback`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from biofeedback.cli import analyze, app, protocols, record, replay, scan, sessions, study
from biofeedback.core.errors import BiofeedbackError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every command."""
    parser = argparse.ArgumentParser(
        prog="biofeedback",
        description="Heart-rate variability biofeedback and research.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in (app, record, replay, analyze, sessions, scan, protocols, study):
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; user errors go to standard error with exit status 1, never a traceback."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    # No command: open the window, like a desktop program.
    args = parser.parse_args(argv or ["app"])
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
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
        print(f"biofeedback {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # last resort: still no traceback for the user
        print(
            f"biofeedback {args.command}: internal error: {type(exc).__name__}: {exc}\n"
            "Please report this with the command you ran.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
