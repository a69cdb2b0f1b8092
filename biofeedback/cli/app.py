"""``biofeedback app``: open the window (also what ``biofeedback`` with no command does)."""

from __future__ import annotations

import argparse
from pathlib import Path

from biofeedback.cli.common import add_data_dir, parse_speed, positive_float


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "app",
        help="open the biofeedback window",
        description="Open the window. With --source the session starts at once; otherwise "
        "choose the source, protocol and participant in the session panel.",
    )
    p.add_argument(
        "--source",
        help="start at once with: sim (simulated strap), ble (strongest Bluetooth strap), "
        "ble:ADDRESS, or replay:SESSION_ID_OR_FILE",
    )
    p.add_argument("--protocol", metavar="ID", help="protocol to run (see 'biofeedback protocols')")
    p.add_argument("--participant", metavar="ID", help="pseudonymous participant id")
    p.add_argument("--study", metavar="NAME", help="record as the participant's next condition")
    p.add_argument(
        "--speed", type=parse_speed, default=1.0,
        help="simulated strap / replay speed: multiple of real time or 'max' (default 1)",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated strap")
    p.add_argument("--no-record", action="store_true", help="do not store the session")
    p.add_argument(
        "--simulated-participant", action="store_true",
        help="let a simulated participant answer self-reports and the stressor task",
    )
    p.add_argument("--no-neurokit", action="store_true", help="no neurokit2 during sessions")
    p.add_argument("--lsl", action="store_true",
                   help="publish RR, HR, lnRMSSD and markers as Lab Streaming Layer streams")
    p.add_argument(
        "--participant-screen", type=display_number, nargs="?", const=AUTO_DISPLAY,
        metavar="N",
        help="open the participant screen (guidance, pacer, task and questions; no physiology) "
        "full screen on display N, numbered from 1 (default: the first display that is not "
        "the window's, or the only one)",
    )
    p.add_argument(
        "--screenshot", type=Path, metavar="PATH",
        help="save a PNG of the window after --quit-after seconds (and of the participant "
        "screen as NAME.participant.png beside it)",
    )
    p.add_argument(
        "--quit-after", type=positive_float, metavar="S",
        help="close the window after S seconds of wall time (finishing the session)",
    )
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Open the window (Qt is imported only here, so the other commands never load it)."""
    from biofeedback.cli.common import UsageError, check_source
    from biofeedback.session.launch import SessionRequest

    if args.screenshot is not None and args.quit_after is None:
        raise UsageError("--screenshot needs --quit-after S")
    request = None
    if args.source is not None:
        check_source(args.source)
        request = SessionRequest(
            source=args.source, protocol_id=args.protocol, participant_id=args.participant,
            study=args.study, speed=args.speed, record=not args.no_record, seed=args.seed,
            simulated_participant=args.simulated_participant, lsl=args.lsl,
        )
    elif args.protocol or args.study:
        raise UsageError("--protocol and --study need --source (or choose them in the window)")
    _check_display()
    from biofeedback.ui.launch import WindowOptions, run_window

    display = args.participant_screen
    return run_window(WindowOptions(
        request=request, data_dir=args.data_dir, screenshot=args.screenshot,
        quit_after_s=args.quit_after, neurokit=not args.no_neurokit,
        participant_screen=display is not None,
        participant_display=None if display in (None, AUTO_DISPLAY) else display,
    ))


AUTO_DISPLAY = 0
"""``--participant-screen`` without N: the first display that is not the window's."""


def display_number(text: str) -> int:
    """A display number for ``--participant-screen``: a whole number from 1."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a display number: {text!r} (displays are numbered from 1)"
        ) from None
    if number < 1:
        raise argparse.ArgumentTypeError(
            f"not a display number: {text!r} (displays are numbered from 1)"
        )
    return number


def _check_display() -> None:
    """Refuse in words where Qt would abort: Linux without X11 or Wayland and no platform."""
    import os
    import sys

    from biofeedback.cli.common import UsageError

    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not os.environ.get("DISPLAY")
        and not os.environ.get("WAYLAND_DISPLAY")
    ):
        raise UsageError(
            "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "record headless with 'biofeedback record', or set QT_QPA_PLATFORM=offscreen "
            "(with --screenshot PATH --quit-after S) to draw without a screen"
        )
