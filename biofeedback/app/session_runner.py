"""Turn a :class:`SessionRequest` into a running session (Qt-free; the window drives it)."""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from biofeedback.app.session_request import SessionRequest
from biofeedback.core.source import HeartRateSource
from biofeedback.session.live_session import LiveSession, SessionStats
from biofeedback.session.planning import (
    StudyPlacement,
    make_source,
    place_in_study,
    resolve_protocol,
    session_settings,
)
from biofeedback.session.protocol_session import ProtocolSession
from biofeedback.store.database import SessionStore
from protocols.model import PracticeProtocol

logger = logging.getLogger(__name__)

__all__ = ["PreparedSession", "prepare_session"]


@dataclass
class PreparedSession:
    """A session ready to run, with everything the window shows about it.

    Attributes
    ----------
    request : SessionRequest
        What was asked for.
    session : LiveSession
        The pipeline (source -> processing -> store -> subscribers).
    protocol : PracticeProtocol or None
        The protocol it runs (None: free practice or a plain replay).
    protocol_session : ProtocolSession or None
        Drives the protocol's phases, prompts, self-reports and stressor.
    placement : StudyPlacement or None
        Its place in a study.
    store : SessionStore or None
        Where it is recorded (None: not recorded, e.g. a replay).
    """

    request: SessionRequest
    session: LiveSession
    protocol: PracticeProtocol | None = None
    protocol_session: ProtocolSession | None = None
    placement: StudyPlacement | None = None
    store: SessionStore | None = None
    stats: SessionStats | None = field(default=None, init=False)

    @property
    def source(self) -> HeartRateSource:
        """The session's source."""
        return self.session.source

    async def run(self) -> SessionStats:
        """Run until the source ends, the protocol finishes or :meth:`stop` is called; the
        store is closed afterwards."""
        try:
            self.stats = await self.session.run()
            return self.stats
        finally:
            if self.store is not None:
                self.store.close()

    def stop(self) -> None:
        """Finish the session cleanly (the recording is kept)."""
        self.session.request_stop()


def prepare_session(
    request: SessionRequest,
    data_dir: str | Path | None,
    *,
    neurokit: bool = True,
    scan_timeout_s: float = 10.0,
    reconnect_timeout_s: float = 120.0,
) -> PreparedSession:
    """Build source, session and protocol for ``request`` (file work: call off the GUI thread).

    A replay is never recorded again. Nothing is written when this raises.

    Raises
    ------
    BiofeedbackError
        Unknown source or protocol, missing session or file, bad participant id, study
        problems; the message says which.
    """
    kind = request.source_kind
    record = request.record and kind != "replay"
    store = SessionStore.open(data_dir) if (record or request.study) else None
    try:
        protocol, placement = (
            resolve_protocol(
                store, request.protocol_id, study=request.study,
                participant_id=request.participant_id,
            )
            if store is not None
            else _protocol_only(request.protocol_id)
        )
        source = make_source(
            request.source, protocol=protocol, seed=request.seed, speed=request.speed,
            scan_timeout_s=scan_timeout_s, reconnect_timeout_s=reconnect_timeout_s,
            data_dir=data_dir,
        )
        if store is not None and request.participant_id is not None:
            store.ensure_participant(request.participant_id)
        if store is not None:
            # At real time every notification reaches the disk; faster simulated sessions
            # group commits for throughput (see LiveSession.commit_interval_s).
            store.sync_every_commit(request.speed is not None and request.speed <= 1.0)
        settings = session_settings(protocol, placement, app="window")
        session = LiveSession(
            source,
            store=store if record else None,
            participant_id=request.participant_id,
            protocol_id=None if protocol is None else protocol.id,
            neurokit=neurokit,
            commit_interval_s=0.0 if request.speed is not None and request.speed <= 1.0 else 0.05,
            settings=settings,
        )
        protocol_session = None
        if protocol is not None:
            protocol_session = ProtocolSession(
                session, protocol, simulated_participant=request.simulated_participant,
                seed=request.seed or 0,
            )
        if placement is not None and store is not None and record:
            place_in_study(session, store, placement)
    except BaseException:  # broad on purpose: close on any exit, cancellation too, then re-raise
        if store is not None:
            store.close()
        raise
    if store is not None and not record:
        try:
            store.close()
        except sqlite3.Error:  # nothing was written through it; a failed close loses nothing
            logger.debug("closing the unused store failed", exc_info=True)
        store = None
    return PreparedSession(request, session, protocol, protocol_session, placement, store)


def _protocol_only(
    protocol_id: str | None,
) -> tuple[PracticeProtocol | None, StudyPlacement | None]:
    from protocols.library import get_protocol

    return (get_protocol(protocol_id) if protocol_id else None), None
