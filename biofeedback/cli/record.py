"""``biofeedback record``: record a session headless."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from biofeedback.cli.common import UsageError, add_data_dir, parse_speed, positive_float
from biofeedback.cli.progress import LiveStatusPrinter
from biofeedback.core.source import HeartRateSource
from biofeedback.session.live_session import LiveSession
from biofeedback.store.database import SessionStore


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the command."""
    p = commands.add_parser(
        "record",
        help="record a session headless",
        description="Record a session from a heart-rate source into the session database. "
        "Prints the session id on standard output; Ctrl-C or SIGTERM finishes it cleanly.",
    )
    p.add_argument("--source", default="sim", help="heart-rate source: sim (simulated strap)")
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
    p.add_argument("--quiet", action="store_true", help="no live status on standard error")
    p.add_argument(
        "--no-neurokit",
        action="store_true",
        help="do not run neurokit2 on the rolling window during the recording",
    )
    add_data_dir(p)
    p.set_defaults(run=run)


def make_source(args: argparse.Namespace) -> HeartRateSource:
    """Build the source named by ``--source``."""
    if args.source == "sim":
        from sensors.simulated import SimulatedStrap

        seed = args.seed if args.seed is not None else int(time.time())
        return SimulatedStrap(seed=seed, speed=args.speed, duration_s=args.duration)
    raise UsageError(f"unknown source {args.source!r}; available: sim")


def run(args: argparse.Namespace) -> int:
    """Record until the duration is reached or a signal arrives."""
    source = make_source(args)
    with SessionStore.open(args.data_dir) as store:
        if args.speed is None:
            commit_interval = 0.05
        else:
            store.sync_every_commit(True)
            commit_interval = 0.0
        session = LiveSession(
            source,
            store=store,
            participant_id=args.participant,
            neurokit=not args.no_neurokit,
            commit_interval_s=commit_interval,
        )
        printer = None if args.quiet else LiveStatusPrinter(sys.stderr)
        if printer is not None:
            session.subscribe(printer)
        started = time.perf_counter()
        stats = asyncio.run(_record(session, args.duration))
        wall = time.perf_counter() - started
    if printer is not None:
        printer.summary(session, wall)
    return 0 if stats.final_state != "failed" else 1


async def _record(session: LiveSession, duration_s: float | None) -> object:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, session.request_stop)
    announced = False

    def announce(_: object) -> None:
        nonlocal announced
        if not announced and session.session_id is not None:
            announced = True
            print(session.session_id, flush=True)

    session.subscribe(announce)
    task = asyncio.ensure_future(session.run(duration_s=duration_s))
    # Print the id as soon as the session exists, even before the first beat.
    while session.session_id is None and not task.done():
        await asyncio.sleep(0)
    announce(None)
    return await task
