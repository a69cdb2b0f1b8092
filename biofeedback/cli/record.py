"""``biofeedback record``: record a session headless."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from pathlib import Path

from biofeedback.audio.settings import DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM
from biofeedback.cli.common import (
    UsageError,
    add_data_dir,
    check_source,
    parse_speed,
    positive_float,
)
from biofeedback.cli.progress import LiveStatusPrinter
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import SourceState
from biofeedback.session.launch import (
    PreparedSession,
    SessionRequest,
    parse_source_spec,
    prepare_session,
)
from biofeedback.session.live_session import SessionStats


class SourceFailedError(BiofeedbackError):
    """The source stopped with an error (the message is the source's own words)."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "record",
        help="record a session headless",
        description="Record a session from a heart-rate source into the session database. "
        "Prints the session id on standard output; Ctrl-C or SIGTERM finishes it cleanly.",
    )
    p.add_argument(
        "--source",
        default="sim",
        help="heart-rate source: sim (simulated strap), ble (the strongest Bluetooth strap) or "
        "ble:ADDRESS",
    )
    p.add_argument("--seed", type=int, default=None, help="seed of the simulated strap")
    p.add_argument(
        "--speed",
        type=parse_speed,
        default=1.0,
        help="simulated strap speed: multiple of real time, or 'max' (default 1)",
    )
    p.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        metavar="S",
        help="session time to record, s (default: until stopped)",
    )
    p.add_argument("--participant", metavar="ID", help="pseudonymous participant id")
    p.add_argument(
        "--protocol", metavar="ID",
        help="run a protocol (see 'biofeedback protocols'); e.g. resonance_breathing, "
        "stress_reactivity:soothing_touch, practice_comparison:A,B",
    )
    p.add_argument(
        "--study", metavar="NAME",
        help="record as the participant's next condition of a study (with --participant)",
    )
    p.add_argument(
        "--scan-timeout", type=positive_float, default=10.0, metavar="S",
        help="Bluetooth: how long to look for the strap, s (default 10)",
    )
    p.add_argument(
        "--reconnect-timeout", type=positive_float, default=120.0, metavar="S",
        help="Bluetooth: after a link loss, how long to keep reconnecting, s (default 120)",
    )
    p.add_argument(
        "--no-ecg", action="store_true",
        help="Bluetooth: heart rate and RR only, without the raw ECG and accelerometer a "
        "Polar H10 offers (less radio traffic and storage)",
    )
    p.add_argument("--quiet", action="store_true", help="no live status on standard error")
    p.add_argument(
        "--lsl", action="store_true",
        help="publish RR, HR, lnRMSSD and markers as Lab Streaming Layer streams",
    )
    p.add_argument(
        "--lsl-markers-from", metavar="NAME",
        help="record the markers of the Lab Streaming Layer stream NAME (e.g. a stimulus "
        "program) as external markers",
    )
    p.add_argument(
        "--audio-out", metavar="FILE.wav",
        help="render the protocol's audio guidance (chimes, speech, recordings, audio pacer), "
        "on the session clock, to this WAV file: exactly what would be played (works at "
        "--speed max; the audio cues are stored as markers of kind audio)",
    )
    p.add_argument(
        "--voice", metavar="V",
        help="text-to-speech voice of the spoken guidance (default: the engine's; espeak-ng "
        "lists them with 'espeak-ng --voices')",
    )
    p.add_argument(
        "--speech-rate", type=speech_rate, default=DEFAULT_RATE_WPM, metavar="WPM",
        help=f"speaking rate, words/min (default {DEFAULT_RATE_WPM})",
    )
    p.add_argument(
        "--no-neurokit",
        action="store_true",
        help="do not run neurokit2 on the rolling window during the recording",
    )
    add_data_dir(p)
    p.set_defaults(run=run)


def speech_rate(text: str) -> int:
    """``--speech-rate``: whole words per minute within what the engines accept."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of words/min") \
            from None
    if not MIN_RATE_WPM <= value <= MAX_RATE_WPM:
        raise argparse.ArgumentTypeError(
            f"{value} words/min is out of range ({MIN_RATE_WPM}-{MAX_RATE_WPM})")
    return value


def audio_out_path(text: str | None, protocol: str | None) -> str | None:
    """Check ``--audio-out``: a .wav name in an existing folder, with a protocol to play."""
    if text is None:
        return None
    if protocol is None:
        raise UsageError("--audio-out needs a --protocol (free practice plays no audio)")
    path = Path(text)
    if path.suffix.lower() != ".wav":
        raise UsageError(f"--audio-out {text!r}: the file name must end in .wav")
    if not path.parent.is_dir():
        raise UsageError(f"--audio-out {text!r}: folder {str(path.parent)!r} does not exist")
    return str(path)


def run(args: argparse.Namespace) -> int:
    """Record until the duration is reached, the protocol ends, or a signal arrives."""
    check_source(args.source)
    audio_out = audio_out_path(args.audio_out, args.protocol or args.study)
    request = SessionRequest(
        source=args.source, protocol_id=args.protocol, participant_id=args.participant,
        study=args.study, speed=args.speed, seed=args.seed, lsl=args.lsl,
        duration_s=args.duration,
        # Headless nothing plays: the audio is built only to be rendered to a file.
        audio=audio_out is not None, audio_out=audio_out, voice=args.voice,
        speech_rate_wpm=args.speech_rate,
        # Headless, nobody may be there to answer self-reports: a simulated strap gets a
        # simulated participant too; a real wearer answers for themself.
        simulated_participant=parse_source_spec(args.source)[0] == "sim",
    )
    printer = None if args.quiet else LiveStatusPrinter(sys.stderr)
    prepared = prepare_session(
        request, args.data_dir, neurokit=not args.no_neurokit,
        scan_timeout_s=args.scan_timeout, reconnect_timeout_s=args.reconnect_timeout,
        raw_signals=not args.no_ecg, subscribers=() if printer is None else (printer,),
    )
    if printer is not None and prepared.protocol_session is not None:
        prepared.protocol_session.runner.subscribe(printer.protocol_event)
    started = time.perf_counter()
    try:
        if args.lsl:
            prepared.start_lsl()
        stats = asyncio.run(_record(prepared, args.lsl_markers_from))
    finally:
        prepared.close()
    wall = time.perf_counter() - started
    session = prepared.session
    if printer is not None and session.session_id is not None:
        printer.summary(session, wall)
    if stats.final_state == SourceState.FAILED:
        raise SourceFailedError(stats.final_message)
    return 0


async def _record(prepared: PreparedSession, lsl_markers_from: str | None = None) -> SessionStats:
    session = prepared.session
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, session.request_stop)
    announced = False

    def announce(_: object) -> None:
        # The id exists once the source streams; print it then, for scripts to pick up.
        nonlocal announced
        if not announced and session.session_id is not None:
            announced = True
            print(session.session_id, flush=True)

    session.subscribe(announce)
    inlet = None
    if lsl_markers_from:
        from biofeedback.lsl import LslMarkerInlet

        inlet = LslMarkerInlet(session, lsl_markers_from)
        await inlet.start()  # LslStreamNotFoundError is a BiofeedbackError: a one-line exit
    try:
        return await prepared.run()
    finally:
        if inlet is not None:
            inlet.close()
