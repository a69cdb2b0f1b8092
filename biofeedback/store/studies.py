"""Within-subject studies in the session store: conditions, enrolments, sessions in studies.

A study compares conditions (practices, e.g. ``soothing_touch`` and ``breath_focus``) in
every participant. The store persists what it is given: the conditions, and each
participant's condition order at enrolment, which is also stored with every session run in
the study (with the session's position in that order), so the analysis can use order as a
covariate (docs/domain.md section 5). Which order a participant gets (the Williams design) is
study policy, decided by :mod:`biofeedback.session.studies`, not here.

All functions take an open :class:`~biofeedback.store.database.SessionStore` and work
through its public :meth:`~biofeedback.store.database.SessionStore.transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from biofeedback.core.errors import StoreError
from biofeedback.store.database import SessionStore

DEFAULT_EXCLUSION_THRESHOLD_PCT = 5.0
"""Default largest share of corrected beats in a phase before it is excluded, %."""

_MAX_NAME = 64


class StudyError(StoreError):
    """A study cannot be created or used as asked."""


class StudyNotFoundError(StudyError, LookupError):
    """No study with that name."""


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A participant's place in a study.

    Attributes
    ----------
    study : str
        Study name.
    participant_id : str
        Pseudonymous participant id.
    enrol_index : int
        0-based position in the order of enrolment.
    condition_order : tuple of str
        Conditions in the order this participant runs them.
    enrolled_utc : str
        When they were enrolled (ISO 8601, UTC).
    new : bool
        True when this call enrolled them, False when they were enrolled already.
    """

    study: str
    participant_id: str
    enrol_index: int
    condition_order: tuple[str, ...]
    enrolled_utc: str
    new: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "study": self.study,
            "participant": self.participant_id,
            "enrol_index": self.enrol_index,
            "condition_order": list(self.condition_order),
            "enrolled_utc": self.enrolled_utc,
        }


@dataclass(frozen=True, slots=True)
class Study:
    """A study and its participants.

    Attributes
    ----------
    id : int
        Row id.
    name : str
        Unique name.
    created_utc : str
        Creation time (ISO 8601, UTC).
    conditions : tuple of str
        Condition names, in the order given at creation (the indices of the study's design).
    exclusion_threshold_pct : float
        Largest share of corrected beats in a phase before the analysis excludes it, %.
    settings : dict
        Free JSON settings.
    participants : tuple of Enrolment
        In order of enrolment.
    """

    id: int
    name: str
    created_utc: str
    conditions: tuple[str, ...]
    exclusion_threshold_pct: float
    settings: dict[str, Any] = field(default_factory=dict)
    participants: tuple[Enrolment, ...] = ()

    def enrolment(self, participant_id: str) -> Enrolment | None:
        """That participant's enrolment, or None."""
        for e in self.participants:
            if e.participant_id == participant_id:
                return e
        return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict of what is stored (the design's orders are added by
        :func:`biofeedback.session.studies.study_to_dict`)."""
        return {
            "name": self.name,
            "created_utc": self.created_utc,
            "conditions": list(self.conditions),
            "exclusion_threshold_pct": self.exclusion_threshold_pct,
            "settings": self.settings,
            "participants": [e.to_dict() for e in self.participants],
        }


@dataclass(frozen=True, slots=True)
class SessionStudy:
    """What a session was in a study: the condition order and its position in it."""

    session_id: int
    study: str
    participant_id: str | None
    condition_order: tuple[str, ...]
    condition_position: int

    @property
    def condition(self) -> str:
        """The condition this session ran."""
        return self.condition_order[self.condition_position]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "session": self.session_id,
            "study": self.study,
            "participant": self.participant_id,
            "condition_order": list(self.condition_order),
            "condition_position": self.condition_position,
            "condition": self.condition,
        }


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _check_name(kind: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise StudyError(f"{kind} name must not be empty")
    if len(name) > _MAX_NAME or not all(c.isalnum() or c in "-_." for c in name):
        raise StudyError(
            f"{kind} name {name!r} must be at most {_MAX_NAME} letters, digits, '-', '_' or '.'"
        )
    return name


def create_study(
    store: SessionStore,
    name: str,
    conditions: Sequence[str],
    exclusion_threshold_pct: float = DEFAULT_EXCLUSION_THRESHOLD_PCT,
    settings: dict[str, Any] | None = None,
) -> Study:
    """Store a new study and its conditions.

    How many conditions a design allows is the caller's rule
    (:func:`biofeedback.session.studies.create_study` checks it before calling this).

    Parameters
    ----------
    store : SessionStore
        Open store.
    name : str
        Unique study name (letters, digits, ``-``, ``_``, ``.``).
    conditions : sequence of str
        Distinct condition names (same characters), at least one.
    exclusion_threshold_pct : float
        0-100, default 5.0.
    settings : dict, optional
        Free JSON settings kept with the study.

    Raises
    ------
    StudyError
        Bad name, no conditions, duplicates, a threshold outside 0-100, or a
        study of that name exists already.
    """
    _check_name("study", name)
    if isinstance(conditions, str):
        raise StudyError("conditions must be a list of names, not one string")
    conditions = tuple(_check_name("condition", c) for c in conditions)
    if not conditions:
        raise StudyError("a study needs conditions")
    duplicates = sorted({c for c in conditions if conditions.count(c) > 1})
    if duplicates:
        raise StudyError(f"condition(s) given twice: {', '.join(duplicates)}")
    threshold = float(exclusion_threshold_pct)
    if not 0.0 <= threshold <= 100.0:
        raise StudyError(f"exclusion threshold must be 0-100 %, not {exclusion_threshold_pct}")
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO studies (name, created_utc, conditions, exclusion_threshold_pct,"
                " settings) VALUES (?, ?, ?, ?, ?)",
                (name, _utc_now(), json.dumps(list(conditions)), threshold,
                 json.dumps(settings or {})),
            )
    except StoreError as exc:
        if isinstance(exc.__cause__, sqlite3.IntegrityError):
            raise StudyError(f"a study named {name!r} exists already") from None
        raise
    return get_study(store, name)


def _row_to_study(conn: sqlite3.Connection, row: tuple[Any, ...]) -> Study:
    study_id, name, created, conditions, threshold, settings = row
    participants = tuple(
        Enrolment(name, pid, index, tuple(json.loads(order)), enrolled)
        for pid, index, order, enrolled in conn.execute(
            "SELECT participant_id, enrol_index, condition_order, enrolled_utc"
            " FROM study_participants WHERE study_id = ? ORDER BY enrol_index",
            (study_id,),
        )
    )
    return Study(
        study_id, name, created, tuple(json.loads(conditions)), float(threshold),
        json.loads(settings), participants,
    )


_STUDY_COLUMNS = "id, name, created_utc, conditions, exclusion_threshold_pct, settings"


def get_study(store: SessionStore, name: str) -> Study:
    """The study of that name with its participants (:class:`StudyNotFoundError` if none)."""
    with store.transaction() as conn:
        row = conn.execute(
            f"SELECT {_STUDY_COLUMNS} FROM studies WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            known = [r[0] for r in conn.execute("SELECT name FROM studies ORDER BY name")]
            hint = f"; studies: {', '.join(known)}" if known else "; no studies yet"
            raise StudyNotFoundError(f"no study named {name!r}{hint}")
        return _row_to_study(conn, row)


def list_studies(store: SessionStore) -> list[Study]:
    """Every study, by name."""
    with store.transaction() as conn:
        rows = conn.execute(f"SELECT {_STUDY_COLUMNS} FROM studies ORDER BY name").fetchall()
        return [_row_to_study(conn, row) for row in rows]


def enrol(
    store: SessionStore, name: str, participant_id: str, order: Sequence[str]
) -> Enrolment:
    """Enrol a participant in a study with the condition order they were given.

    Enrolling someone already enrolled returns their existing enrolment (``new=False``) and
    ignores ``order``. The participant is created if needed. The order is chosen by the
    caller (:func:`biofeedback.session.studies.enrol` takes the design's next one).

    Raises
    ------
    StudyNotFoundError
        No such study.
    StudyError
        ``order`` is not the study's conditions, each once.
    StoreError
        A participant id that is not a pseudonym.
    """
    with store.transaction() as conn:
        study = get_study(store, name)
        existing = study.enrolment(participant_id)
        if existing is not None:
            return existing
        store.ensure_participant(participant_id)
        order = tuple(order)
        if sorted(order) != sorted(study.conditions):
            raise StudyError(
                f"condition order {' -> '.join(order) or '(empty)'} is not the conditions of "
                f"study {name!r} ({', '.join(study.conditions)}), each once"
            )
        index = len(study.participants)
        enrolled = _utc_now()
        conn.execute(
            "INSERT INTO study_participants (study_id, participant_id, enrol_index,"
            " condition_order, enrolled_utc) VALUES (?, ?, ?, ?, ?)",
            (study.id, participant_id, index, json.dumps(list(order)), enrolled),
        )
    return Enrolment(name, participant_id, index, order, enrolled, new=True)


def record_session_in_study(
    store: SessionStore,
    session_id: int,
    study_name: str,
    participant_id: str,
    condition_position: int,
) -> SessionStudy:
    """Mark a session as the participant's ``condition_position``-th condition of a study.

    Stores the study, the participant's condition order and the position with the session
    (and sets the session's participant when it had none).

    Raises
    ------
    SessionNotFoundError
        No such session.
    StudyNotFoundError
        No such study.
    StudyError
        The participant is not enrolled, the position is outside their order, or the session
        belongs to another participant.
    """
    info = store.session_info(session_id)
    with store.transaction() as conn:
        study = get_study(store, study_name)
        enrolment = study.enrolment(participant_id)
        if enrolment is None:
            raise StudyError(
                f"participant {participant_id!r} is not enrolled in study {study_name!r}; "
                f"enrol them first (biofeedback study enrol {study_name} {participant_id})"
            )
        order = enrolment.condition_order
        if isinstance(condition_position, bool) or not 0 <= condition_position < len(order):
            raise StudyError(
                f"condition position must be 0 to {len(order) - 1}, not {condition_position}"
            )
        if info.participant_id not in (None, participant_id):
            raise StudyError(
                f"session {session_id} belongs to participant {info.participant_id!r}, "
                f"not {participant_id!r}"
            )
        conn.execute(
            "UPDATE sessions SET participant_id = ?, study_id = ?, condition_order = ?,"
            " condition_position = ? WHERE id = ?",
            (participant_id, study.id, json.dumps(list(order)), condition_position, session_id),
        )
    return SessionStudy(session_id, study_name, participant_id, order, condition_position)


def session_study(store: SessionStore, session_id: int) -> SessionStudy | None:
    """The study a session was run in, or None (:class:`SessionNotFoundError` if no session)."""
    info = store.session_info(session_id)
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT st.name, s.condition_order, s.condition_position FROM sessions s"
            " JOIN studies st ON st.id = s.study_id WHERE s.id = ?",
            (session_id,),
        ).fetchone()
    if row is None:
        return None
    name, order, position = row
    return SessionStudy(session_id, name, info.participant_id, tuple(json.loads(order)), position)


def study_sessions(store: SessionStore, name: str) -> list[SessionStudy]:
    """Every session recorded in a study, by session id."""
    study = get_study(store, name)
    with store.transaction() as conn:
        rows = conn.execute(
            "SELECT id, participant_id, condition_order, condition_position FROM sessions"
            " WHERE study_id = ? ORDER BY id",
            (study.id,),
        ).fetchall()
    return [
        SessionStudy(sid, name, pid, tuple(json.loads(order)), position)
        for sid, pid, order, position in rows
    ]
