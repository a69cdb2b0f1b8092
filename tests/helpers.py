"""Set-up shared by several test modules: simulated recordings made the same way everywhere.

The CLI steps (:func:`study_create`, :func:`sim_record`, :func:`s1_study`) describe a data
folder as the argument lists of ``biofeedback`` commands; the ``recorded_template`` fixture
in ``conftest.py`` runs them once per test run and hands out copies.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from biofeedback.session.live_session import LiveSession
from biofeedback.session.protocol_session import ProtocolSession
from biofeedback.store.database import SessionStore
from protocols.library import get_protocol
from protocols.model import PracticeProtocol
from sensors.simulated import SimulatedStrap
from sensors.simulated.protocol_schedule import physiology_schedule

CliStep = tuple[str, ...]
"""The arguments of one ``biofeedback`` command, without ``--data-dir``."""

S1_CONDITIONS = "soothing_touch,mindfulness_of_breathing"


def study_create(name: str, conditions: str) -> CliStep:
    """``biofeedback study create NAME --conditions CONDITIONS``."""
    return ("study", "create", name, "--conditions", conditions)


def sim_record(seed: int, participant: str, *extra: str) -> CliStep:
    """``biofeedback record`` of the simulator at maximum speed, quiet, without NeuroKit2.

    ``extra`` (e.g. ``"--study", "S1", "--protocol", "practice_comparison"``) follows the
    participant.
    """
    return ("record", "--source", "sim", "--speed", "max", "--seed", str(seed),
            "--participant", participant, *extra, "--quiet", "--no-neurokit")


def s1_study(participants: Sequence[str]) -> tuple[CliStep, ...]:
    """Study S1 (soothing touch vs mindfulness of breathing) and one practice_comparison
    session of each participant, recorded with seeds 1, 2, ... in this order."""
    return (study_create("S1", S1_CONDITIONS), *(
        sim_record(seed, participant, "--study", "S1", "--protocol", "practice_comparison")
        for seed, participant in enumerate(participants, start=1)
    ))


def record_free_session(
    store: SessionStore, *, seed: int, duration_s: float, participant_id: str = "p01"
) -> LiveSession:
    """Record a free (no protocol) simulated session of ``duration_s`` (s) into ``store``,
    as fast as the simulator goes; return the finished session."""
    session = LiveSession(
        SimulatedStrap(seed=seed, speed=None, duration_s=duration_s), store=store,
        participant_id=participant_id, neurokit=False,
    )
    asyncio.run(session.run(duration_s=duration_s))
    return session


def run_simulated_protocol(
    store: SessionStore, spec: str, seed: int = 1
) -> tuple[PracticeProtocol, LiveSession, ProtocolSession]:
    """Record protocol ``spec`` at maximum speed with the simulated participant answering,
    the simulator's physiology following the phases; 60 s of beats run past the end."""
    protocol = get_protocol(spec)
    strap = SimulatedStrap(seed=seed, speed="max", duration_s=protocol.duration_s + 60.0,
                           schedule=physiology_schedule(protocol))
    session = LiveSession(strap, store=store, protocol_id=protocol.id, neurokit=False,
                          commit_interval_s=0.05)
    runner = ProtocolSession(session, protocol, simulated_participant=True, seed=seed)
    asyncio.run(session.run())
    return protocol, session, runner
