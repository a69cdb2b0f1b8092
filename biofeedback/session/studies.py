"""Study policy: the Williams design of a study, enrolment in it, and a participant's plan.

The store (:mod:`biofeedback.store.studies`) persists studies, enrolments and sessions as
data; the rules live here:

* every participant enrolled takes the next order of the study's Williams design
  (:mod:`protocols.design`), so the orders are balanced for first-order carry-over across
  the participants in sequence;
* a participant's next condition is the first position of their order whose session ran
  its protocol to the end (:func:`study_plan`); ``record --study``, the window and the
  study simulator all ask this one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from biofeedback.session.protocol_session import PROTOCOL_COMPLETED
from biofeedback.store import studies as stored
from biofeedback.store.database import SessionStore
from biofeedback.store.studies import DEFAULT_EXCLUSION_THRESHOLD_PCT, Enrolment, Study
from protocols.design import MAX_CONDITIONS, MIN_CONDITIONS, assign_order, design_orders

__all__ = [
    "StudyPlan",
    "completed_positions",
    "create_study",
    "enrol",
    "next_order",
    "study_orders",
    "study_plan",
    "study_to_dict",
]


def create_study(
    store: SessionStore,
    name: str,
    conditions: Sequence[str],
    exclusion_threshold_pct: float = DEFAULT_EXCLUSION_THRESHOLD_PCT,
    settings: dict[str, Any] | None = None,
) -> Study:
    """Create a study with a Williams design over its conditions.

    Parameters
    ----------
    store : SessionStore
        Open store.
    name : str
        Unique study name (letters, digits, ``-``, ``_``, ``.``).
    conditions : sequence of str
        2-8 distinct condition names (same characters).
    exclusion_threshold_pct : float
        0-100 %, default 5.0.
    settings : dict, optional
        Free JSON settings kept with the study.

    Raises
    ------
    StudyError
        Too few or too many conditions for a design, or anything the store refuses (bad
        name, duplicates, a threshold outside 0-100 %, a study of that name exists already).
    """
    if not isinstance(conditions, str) and not (
        MIN_CONDITIONS <= len(conditions) <= MAX_CONDITIONS
    ):
        raise stored.StudyError(
            f"a study needs {MIN_CONDITIONS} to {MAX_CONDITIONS} conditions, "
            f"not {len(conditions)}"
        )
    return stored.create_study(store, name, conditions, exclusion_threshold_pct, settings)


def study_orders(study: Study) -> list[tuple[str, ...]]:
    """Every order of the study's Williams design, in the sequence participants get them."""
    return design_orders(study.conditions)


def next_order(study: Study) -> tuple[str, ...]:
    """The order the next participant enrolled in ``study`` will get."""
    return assign_order(study.conditions, len(study.participants))


def study_to_dict(study: Study) -> dict[str, Any]:
    """JSON-ready dict of a study with its design (``design`` and every ``orders``)."""
    out = study.to_dict()
    design = {"design": "williams", "orders": [list(o) for o in study_orders(study)]}
    # Keep the design next to the conditions, as ``study show --json`` always printed it.
    keys = list(out)
    at = keys.index("conditions") + 1
    return {**{k: out[k] for k in keys[:at]}, **design, **{k: out[k] for k in keys[at:]}}


def enrol(store: SessionStore, name: str, participant_id: str) -> Enrolment:
    """Enrol a participant in a study: they get the design's next order.

    Enrolling someone already enrolled returns their existing enrolment (``new=False``) and
    does not advance the sequence. The participant is created if needed.

    Raises
    ------
    StudyNotFoundError
        No such study.
    StoreError
        A participant id that is not a pseudonym.
    """
    # One transaction: the next order depends on how many are enrolled at this moment.
    with store.transaction():
        study = stored.get_study(store, name)
        existing = study.enrolment(participant_id)
        if existing is not None:
            return existing
        return stored.enrol(store, name, participant_id, next_order(study))


@dataclass(frozen=True, slots=True)
class StudyPlan:
    """A participant's place in a study, as the store has it now (nothing is enrolled).

    Attributes
    ----------
    study : str
        Study name.
    participant_id : str
        Pseudonymous participant id.
    order : tuple of str
        Their counterbalanced condition order: the stored one when enrolled, else the order
        enrolling them would give.
    enrolled : bool
        Whether they are enrolled already.
    enrol_index : int
        0-based position in the order of enrolment (the next index when not enrolled).
    done : frozenset of int
        Positions in ``order`` whose session ran its protocol to the end.
    position : int or None
        Position in ``order`` of the next condition to run; None when all are done.
    """

    study: str
    participant_id: str
    order: tuple[str, ...]
    enrolled: bool
    enrol_index: int
    done: frozenset[int]
    position: int | None

    @property
    def next_condition(self) -> str | None:
        """The condition (protocol id) to run next, or None when all are done."""
        return None if self.position is None else self.order[self.position]

    @property
    def problem(self) -> str | None:
        """A sentence when nothing is left to run for this participant, else None."""
        if self.position is not None:
            return None
        return (
            f"participant {self.participant_id} has done all {len(self.order)} conditions of "
            f"study {self.study!r}"
        )


def study_plan(store: SessionStore, study: str, participant_id: str) -> StudyPlan:
    """Which of the participant's conditions are done, which is next, in which order.

    Parameters
    ----------
    store : SessionStore
        Open store (only read).
    study : str
        Study name.
    participant_id : str
        Pseudonymous participant id (enrolled or not).

    Raises
    ------
    StudyNotFoundError
        No such study (the message lists the studies there are).
    """
    found = stored.get_study(store, study)
    enrolment = found.enrolment(participant_id)
    if enrolment is not None:
        order = tuple(enrolment.condition_order)
        index = enrolment.enrol_index
        done = frozenset(completed_positions(store, study, participant_id))
    else:
        order = next_order(found)
        index = len(found.participants)
        done = frozenset()
    position = next((i for i in range(len(order)) if i not in done), None)
    return StudyPlan(study, participant_id, order, enrolment is not None, index, done, position)


def completed_positions(store: SessionStore, study: str, participant_id: str) -> set[int]:
    """Positions of the participant's conditions whose protocol ran to its end; an aborted
    session does not count, so that condition can be recorded again."""
    done = set()
    for placed in stored.study_sessions(store, study):
        if placed.participant_id != participant_id:
            continue
        info = store.session_info(placed.session_id)
        markers = store.load_recording(placed.session_id).markers
        if info.status == "complete" and any(m.label == PROTOCOL_COMPLETED for m in markers):
            done.add(placed.condition_position)
    return done
