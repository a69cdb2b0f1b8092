"""Setting a session up: its source, its protocol, and its place in a study.

Shared by ``biofeedback record`` and the window, so both start a session the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.recording import Recording
from biofeedback.core.source import HeartRateSource
from biofeedback.session.live_session import LiveSession
from biofeedback.session.protocol_session import PROTOCOL_COMPLETED
from biofeedback.store.database import SessionStore
from protocols.model import PracticeProtocol

__all__ = [
    "SessionSetupError",
    "StudyPlacement",
    "completed_positions",
    "load_replay_target",
    "make_source",
    "place_in_study",
    "protocol_summary",
    "resolve_protocol",
    "session_settings",
]


class SessionSetupError(BiofeedbackError):
    """The session asked for cannot be set up (the message says why)."""


@dataclass(frozen=True, slots=True)
class StudyPlacement:
    """Where a session sits in a study: the participant's order and this session's position."""

    study: str
    participant_id: str
    position: int
    order: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """What is stored in the session's settings."""
        return {"study": self.study, "position": self.position, "order": list(self.order)}


def resolve_protocol(
    store: SessionStore,
    protocol_spec: str | None,
    *,
    study: str | None = None,
    participant_id: str | None = None,
) -> tuple[PracticeProtocol | None, StudyPlacement | None]:
    """The protocol to run, and the session's study placement when ``study`` is given.

    With a study, the protocol is the participant's next condition in their counterbalanced
    order (``practice_comparison`` runs all conditions in one session, in that order).
    Nothing is written: the participant is enrolled only once everything is known to be
    usable (:func:`place_in_study`), so a typo never takes up an order of the design.
    """
    from protocols.library import get_protocol

    if study is None:
        return (get_protocol(protocol_spec) if protocol_spec else None), None
    from biofeedback.session.studies import next_order
    from biofeedback.store.studies import get_study

    if participant_id is None:
        raise SessionSetupError(
            "a study needs a participant id (the study gives that participant's order)"
        )
    found = get_study(store, study)
    enrolment = found.enrolment(participant_id)
    order = tuple(enrolment.condition_order) if enrolment else next_order(found)
    if protocol_spec == "practice_comparison":
        spec, position = "practice_comparison:" + ",".join(order), 0
    else:
        done = completed_positions(store, study, participant_id)
        next_position = next((i for i in range(len(order)) if i not in done), None)
        if next_position is None:
            raise SessionSetupError(
                f"participant {participant_id} has done all {len(order)} conditions of study "
                f"{study!r}"
            )
        position = next_position
        spec = order[position]
        if protocol_spec is not None and protocol_spec != spec:
            raise SessionSetupError(
                f"participant {participant_id}'s next condition in study {study!r} is "
                f"{spec!r} (order {' -> '.join(order)}), not {protocol_spec!r}"
            )
    return get_protocol(spec), StudyPlacement(study, participant_id, position, order)


def completed_positions(store: SessionStore, study: str, participant_id: str) -> set[int]:
    """Positions of the participant's conditions whose protocol ran to its end; an aborted
    session does not count, so that condition can be recorded again."""
    from biofeedback.store.studies import study_sessions

    done = set()
    for placed in study_sessions(store, study):
        if placed.participant_id != participant_id:
            continue
        info = store.session_info(placed.session_id)
        markers = store.load_recording(placed.session_id).markers
        if info.status == "complete" and any(m.label == PROTOCOL_COMPLETED for m in markers):
            done.add(placed.condition_position)
    return done


def place_in_study(session: LiveSession, store: SessionStore, placement: StudyPlacement) -> None:
    """Enrol the participant now and record the session's study, order and position as soon
    as the session exists (when the source starts streaming)."""
    from biofeedback.session.studies import enrol
    from biofeedback.store.studies import record_session_in_study

    enrol(store, placement.study, placement.participant_id)
    placed: list[bool] = []

    def place(_: object) -> None:
        if session.session_id is not None and not placed:
            placed.append(True)
            record_session_in_study(
                store, session.session_id, placement.study, placement.participant_id,
                placement.position,
            )

    session.subscribe(place)


def make_source(
    spec: str,
    *,
    protocol: PracticeProtocol | None = None,
    seed: int | None = None,
    speed: float | None = 1.0,
    duration_s: float | None = None,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 120.0,
    data_dir: str | Path | None = None,
) -> HeartRateSource:
    """Build the source named by ``spec``: ``sim``, ``ble[:ADDRESS]`` or
    ``replay:SESSION_ID_OR_FILE``.

    With a protocol, the simulated strap's breathing and vagal tone follow its phases, and it
    runs to the protocol's end. ``speed`` (multiple of real time, None = max) applies to the
    simulated strap and replay.
    """
    kind, _, target = spec.partition(":")
    if kind == "sim" and not target:
        from sensors.simulated import SimulatedStrap

        schedule = None
        duration = duration_s
        if protocol is not None:
            from protocols.simulation import physiology_schedule

            schedule = physiology_schedule(protocol)
            duration = duration or protocol.duration_s + 2.0
        return SimulatedStrap(
            seed=seed if seed is not None else int(time.time()),
            speed=speed, duration_s=duration, schedule=schedule,
        )
    if kind == "ble":
        from sensors.ble import BleHeartRateStrap

        return BleHeartRateStrap(
            target or None, scan_timeout_s=scan_timeout_s, give_up_after_s=reconnect_timeout_s
        )
    if kind == "replay" and target:
        from sensors.replay import ReplaySource

        return ReplaySource(load_replay_target(target, data_dir), speed=speed)
    raise SessionSetupError(
        f"unknown source {spec!r}; available: sim, ble, ble:ADDRESS, replay:SESSION_ID_OR_FILE"
    )


def load_replay_target(target: str, data_dir: str | Path | None) -> Recording:
    """Read ``SESSION_ID|FILE``: an existing file is read as an RR text file, a whole number
    as a stored session id."""
    path = Path(target)
    if path.exists():
        from biofeedback.io.rr_text import read_rr_text

        return read_rr_text(path)
    if target.isdigit():
        with SessionStore.open(data_dir) as store:
            return store.load_recording(int(target))
    raise SessionSetupError(f"{target!r} is neither a session id nor an existing file")


def session_settings(
    protocol: PracticeProtocol | None, placement: StudyPlacement | None, **extra: Any
) -> dict[str, Any]:
    """The settings stored with a session about its protocol and study (plus ``extra``)."""
    settings: dict[str, Any] = dict(extra)
    if protocol is not None:
        settings["protocol"] = protocol_summary(protocol)
    if placement is not None:
        settings["study"] = placement.to_dict()
    return settings


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
