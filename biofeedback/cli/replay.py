"""``biofeedback replay``: run a stored session or RR file through the live pipeline."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import signal
import sys
import time

from biofeedback.cli.common import add_data_dir, load_target, parse_speed
from biofeedback.cli.progress import LiveStatusPrinter
from biofeedback.core.signals import SignalChunk
from biofeedback.session.launch import PreparedSession, SessionRequest, prepare_session
from biofeedback.session.live_session import LiveSession, SessionEvent, SessionStats


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "replay",
        help="replay a session or RR file through the live pipeline",
        description="Replay a stored session (by id) or a recording file (any format "
        "biofeedback import reads) through the live "
        "pipeline (artifact detection, live indices, neurokit2) and print a summary.",
    )
    p.add_argument("target", metavar="SESSION_ID|FILE")
    p.add_argument(
        "--headless", action="store_true", help="no window: print a summary (default: the window)"
    )
    p.add_argument(
        "--speed", type=parse_speed, default=None, help="multiple of real time, or 'max' (default)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--no-neurokit", action="store_true", help="skip neurokit2 on the window")
    p.add_argument("--quiet", action="store_true", help="no live status on standard error")
    add_data_dir(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Replay and summarise."""
    request = SessionRequest(source=f"replay:{args.target}", speed=args.speed, record=False)
    if not args.headless:
        from biofeedback.ui.launch import WindowOptions, run_window

        # Validate here so a wrong target is a one-line error, not an empty window.
        load_target(args.target, args.data_dir, signals=())
        return run_window(WindowOptions(request=request, data_dir=args.data_dir,
                                  neurokit=not args.no_neurokit))
    printer = () if args.quiet or args.json else (LiveStatusPrinter(sys.stderr),)
    samples = _SampleCounter()
    prepared = prepare_session(request, args.data_dir, neurokit=not args.no_neurokit,
                               subscribers=(*printer, samples))
    started = time.perf_counter()
    stats = asyncio.run(_replay(prepared))
    wall = time.perf_counter() - started
    name = "" if prepared.replayed is None else prepared.replayed.name
    summary = replay_summary(name, stats, prepared.session, wall)
    summary["signals"] = dict(samples.counts)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(summary)
    return 0


class _SampleCounter:
    """Counts the raw samples the replay delivered, per stream (``{"ecg": n, "acc": n}``)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def __call__(self, event: SessionEvent) -> None:
        if isinstance(event, SignalChunk):
            self.counts[event.stream] = self.counts.get(event.stream, 0) + event.n_samples


async def _replay(prepared: PreparedSession) -> SessionStats:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, prepared.stop)
    return await prepared.run()


def replay_summary(
    name: str, stats: SessionStats, session: LiveSession, wall_s: float
) -> dict[str, object]:
    """Summary of a replay: totals, the final live indices and the last neurokit2 result."""
    span = (stats.last_beat_s or 0.0) - (stats.first_beat_s or 0.0)
    return {
        "replayed": name,
        **stats.to_dict(),
        "session_time_s": round(span, 3),
        "wall_time_s": round(wall_s, 3),
        "speedup": round(span / wall_s, 1) if wall_s > 0 else None,
        "final_indices": session.indices().to_dict() if stats.n_beats else None,
        "neurokit": None
        if session.latest_neurokit is None
        else dataclasses.asdict(session.latest_neurokit),
    }


def _print_summary(summary: dict[str, object]) -> None:
    print(f"replayed {summary['replayed']}")
    for key in ("n_beats", "session_time_s", "wall_time_s", "speedup", "n_gaps", "artifact_pct"):
        print(f"  {key:<16} {summary[key]}")
    signals = summary.get("signals")
    if isinstance(signals, dict) and signals:
        print("  raw samples      " + ", ".join(f"{n} {stream.upper()}"
                                               for stream, n in sorted(signals.items())))
    indices = summary.get("final_indices")
    if isinstance(indices, dict):
        print("  final live indices:")
        for key, value in indices.items():
            shown = "not enough data" if value is None else (
                f"{value:.3f}" if isinstance(value, float) else value
            )
            print(f"    {key:<20} {shown}")
