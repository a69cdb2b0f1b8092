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
    "SessionRef",
    "SkippedSession",
    "WindowRow",
    "comparison_data",
    "comparison_rows",
    "select_sessions",
]


class SelectionError(BiofeedbackError):
    """Nothing to compare: no study or participants given, or none of them has sessions."""


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
        candidates = [store.session_info(sid) for sid in sorted(placements)]
    else:
        wanted = list(dict.fromkeys(participants))
        candidates = []
        for participant in wanted:
            found = store.list_sessions(participant)
            if not found:
                raise SelectionError(f"participant {participant!r} has no sessions")
            candidates += [store.session_info(s.id) for s in sorted(found, key=lambda s: s.id)]
    chosen: list[SessionRef] = []
    skipped: list[SkippedSession] = []
    for info in candidates:
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
) -> list[WindowRow]:
    """Phase windows of every session (see :func:`comparison_data`)."""
    return comparison_data(database, sessions, window_settings, analysis_settings,
                           workers=workers, progress=progress)[0]


def comparison_data(
    database: Path,
    sessions: Sequence[SessionRef],
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    bin_s: float = 60.0,
) -> tuple[list[WindowRow], dict[int, list[dict[str, Any]]]]:
    """Phase windows and 1-min HR/lnRMSSD trajectories of every session, computed in
    ``workers`` processes (default: every core); ``progress(done, total)`` after each
    session. Rows come in session order; trajectories by session id."""
    total = len(sessions)
    workers = max(1, min(workers or os.cpu_count() or 1, total))
    jobs = [(str(database), ref.session_id, window_settings, analysis_settings, bin_s)
            for ref in sessions]
    results: dict[int, dict[str, list[dict[str, Any]]]] = {}
    if workers == 1:
        for done, job in enumerate(jobs, 1):
            results[job[1]] = _session_windows(*job)
            if progress is not None:
                progress(done, total)
    else:
        context = multiprocessing.get_context(_start_method())
        with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
            futures = {pool.submit(_session_windows, *job): job[1] for job in jobs}
            for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                results[futures[future]] = future.result()
                if progress is not None:
                    progress(done, total)
    rows = []
    for ref in sessions:
        for window in results[ref.session_id]["windows"]:
            rows.append(WindowRow(
                ref.participant_id, ref.session_id, ref.started_utc, ref.study, ref.condition,
                ref.position, ref.protocol_id, window,
            ))
    return rows, {ref.session_id: results[ref.session_id]["trajectory"] for ref in sessions}


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


def _session_windows(
    database: str,
    session_id: int,
    window_settings: WindowSettings,
    analysis_settings: AnalysisSettings,
    bin_s: float,
) -> dict[str, list[dict[str, Any]]]:
    from biofeedback.analysis.windows import binned_trajectory, phase_windows

    with SessionStore.for_reading(Path(database)) as store:
        recording = store.load_recording(session_id, signals=ANALYSIS_SIGNALS)
    return {
        "windows": [w.to_dict() for w in phase_windows(recording, window_settings,
                                                        analysis_settings)],
        "trajectory": [b.to_dict() for b in binned_trajectory(recording, bin_s)],
    }
