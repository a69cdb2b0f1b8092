"""What the reports and ``biofeedback plot`` draw from, loaded once the same way for both:
a session's recording, per-phase analysis and trajectory bins, or a study's comparison."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from biofeedback.analysis.settings import AnalysisSettings
from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.signals import ANALYSIS_SIGNALS
from biofeedback.figures.catalog import SessionResults

if TYPE_CHECKING:
    from biofeedback.comparison.dataset import WindowRow
    from biofeedback.store.database import SessionInfo
    from biofeedback.store.studies import Study

__all__ = ["ReportError", "StudyResults", "load_session_results", "load_study_results"]


class ReportError(BiofeedbackError):
    """A report cannot be written (nothing to show, or nowhere to put it)."""


@dataclass(frozen=True, slots=True)
class StudyResults:
    """A study's comparison and what its methods paragraph names.

    Attributes
    ----------
    result : dict
        The JSON-ready result of :func:`~biofeedback.comparison.compare.compare`.
    rows : list of WindowRow
        The tidy window rows.
    study : Study
        The stored study (conditions, orders).
    recorded_versions : list of dict
        The distinct software versions the compared sessions were recorded with.
    """

    result: dict[str, Any]
    rows: list[WindowRow]
    study: Study
    recorded_versions: list[dict[str, Any]]


def load_session_results(
    data_dir: str | os.PathLike[str] | None,
    session_id: int,
    *,
    analysis_settings: AnalysisSettings | None = None,
    bin_s: float = 60.0,
) -> tuple[SessionInfo, SessionResults]:
    """Load a stored session and analyse it: its information and its figures' results.

    Raises
    ------
    SessionNotFoundError
        No such session.
    ReportError
        The session has no beats.
    """
    from biofeedback.analysis import analyze_recording
    from biofeedback.analysis.windows import binned_trajectory
    from biofeedback.store.database import SessionStore

    with SessionStore.open_for_reading(data_dir) as store:
        info = store.session_info(session_id)
        recording = store.load_recording(session_id, signals=ANALYSIS_SIGNALS)
    if recording.n_beats == 0:
        raise ReportError(f"session {session_id} has no beats to report")
    settings = AnalysisSettings() if analysis_settings is None else analysis_settings
    analysis = analyze_recording(recording, settings).to_dict(details=True)
    return info, SessionResults(recording, analysis, binned_trajectory(recording, bin_s))


def load_study_results(
    data_dir: str | os.PathLike[str] | None,
    study: str,
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    rr_source: str = "strap",
) -> StudyResults:
    """Run a study's comparison (:func:`~biofeedback.comparison.compare.compare`).

    Raises
    ------
    StudyNotFoundError
        No such study.
    BiofeedbackError
        The study has no complete session to compare.
    """
    from biofeedback.comparison.compare import compare
    from biofeedback.store.database import SessionStore
    from biofeedback.store.studies import get_study

    with SessionStore.open_for_reading(data_dir) as store:
        stored_study = get_study(store, study)
    result, rows = compare(data_dir, study=study, workers=workers, progress=progress,
                           rr_source=rr_source)
    recorded: list[dict[str, Any]] = []
    with SessionStore.open_for_reading(data_dir) as store:
        for sid in result["settings"]["sessions"]:
            versions = store.session_info(sid).versions
            if versions not in recorded:
                recorded.append(versions)
    return StudyResults(result, rows, stored_study, recorded)
