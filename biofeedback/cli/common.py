"""Pieces every command shares: the data folder option and "session id or file" arguments."""

from __future__ import annotations

import argparse
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from biofeedback.core.errors import BiofeedbackError

if TYPE_CHECKING:
    from biofeedback.core.recording import Recording


class UsageError(BiofeedbackError):
    """The command line asks for something that cannot be done."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, keeping an option's value ``--`` given as ``--opt=--``.

    Python 3.11's argparse drops that ``--`` and hands the command an empty list where it
    expects a string (fixed in later Pythons, which keep the ``--``). Subcommand parsers are
    made of the same class. An argument holding a NUL byte (which no shell can pass, but a
    program calling ``main(argv)`` can) is a usage error: no file name or id holds one."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        for arg in args or ():
            if "\x00" in arg:
                self.error(f"argument {arg!r} holds a NUL byte")
        return super().parse_known_args(args, namespace)

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        if action.option_strings and action.nargs is None and arg_strings == ["--"]:
            value = self._get_value(action, "--")
            self._check_value(action, value)
            return value
        return super()._get_values(action, arg_strings)


def session_id(text: str) -> int:
    """A stored session id argument: a whole number from 1 to
    :data:`~biofeedback.session.launch.MAX_SESSION_ID` (a larger one would reach SQLite as an
    integer it cannot hold)."""
    from biofeedback.session.launch import MAX_SESSION_ID

    try:
        value = int(text) if text.strip().isascii() else None
    except ValueError:
        value = None
    if value is None:
        raise argparse.ArgumentTypeError(f"a session id is a whole number, not {text!r}")
    if not 1 <= value <= MAX_SESSION_ID:
        raise argparse.ArgumentTypeError(
            f"a session id is a whole number from 1 to {MAX_SESSION_ID}, not {text!r}"
        )
    return value


def add_data_dir(parser: argparse.ArgumentParser) -> None:
    """Add ``--data-dir`` (overrides ``$BIOFEEDBACK_DATA_DIR`` and the user data folder)."""
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the session database (default: $BIOFEEDBACK_DATA_DIR, else the user "
        "data folder)",
    )


def positive_float(text: str) -> float:
    """A strictly positive, finite float argument."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive, not {text!r}")
    return value


def parse_speed(text: str) -> float | None:
    """``"max"`` -> None, else a positive multiple of real time."""
    if text == "max":
        return None
    try:
        return positive_float(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"speed {exc} (or 'max')") from None


def check_source(spec: str) -> None:
    """Refuse a ``--source`` before anything is opened or scanned for.

    Parameters
    ----------
    spec : str
        The ``--source`` value.

    Raises
    ------
    SourceSpecError
        A spec that names no source, or a ``ble:ADDRESS`` whose address cannot name a strap
        on this computer (a MAC address on macOS, a macOS UUID elsewhere, or neither); the
        message says what to use instead.
    """
    from biofeedback.session.launch import SourceSpecError, parse_source_spec

    kind, target = parse_source_spec(spec)
    if kind == "ble" and target:
        # Caught here, a Linux address copied to a Mac (or the reverse) is one clear sentence
        # instead of a scan that can only time out.
        from sensors.ble.platforms import address_problem

        problem = address_problem(target)
        if problem is not None:
            raise SourceSpecError(problem)


def load_target(target: str, data_dir: str | None, *,
                signals: Collection[str] | None = None) -> Recording:
    """Read ``SESSION_ID|FILE``: an existing file is read with the importers (any format),
    a whole number as a stored session id; with the raw streams ``signals`` (None: all,
    see :func:`~biofeedback.session.launch.load_replay_target`)."""
    from biofeedback.session.launch import load_replay_target

    return load_replay_target(target, data_dir, signals=signals)
