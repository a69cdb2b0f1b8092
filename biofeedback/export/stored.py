"""Export what is in the session store: one session in any format, a study as BIDS.

The formats themselves are :mod:`biofeedback.io.exporters` (they take a
:class:`~biofeedback.core.recording.Recording`); this module reads the store, so that
``io`` stays a layer of file formats that never opens the database.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from biofeedback.core.channels import RawChannel
from biofeedback.core.signals import SIGNAL_STREAMS
from biofeedback.io.exporters import (
    APP_NAME,
    FORMATS,
    BidsSession,
    ExportError,
    export_bids,
    export_csv,
    export_edf,
    export_kubios,
)
from biofeedback.io.physio import physio_channel
from biofeedback.store.database import SessionInfo, SessionStore
from biofeedback.store.studies import session_study, study_sessions

__all__ = ["export_session", "export_study", "recorded_signals"]


def _inside_data_folder(store: SessionStore, out: str | os.PathLike[str]) -> bool:
    """Whether ``out`` lies in the store's folder: such exports get the store's 0600."""
    return Path(out).resolve().is_relative_to(store.path.parent.resolve())


def _start_time(info: SessionInfo) -> datetime | None:
    try:
        return datetime.fromisoformat(info.started_utc)
    except (TypeError, ValueError):
        return None


def recorded_signals(store: SessionStore, session_id: int) -> tuple[RawChannel, ...]:
    """The raw streams recorded live with a session (ECG, ACC), each as one regular channel
    (:func:`~biofeedback.io.physio.physio_channel`)."""
    stored = store.signal_streams(session_id)
    return tuple(physio_channel(store.load_signal_chunks(session_id, stream))
                 for stream in SIGNAL_STREAMS if stream in stored)


def export_session(
    store: SessionStore, session_id: int, fmt: str, out: str | os.PathLike[str]
) -> list[Path]:
    """Export one stored session.

    Parameters
    ----------
    store : SessionStore
        The open session database.
    session_id : int
        The session.
    fmt : {"csv", "kubios", "bids", "edf"}
        Export format.
    out : path-like
        File (csv, kubios, edf) or dataset folder (bids); inside the data folder it is
        written 0600 (folders 0700) like the database.

    Returns
    -------
    list of Path
        Files (or the dataset folder) written.

    Raises
    ------
    SessionNotFoundError
        No such session (nothing is written).
    ExportError
        Unknown format, no beats, or the target cannot be written.
    """
    if fmt not in FORMATS:
        raise ExportError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    info = store.session_info(session_id)
    recording = store.load_recording(session_id)
    private = _inside_data_folder(store, out)
    if fmt == "csv":
        return export_csv(recording, out, private=private)
    if fmt == "kubios":
        return [export_kubios(recording, out, private=private)]
    if fmt == "edf":
        return [export_edf(recording, out, participant_id=info.participant_id,
                           start=_start_time(info),
                           channels=[*store.load_channels(session_id),
                                     *recorded_signals(store, session_id)],
                           private=private)]
    placed = session_study(store, session_id)
    session = BidsSession(
        recording, session_id, info.participant_id, info.protocol_id,
        condition=placed.condition if placed else None,
        condition_position=placed.condition_position if placed else None,
        condition_order=placed.condition_order if placed else (),
        signals=recorded_signals(store, session_id),
    )
    return [export_bids([session], out, name=f"{APP_NAME} session {session_id}",
                        private=private)]


def export_study(store: SessionStore, name: str, out: str | os.PathLike[str]) -> Path:
    """Export every session of a study as one BIDS dataset.

    Parameters
    ----------
    store : SessionStore
        The open session database.
    name : str
        Study name (also the dataset ``Name``).
    out : path-like
        The dataset folder to create.

    Returns
    -------
    Path
        The dataset folder.

    Raises
    ------
    StudyNotFoundError
        No such study.
    ExportError
        The study has no sessions, or the target cannot be written.
    """
    placed = study_sessions(store, name)
    if not placed:
        raise ExportError(f"Study {name!r} has no recorded sessions; nothing to export.")
    sessions = []
    for s in placed:
        info = store.session_info(s.session_id)
        sessions.append(BidsSession(
            store.load_recording(s.session_id), s.session_id, s.participant_id,
            info.protocol_id, condition=s.condition, condition_position=s.condition_position,
            condition_order=s.condition_order, signals=recorded_signals(store, s.session_id),
        ))
    return export_bids(sessions, out, name=name, private=_inside_data_folder(store, out))
