"""One file -> one stored session: read, find R-peaks of an ECG, class artifacts, store."""

from __future__ import annotations

import dataclasses
import importlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from biofeedback.core.errors import InputFileError
from biofeedback.core.types import ArtifactClass
from biofeedback.io.importers import ImportedRecording, read_import
from biofeedback.live.artifacts import ArtifactSettings
from biofeedback.live.offline import classify_recording
from biofeedback.store.database import SessionStore

from .summary import ImportedItem

__all__ = ["ECG_METHOD", "find_ecg_beats", "import_file", "read_recording", "started_utc",
           "store_imported"]

ECG_METHOD = "neurokit"
"""R-peak detector used for ECG files (neurokit2's default ``ecg_peaks`` method)."""


def started_utc(start_time: datetime | None) -> str | None:
    """The ``started_utc`` stored for a file's start time.

    Parameters
    ----------
    start_time : datetime or None
        Wall clock at session time 0 as the reader gave it.

    Returns
    -------
    str or None
        Timezone-aware: converted to UTC, ISO 8601 with ``+00:00``. Naive (the recording
        device's local time, the zone unknown): stored as given, ISO 8601 without an offset,
        since any zone we assumed could be wrong. None: the store uses the import time.
    """
    if start_time is None:
        return None
    if start_time.tzinfo is None or start_time.utcoffset() is None:
        return start_time.isoformat()
    return start_time.astimezone(UTC).isoformat()


def read_recording(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    column: str | None = None,
    sampling_rate_hz: float | None = None,
) -> tuple[ImportedRecording, dict[str, Any]]:
    """Read a file of any format into beats, finding the R-peaks of an ECG recording.

    Parameters
    ----------
    path : path-like
        The file (companion files beside it are joined).
    format : str, optional
        Import format (detected when None).
    column : str, optional
        Column of RR intervals or beat times (generic CSV/TSV).
    sampling_rate_hz : float, optional
        Sampling rate of a single-column ECG file, Hz.

    Returns
    -------
    ImportedRecording
        With beats (for an ECG file: the RR intervals between its R-peaks).
    dict
        How the beats were found, stored with the session settings (``{}`` for a file that
        holds RR or PPI; for an ECG the detector, its arguments and neurokit2's version).

    Raises
    ------
    InputFileError
        The file cannot be read, holds no RR data, or its ECG yields fewer than two
        R-peaks.
    """
    imported = read_import(path, format, column=column, sampling_rate_hz=sampling_rate_hz)
    if imported.rr_source != "ecg" or imported.n_beats > 0:
        return imported, {}
    return find_ecg_beats(imported, Path(path))


def find_ecg_beats(imported: ImportedRecording, path: Path | None = None
                   ) -> tuple[ImportedRecording, dict[str, Any]]:
    """The recording with the RR intervals between the R-peaks of its (first) ECG channel.

    Parameters
    ----------
    imported : ImportedRecording
        An ECG recording as its reader returns it (no beats, an ECG :class:`RawChannel`).
    path : Path, optional
        The file, for messages (default: its original name).

    Returns
    -------
    ImportedRecording
        A copy with the beats (gaps and markers as the reader gave them).
    dict
        ``{"ecg_peaks": {channel, method, kwargs, neurokit_version, n_peaks}}`` for the
        session settings.

    Raises
    ------
    InputFileError
        No ECG channel, or fewer than two R-peaks found.
    """
    path = Path(imported.original_name) if path is None else path
    ecg = [c for c in imported.channels if c.kind == "ecg"]
    if not ecg:
        raise InputFileError(path, "an ECG recording without an ECG channel: nothing to find "
                             "R-peaks in")
    # analysis.ecg_peaks imports neurokit2 lazily; imported by name here because it is
    # written beside this layer (see the issue-12 contract).
    ecg_peaks: Any = importlib.import_module("biofeedback.analysis.ecg_peaks")
    channel = ecg[0]
    try:
        beats = ecg_peaks.rr_from_ecg(channel, method=ECG_METHOD)
    except (ValueError, IndexError, ZeroDivisionError) as exc:
        raise InputFileError(path, f"R-peaks could not be found in the ECG channel "
                             f"{channel.name!r}: {exc}") from exc
    rr_ms = np.asarray(beats.rr_ms, dtype=np.float64)
    if rr_ms.size == 0:
        raise InputFileError(
            path, f"fewer than two R-peaks found in the ECG channel {channel.name!r} "
            f"({channel.n_samples} samples at {channel.sampling_rate_hz:g} Hz): no RR "
            "intervals to import")
    recording = dataclasses.replace(
        imported.recording, rr_ms=rr_ms, time_s=np.asarray(beats.time_s, dtype=np.float64))
    method = {
        "channel": channel.name,
        "method": beats.method,
        "kwargs": dict(beats.kwargs),
        "clean_kwargs": dict(getattr(beats, "clean_kwargs", {})),
        "neurokit_version": beats.neurokit_version,
        "n_peaks": int(np.asarray(beats.peaks).size),
    }
    return dataclasses.replace(imported, recording=recording), {"ecg_peaks": method}


def import_file(
    store: SessionStore,
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    column: str | None = None,
    sampling_rate_hz: float | None = None,
    participant_id: str | None = None,
    protocol_id: str | None = None,
    artifact_settings: ArtifactSettings | None = None,
    shown_as: str | None = None,
) -> ImportedItem:
    """Import one recording (a file and its companions) as one complete session.

    Parameters
    ----------
    store : SessionStore
        Where the session is written, in one transaction.
    path : path-like
        The main file.
    format, column, sampling_rate_hz
        As :func:`read_recording`.
    participant_id, protocol_id : str, optional
        Stored with the session (the participant is created when new).
    artifact_settings : ArtifactSettings, optional
        Detector settings (default: :class:`ArtifactSettings`); stored with the session.
    shown_as : str, optional
        How the file is named in the result (default: ``path`` as given).

    Returns
    -------
    ImportedItem
        The stored session, its beats, markers, start time and channels.

    Raises
    ------
    InputFileError
        The file cannot be imported (nothing is stored).
    StoreError
        A bad participant id or channel (nothing is stored).
    """
    imported, found = read_recording(path, format, column=column,
                                     sampling_rate_hz=sampling_rate_hz)
    return store_imported(store, imported, found=found, participant_id=participant_id,
                          protocol_id=protocol_id, artifact_settings=artifact_settings,
                          shown_as=str(path) if shown_as is None else shown_as)


def store_imported(
    store: SessionStore,
    imported: ImportedRecording,
    *,
    found: dict[str, Any] | None = None,
    participant_id: str | None = None,
    protocol_id: str | None = None,
    artifact_settings: ArtifactSettings | None = None,
    shown_as: str | None = None,
) -> ImportedItem:
    """Class the beats of a recording already read and store it as one session.

    Parameters
    ----------
    store : SessionStore
        Where the session is written, in one transaction.
    imported : ImportedRecording
        A reader's result, with beats.
    found : dict, optional
        How the beats were found (second value of :func:`read_recording`).
    participant_id, protocol_id, artifact_settings
        As :func:`import_file`.
    shown_as : str, optional
        How the main file is named in the result (default: its original name).

    Returns
    -------
    ImportedItem
        The stored session.
    """
    from biofeedback.analysis.phases import library_versions

    detector = artifact_settings or ArtifactSettings()
    classified = classify_recording(imported.recording, detector)
    settings = {**imported.settings(), **(found or {}),
                "artifact_detector": dataclasses.asdict(detector)}
    start = started_utc(imported.start_time)
    session_id = store.import_recording(
        imported.recording,
        source="import",
        participant_id=participant_id,
        protocol_id=protocol_id,
        settings=settings,
        versions=library_versions(),
        classified=classified,
        started_utc=start,
        channels=imported.channels,
    )
    shown = imported.original_name if shown_as is None else shown_as
    folder = Path(shown).parent
    files = [shown, *(str(folder / name) for name in imported.files[1:])]
    return ImportedItem(
        file=shown,
        files=files,
        session_id=session_id,
        format=imported.format,
        beats=imported.n_beats,
        markers=len(imported.markers),
        start_time=start,
        rr_source=imported.rr_source,
        channels=[c.name for c in imported.channels],
        artifacts=sum(b.artifact is not ArtifactClass.NORMAL for b in classified),
        notes=list(imported.notes),
    )
