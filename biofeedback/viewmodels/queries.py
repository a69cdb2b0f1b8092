"""What the window's widgets read from the store, Qt-free.

Each function opens its own :class:`~biofeedback.store.database.SessionStore` (SQLite
connections are per thread, and the widgets call these in a worker thread) and returns plain
values. None of them creates a database: browsing an empty data folder leaves it empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biofeedback.core.errors import BiofeedbackError
from biofeedback.session import studies
from biofeedback.store.database import SessionStore, SessionSummary
from biofeedback.store.participants import validate_participant_id
from biofeedback.store.paths import database_path

__all__ = [
    "ComparisonChoices",
    "SessionSummary",
    "StudyPlan",
    "list_sessions",
    "load_choices",
    "load_study_names",
    "load_study_plan",
    "participant_id_problem",
]


def list_sessions(data_dir: Path) -> list[SessionSummary]:
    """Every stored session, newest first (none when there is no database).

    Parameters
    ----------
    data_dir : Path
        The data folder.

    Returns
    -------
    list of SessionSummary
        As :meth:`SessionStore.list_sessions` gives them.
    """
    if not database_path(data_dir).exists():
        return []  # browsing must not create a database
    with SessionStore.open_for_reading(data_dir) as store:
        return store.list_sessions()


# -- comparison choices --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComparisonChoices:
    """What can be compared.

    Attributes
    ----------
    studies : list of (str, int)
        Study name and number of participants enrolled.
    participants : list of (str, int)
        Participant id and number of stored sessions.
    """

    studies: list[tuple[str, int]]
    participants: list[tuple[str, int]]


def load_choices(data_dir: Path) -> ComparisonChoices:
    """Read the studies and participants (run it in a worker thread: it opens its own store).

    Parameters
    ----------
    data_dir : Path
        The data folder; no database is created when there is none.

    Returns
    -------
    ComparisonChoices
        Studies by name, participants by id.
    """
    if not database_path(data_dir).exists():
        return ComparisonChoices([], [])
    from biofeedback.store.studies import list_studies

    with SessionStore.open_for_reading(data_dir) as store:
        studies = sorted((s.name, len(s.participants)) for s in list_studies(store))
        counts: dict[str, int] = {}
        for session in store.list_sessions():
            if session.participant_id:
                counts[session.participant_id] = counts.get(session.participant_id, 0) + 1
    return ComparisonChoices(studies, sorted(counts.items()))


# -- studies and participants --------------------------------------------------------------


def participant_id_problem(participant_id: str) -> str | None:
    """Why ``participant_id`` would be refused by the store, or None when it is fine.

    The store's own rule (:func:`~biofeedback.store.participants.validate_participant_id`:
    letters, digits, ``-`` and ``_``, a pseudonym such as ``P07``, never a person's name),
    as a sentence; an empty field is no problem here (it means "no participant").
    """
    if not participant_id:
        return None
    problem = validate_participant_id(participant_id)
    return None if problem is None else _sentence(problem)


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


@dataclass(frozen=True, slots=True)
class StudyPlan(studies.StudyPlan):
    """A participant's place in a study (:func:`biofeedback.session.studies.study_plan`),
    with the reason the window cannot run it, if any, as a sentence.

    ``problem`` adds to the session rule's one (all conditions done) the check the window
    makes before offering Start: that the next condition is a protocol it has.
    """

    unrunnable: str | None = None

    @property
    def problem(self) -> str | None:
        """A sentence when the study cannot be run for this participant, else None."""
        return self.unrunnable


def load_study_names(data_dir: Path) -> list[str]:
    """Names of the studies in the data folder's store (none when there is no database)."""
    from biofeedback.store.studies import list_studies

    if not database_path(data_dir).exists():
        return []  # do not create a database just by opening the window
    with SessionStore.open_for_reading(data_dir) as store:
        return [study.name for study in list_studies(store)]


def load_study_plan(data_dir: Path, study_name: str, participant_id: str) -> StudyPlan:
    """The participant's condition order and next condition (the rule of ``record --study``,
    :func:`biofeedback.session.studies.study_plan`); nobody is enrolled by looking.

    Raises a :class:`BiofeedbackError` (no such study...) with a sentence."""
    from protocols.library import get_protocol

    with SessionStore.open_for_reading(data_dir) as store:
        plan = studies.study_plan(store, study_name, participant_id)
    problem = None if plan.problem is None else _sentence(plan.problem)
    if problem is None and plan.next_condition is not None:
        try:
            get_protocol(plan.next_condition)
        except BiofeedbackError as exc:
            problem = f"The next condition {plan.next_condition!r} is not a protocol: {exc}"
    fields = {f: getattr(plan, f) for f in studies.StudyPlan.__dataclass_fields__}
    return StudyPlan(**fields, unrunnable=problem)
