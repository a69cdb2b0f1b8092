"""The ``biofeedback`` command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from biofeedback.core.errors import BiofeedbackError


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every command (or only the command ``only``: the window
    starts faster without importing every other command's modules)."""
    parser = argparse.ArgumentParser(
        prog="biofeedback",
        description="Heart-rate variability biofeedback and research.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    from biofeedback.cli import app

    modules: list[ModuleType] = [app]
    if only != "app":
        from biofeedback.cli import (
            analyze,
            compare,
            export,
            import_cmd,
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
            record, replay, analyze, compare, report, sessions, scan, protocols, study,
            simulate_study, import_cmd, export,
        ]
    for module in modules:
        module.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; user errors go to standard error with exit status 1, never a traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # No command: open the window, like a desktop program.
    argv = argv or ["app"]
    parser = build_parser("app" if argv[0] == "app" else None)
    args = parser.parse_args(argv)
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
