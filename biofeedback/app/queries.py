"""What the window's widgets read from the store, Qt-free.

Each function opens its own :class:`~biofeedback.store.database.SessionStore` (SQLite
connections are per thread, and the widgets call these in a worker thread) and returns plain
values. None of them creates a database: browsing an empty data folder leaves it empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from biofeedback.core.errors import BiofeedbackError
from biofeedback.store.database import SessionStore, SessionSummary
from biofeedback.store.paths import database_path

__all__ = [
    "ComparisonChoices",
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
    with SessionStore.open(data_dir) as store:
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

    with SessionStore.open(data_dir) as store:
        studies = sorted((s.name, len(s.participants)) for s in list_studies(store))
        counts: dict[str, int] = {}
        for session in store.list_sessions():
            if session.participant_id:
                counts[session.participant_id] = counts.get(session.participant_id, 0) + 1
    return ComparisonChoices(studies, sorted(counts.items()))


# -- studies and participants --------------------------------------------------------------


def participant_id_problem(participant_id: str) -> str | None:
    """Why ``participant_id`` would be refused by the store, or None when it is fine.

    Mirrors :meth:`~biofeedback.store.database.SessionStore.ensure_participant`: letters,
    digits, ``-`` and ``_`` only (a pseudonym such as ``P07``, never a person's name).
    """
    if not participant_id:
        return None
    if all(c.isalnum() or c in "-_" for c in participant_id):
        return None
    return (
        f"Participant id {participant_id!r} may only hold letters, digits, '-' or '_' "
        "(a pseudonym such as P07, never a name)."
    )


@dataclass(frozen=True, slots=True)
class StudyPlan:
    """A participant's place in a study, as loaded from the store.

    ``position`` is the index in ``order`` of the next condition to run (None when all are
    done); ``problem`` is a sentence when the study cannot be run for them.
    """

    study: str
    participant_id: str
    order: tuple[str, ...]
    enrolled: bool
    enrol_index: int
    done: frozenset[int]
    position: int | None
    problem: str | None = None

    @property
    def next_condition(self) -> str | None:
        """The protocol id of the next condition, or None when all are done."""
        return None if self.position is None else self.order[self.position]


def load_study_names(data_dir: Path) -> list[str]:
    """Names of the studies in the data folder's store (none when there is no database)."""
    from biofeedback.store.studies import list_studies

    if not database_path(data_dir).exists():
        return []  # do not create a database just by opening the window
    with SessionStore.open(data_dir) as store:
        return [study.name for study in list_studies(store)]


def load_study_plan(data_dir: Path, study_name: str, participant_id: str) -> StudyPlan:
    """The participant's condition order and next condition (same rule as ``record --study``).

    Raises a :class:`BiofeedbackError` (no such study...) with a sentence."""
    from biofeedback.session.planning import completed_positions
    from biofeedback.store.studies import get_study
    from protocols.library import get_protocol

    with SessionStore.open(data_dir) as store:
        study = get_study(store, study_name)
        enrolment = study.enrolment(participant_id)
        if enrolment is not None:
            order = tuple(enrolment.condition_order)
            index = enrolment.enrol_index
            done = frozenset(completed_positions(store, study_name, participant_id))
        else:
            order = tuple(study.next_order)
            index = len(study.participants)
            done = frozenset()
    position = next((i for i in range(len(order)) if i not in done), None)
    problem = None
    if position is None:
        problem = (
            f"Participant {participant_id} has done all {len(order)} conditions of study "
            f"{study_name!r}."
        )
    else:
        try:
            get_protocol(order[position])
        except BiofeedbackError as exc:
            problem = f"The next condition {order[position]!r} is not a protocol: {exc}"
    return StudyPlan(
        study_name, participant_id, order, enrolment is not None, index, done, position, problem
    )
