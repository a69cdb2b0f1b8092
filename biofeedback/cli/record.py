"""``biofeedback record``: record a session headless."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
from typing import Any

from biofeedback.cli.common import UsageError, add_data_dir, parse_speed, positive_float
from biofeedback.cli.progress import LiveStatusPrinter
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.source import HeartRateSource
from biofeedback.core.types import SourceState
from biofeedback.session.live_session import LiveSession, SessionStats
from biofeedback.session.protocol_session import PROTOCOL_COMPLETED
from biofeedback.store.database import SessionStore
from protocols.model import PracticeProtocol


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
    p.add_argument("--quiet", action="store_true", help="no live status on standard error")
    p.add_argument(
        "--no-neurokit",
        action="store_true",
        help="do not run neurokit2 on the rolling window during the recording",
    )
    add_data_dir(p)
    p.set_defaults(run=run)


def make_source(
    args: argparse.Namespace, protocol: PracticeProtocol | None = None
) -> HeartRateSource:
    """Build the source named by ``--source``: ``sim`` or ``ble[:ADDRESS]``.

    With a protocol, the simulated strap's breathing and vagal tone follow its phases.
    """
    kind, _, address = args.source.partition(":")
    if kind == "sim" and not address:
        from sensors.simulated import SimulatedStrap

        seed = args.seed if args.seed is not None else int(time.time())
        schedule = None
        duration = args.duration
        if protocol is not None:
            from protocols.simulation import physiology_schedule

            schedule = physiology_schedule(protocol)
            duration = duration or protocol.duration_s + 2.0
        return SimulatedStrap(seed=seed, speed=args.speed, duration_s=duration, schedule=schedule)
    if kind == "ble":
        from sensors.ble import BleHeartRateStrap

        return BleHeartRateStrap(
            address or None,
            scan_timeout_s=args.scan_timeout,
            give_up_after_s=args.reconnect_timeout,
        )
    raise UsageError(f"unknown source {args.source!r}; available: sim, ble, ble:ADDRESS")


def resolve_protocol(
    args: argparse.Namespace, store: SessionStore
) -> tuple[PracticeProtocol | None, dict[str, Any] | None]:
    """The protocol to run, and the study placement of the session (``--study``).

    Nothing is written here: the participant is enrolled only once the protocol and the
    source are known to be usable, so a typo never takes up an order of the design.
    """
    from protocols.library import get_protocol

    if args.study is None:
        return (get_protocol(args.protocol) if args.protocol else None), None
    from biofeedback.store.studies import get_study

    if args.participant is None:
        raise UsageError("--study needs --participant (the study gives that participant's order)")
    study = get_study(store, args.study)
    enrolment = study.enrolment(args.participant)
    order = tuple(enrolment.condition_order) if enrolment else tuple(study.next_order)
    if args.protocol == "practice_comparison":
        # Both practices in one session, in the participant's counterbalanced order.
        spec, position = "practice_comparison:" + ",".join(order), 0
    else:
        done = completed_positions(store, args.study, args.participant)
        position = next((i for i in range(len(order)) if i not in done), None)
        if position is None:
            raise UsageError(
                f"participant {args.participant} has done all {len(order)} conditions of study "
                f"{args.study!r}"
            )
        spec = order[position]
        if args.protocol is not None and args.protocol != spec:
            raise UsageError(
                f"participant {args.participant}'s next condition in study {args.study!r} is "
                f"{spec!r} (order {' -> '.join(order)}), not {args.protocol!r}"
            )
    placement = {"study": args.study, "position": position, "order": list(order)}
    return get_protocol(spec), placement


def completed_positions(store: SessionStore, study: str, participant: str) -> set[int]:
    """Positions of the participant's conditions whose protocol ran to its end; an aborted
    session does not count, so that condition can be recorded again."""
    from biofeedback.store.studies import study_sessions

    done = set()
    for placed in study_sessions(store, study):
        if placed.participant_id != participant:
            continue
        info = store.session_info(placed.session_id)
        markers = store.load_recording(placed.session_id).markers
        if info.status == "complete" and any(m.label == PROTOCOL_COMPLETED for m in markers):
            done.add(placed.condition_position)
    return done


def run(args: argparse.Namespace) -> int:
    """Record until the duration is reached, the protocol ends, or a signal arrives."""
    with SessionStore.open(args.data_dir) as store:
        protocol, placement = resolve_protocol(args, store)
        source = make_source(args, protocol)
        if placement is not None:
            from biofeedback.store.studies import enrol

            enrol(store, args.study, args.participant)
        if args.speed is None:
            commit_interval = 0.05
        else:
            store.sync_every_commit(True)
            commit_interval = 0.0
        settings: dict[str, Any] = {}
        if protocol is not None:
            settings["protocol"] = protocol_summary(protocol)
        if placement is not None:
            settings["study"] = placement
        session = LiveSession(
            source,
            store=store,
            participant_id=args.participant,
            protocol_id=None if protocol is None else protocol.id,
            neurokit=not args.no_neurokit,
            commit_interval_s=commit_interval,
            settings=settings,
        )
        printer = None if args.quiet else LiveStatusPrinter(sys.stderr)
        if printer is not None:
            session.subscribe(printer)
        if protocol is not None:
            from biofeedback.session.protocol_session import ProtocolSession

            runner = ProtocolSession(
                session, protocol, simulated_participant=source.kind == "sim",
                seed=args.seed or 0,
            )
            if printer is not None:
                runner.runner.subscribe(printer.protocol_event)
        if placement is not None:
            _place_in_study(session, store, args, placement)
        started = time.perf_counter()
        stats = asyncio.run(_record(session, args.duration))
        wall = time.perf_counter() - started
    if printer is not None and session.session_id is not None:
        printer.summary(session, wall)
    if stats.final_state == SourceState.FAILED:
        raise SourceFailedError(stats.final_message)
    return 0


def _place_in_study(
    session: LiveSession, store: SessionStore, args: argparse.Namespace, placement: dict[str, Any]
) -> None:
    """Record the session's study, order and position as soon as the session exists."""
    from biofeedback.store.studies import record_session_in_study

    def place(_: object) -> None:
        if session.session_id is not None and not placed:
            placed.append(True)
            record_session_in_study(
                store, session.session_id, args.study, args.participant, placement["position"]
            )

    placed: list[bool] = []
    session.subscribe(place)


def protocol_summary(protocol: PracticeProtocol) -> dict[str, Any]:
    """What is stored with a session about the protocol it ran."""
    return {
        "id": protocol.id,
        "name": protocol.name,
        "category": str(protocol.category),
        "phases": [
            {"id": p.id, "kind": str(p.kind), "duration_s": p.duration_s, "practice": p.practice,
             "category": None if p.category is None else str(p.category),
             "pacer_bpm": None if p.pacer is None else p.pacer.breaths_per_min}
            for p in protocol.phases
        ],
        "sources": list(protocol.sources),
    }


async def _record(session: LiveSession, duration_s: float | None) -> SessionStats:
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
    return await session.run(duration_s=duration_s)
