"""The comparison data set: one tidy row per participant x session x condition x phase window.

Sessions are chosen by study or by participant; every session left out is listed with its
reason (never dropped silently). Windows are computed per session in worker processes, so a
study of many sessions uses every core.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.analysis.windows import WindowSettings
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.signals import ANALYSIS_SIGNALS
from biofeedback.store.database import SessionStore

__all__ = [
    "RR_SOURCES",
    "SessionRef",
    "SkippedSession",
    "WindowRow",
    "comparison_data",
    "comparison_rows",
    "select_sessions",
    "sessions_with_ecg",
]


RR_SOURCES = ("strap", "ecg")
"""Where a comparison takes each session's RR from: the strap's own intervals, or the R-peaks
found in the session's stored raw ECG (:mod:`biofeedback.analysis.ecg_stream`)."""

NO_ECG = "no stored ECG"
"""Reason of a session left out of an ``rr_source="ecg"`` comparison for want of ECG."""


class SelectionError(BiofeedbackError):
    """Nothing to compare: no study or participants given, or none of them has sessions."""


class NoEcgError(SelectionError):
    """``rr_source="ecg"`` was asked for, but no chosen session has stored ECG."""


@dataclass(frozen=True, slots=True)
class SessionRef:
    """A session taken into the comparison, with its place in a study (if any)."""

    session_id: int
    participant_id: str
    started_utc: str
    protocol_id: str | None
    study: str | None = None
    condition: str | None = None
    position: int | None = None
    condition_order: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SkippedSession:
    """A session left out of the comparison, and why."""

    session_id: int
    participant_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class WindowRow:
    """One analysis window of one phase of one session (the tidy long format).

    The window fields are those of :class:`biofeedback.analysis.windows.PhaseWindow`.
    """

    participant_id: str
    session_id: int
    session_started_utc: str
    study: str | None
    condition: str | None
    position: int | None
    protocol_id: str | None
    window: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON/CSV-ready dict (window fields after the session fields)."""
        head = asdict(self)
        window = head.pop("window")
        window.pop("notes", None)
        return {**head, **window}


def select_sessions(
    store: SessionStore,
    *,
    study: str | None = None,
    participants: Sequence[str] = (),
) -> tuple[list[SessionRef], list[SkippedSession]]:
    """The sessions of a study, or of the given participants; the rest with a reason.

    Only complete sessions with a participant are compared: an interrupted recording or one
    still being recorded is listed as skipped.
    """
    if study is None and not participants:
        raise SelectionError("give a study or at least one participant")
    placements: dict[int, Any] = {}
    if study is not None:
        from biofeedback.store.studies import study_sessions

        placements = {p.session_id: p for p in study_sessions(store, study)}
        candidate_ids = sorted(placements)
    else:
        wanted = list(dict.fromkeys(participants))
        candidate_ids = []
        for participant in wanted:
            found = store.list_sessions(participant)
            if not found:
                raise SelectionError(f"participant {participant!r} has no sessions")
            candidate_ids += sorted(s.id for s in found)
    chosen: list[SessionRef] = []
    skipped: list[SkippedSession] = []
    # One session's metadata at a time: its parsed settings (several kB of JSON each) are
    # dropped once its reference is made, not held for the whole study at once.
    for info in map(store.session_info, candidate_ids):
        if info.participant_id is None:
            skipped.append(SkippedSession(info.id, None, "no participant"))
            continue
        if info.status != "complete":
            skipped.append(SkippedSession(info.id, info.participant_id, f"status {info.status}"))
            continue
        placed = placements.get(info.id)
        if placed is None and study is None:
            from biofeedback.store.studies import session_study

            placed = session_study(store, info.id)
        chosen.append(SessionRef(
            info.id, info.participant_id, info.started_utc, info.protocol_id,
            None if placed is None else placed.study,
            None if placed is None else placed.condition,
            None if placed is None else placed.condition_position,
            () if placed is None else tuple(placed.condition_order),
        ))
    if not chosen:
        raise SelectionError(
            "no complete session to compare"
            + (f" in study {study!r}" if study else f" for {', '.join(participants)}")
        )
    return chosen, skipped


def comparison_rows(
    database: Path,
    sessions: Sequence[SessionRef],
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rr_source: str = "strap",
) -> list[WindowRow]:
    """Phase windows of every session (see :func:`comparison_data`)."""
    return comparison_data(database, sessions, window_settings, analysis_settings,
                           workers=workers, progress=progress, rr_source=rr_source)[0]


def comparison_data(
    database: Path,
    sessions: Sequence[SessionRef],
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    bin_s: float = 60.0,
    rr_source: str = "strap",
    ecg_sessions: dict[int, dict[str, Any]] | None = None,
) -> tuple[list[WindowRow], dict[int, list[dict[str, Any]]]]:
    """Phase windows and 1-min HR/lnRMSSD trajectories of every session, computed in
    ``workers`` processes (default: every core); ``progress(done, total)`` after each
    session. Rows come in session order; trajectories by session id.

    With ``rr_source="ecg"`` each session's RR is found in its stored ECG in the worker
    (neurokit2 ``ecg_peaks``, exactly as ``biofeedback analyze --rr-source ecg``), every
    window gains its beat-by-beat agreement with the strap's RR (``ecg_pairs``,
    ``ecg_median_abs_dt_ms``, ``ecg_median_abs_drr_ms``, ``ecg_unmatched``,
    ``strap_unmatched``), and ``ecg_sessions`` (when given) receives per session id the
    provenance of its R-peaks and its whole-session agreement, or ``{"skip": reason}`` for a
    session whose ECG holds no beats (its rows and trajectory are then left out). The caller
    leaves out the sessions without stored ECG (:func:`sessions_with_ecg`).
    """
    if rr_source not in RR_SOURCES:
        raise ValueError(f"rr_source must be one of {', '.join(RR_SOURCES)}, got {rr_source!r}")
    total = len(sessions)
    workers = max(1, min(workers or os.cpu_count() or 1, total))
    jobs = [(str(database), ref.session_id, window_settings, analysis_settings, bin_s,
             rr_source) for ref in sessions]
    results: dict[int, dict[str, Any]] = {}
    if workers == 1:
        with SessionStore.for_reading(database) as store:
            for done, job in enumerate(jobs, 1):
                results[job[1]] = _store_windows(store, *job[1:])
                if progress is not None:
                    progress(done, total)
    else:
        context = multiprocessing.get_context(_start_method())
        with concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_open_worker_store,
                initargs=(str(database),)) as pool:
            futures = {pool.submit(_session_windows, *job): job[1] for job in jobs}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, total)
    rows = []
    kept = []
    for ref in sessions:
        result = results[ref.session_id]
        if ecg_sessions is not None and "ecg" in result:
            ecg_sessions[ref.session_id] = result["ecg"]
        if "skip" in result.get("ecg", {}):
            continue
        kept.append(ref)
        for window in result["windows"]:
            rows.append(WindowRow(
                ref.participant_id, ref.session_id, ref.started_utc, ref.study, ref.condition,
                ref.position, ref.protocol_id, window,
            ))
    return rows, {ref.session_id: results[ref.session_id]["trajectory"] for ref in kept}


def sessions_with_ecg(
    store: SessionStore, sessions: Sequence[SessionRef]
) -> tuple[list[SessionRef], list[SkippedSession]]:
    """The sessions that have stored ECG, and the others as skipped (:data:`NO_ECG`).

    Raises
    ------
    NoEcgError
        None of ``sessions`` has stored ECG.
    """
    with_ecg = [ref for ref in sessions if "ecg" in store.signal_streams(ref.session_id)]
    kept = {ref.session_id for ref in with_ecg}
    without = [SkippedSession(ref.session_id, ref.participant_id, NO_ECG)
               for ref in sessions if ref.session_id not in kept]
    if not with_ecg:
        ids = ", ".join(str(ref.session_id) for ref in sessions)
        raise NoEcgError(
            f"--rr-source ecg: none of the {len(sessions)} session(s) to compare ({ids}) has "
            "stored ECG (they were recorded without a strap that streams it); use "
            "--rr-source strap"
        )
    return with_ecg, without


def _start_method() -> str:
    """fork when it is safe (one thread, no Qt: the CLI and scripts), as it needs no import
    of the caller's main module, which spawn and forkserver re-run (a script without a
    ``__main__`` guard would run again in every worker); forkserver otherwise, so workers
    never inherit a Qt application or another thread's locks."""
    import sys
    import threading

    if threading.active_count() == 1 and "PySide6" not in sys.modules:
        return "fork"
    return "forkserver"


_worker_store: SessionStore | None = None
"""The worker process's store, opened once by :func:`_open_worker_store`."""


def _open_worker_store(database: str) -> SessionStore:
    """Open the store once per worker process (the pool's initializer): opening looks through
    every session for interrupted recordings, so opened once per session it would cost time
    growing with the study's size, and the whole comparison its square."""
    global _worker_store
    from multiprocessing.util import Finalize

    if _worker_store is not None:
        _worker_store.close()
    store = _worker_store = SessionStore.for_reading(Path(database))
    Finalize(store, store.close, exitpriority=10)
    return store


def _session_windows(
    database: str,
    session_id: int,
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    bin_s: float,
    rr_source: str = "strap",
) -> dict[str, Any]:
    store = _worker_store
    if store is None or store.path != Path(database):
        store = _open_worker_store(database)
    return _store_windows(store, session_id, window_settings, analysis_settings, bin_s,
                          rr_source)


def _store_windows(
    store: SessionStore,
    session_id: int,
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    bin_s: float,
    rr_source: str = "strap",
) -> dict[str, Any]:
    """One session's windows and trajectory (and its ECG's R-peaks): its RR is loaded here
    and dropped on return, only the window rows leave."""
    from biofeedback.analysis.windows import binned_trajectory, phase_windows

    recording = store.load_recording(session_id, signals=ANALYSIS_SIGNALS)
    chunks = store.load_signal_chunks(session_id, "ecg") if rr_source == "ecg" else []
    if rr_source != "ecg":
        return {
            "windows": [w.to_dict() for w in phase_windows(recording, window_settings,
                                                            analysis_settings)],
            "trajectory": [b.to_dict() for b in binned_trajectory(recording, bin_s)],
        }
    from biofeedback.analysis.beat_agreement import beat_agreement, strap_beat_times
    from biofeedback.analysis.ecg_stream import recording_from_ecg, rr_from_ecg_chunks
    from biofeedback.core.types import PhaseSpan

    beats = rr_from_ecg_chunks(chunks)
    if beats.n_beats == 0:
        return {"windows": [], "trajectory": [],
                "ecg": {"skip": "no R-peaks found in the stored ECG"}}
    strap = strap_beat_times(recording.rr_ms, recording.time_s, recording.gaps)
    from_ecg = recording_from_ecg(recording, beats)
    windows = [w.to_dict() for w in phase_windows(from_ecg, window_settings,
                                                   analysis_settings)]
    spans = [PhaseSpan(w["phase_id"], w["phase_name"], w["kind"], w["start_s"], w["end_s"])
             for w in windows]
    agreement = beat_agreement(beats.r_times_s, strap, spans, ecg_runs=beats.runs)
    for window, row in zip(windows, agreement.phases, strict=True):
        window.update(_agreement_columns(row.to_dict()))
    return {
        "windows": windows,
        "trajectory": [b.to_dict() for b in binned_trajectory(from_ecg, bin_s)],
        "ecg": {"provenance": beats.provenance(), "n_beats": beats.n_beats,
                "agreement": _agreement_columns(agreement.overall.to_dict())
                | {"tolerance_ms": agreement.tolerance_s * 1000.0}},
    }


def _agreement_columns(span: dict[str, Any]) -> dict[str, Any]:
    """The agreement figures a window row (and a session) carries."""
    return {
        "ecg_pairs": span["n_matched"],
        "ecg_median_abs_dt_ms": span["median_abs_diff_ms"],
        "ecg_median_abs_drr_ms": span["median_abs_rr_diff_ms"],
        "ecg_unmatched": span["ecg_unmatched"],
        "strap_unmatched": span["strap_unmatched"],
    }
