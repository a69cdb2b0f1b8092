"""The Qt-free reads behind the widgets: sessions, comparison choices, studies and a
participant's place in a study, from a real store; none of them creates a database."""

from __future__ import annotations

import pytest

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import Marker, MarkerKind
from biofeedback.session.protocol_session import PROTOCOL_COMPLETED
from biofeedback.session.studies import create_study, enrol
from biofeedback.store import SessionStore
from biofeedback.store.paths import database_path
from biofeedback.store.studies import record_session_in_study
from biofeedback.viewmodels.queries import (
    ComparisonChoices,
    StudyPlan,
    list_sessions,
    load_choices,
    load_study_names,
    load_study_plan,
    participant_id_problem,
)

CONDITIONS = ["soothing_touch", "mindfulness_of_breathing"]


@pytest.fixture
def study_store(data_dir):
    """Study msc-pilot (two conditions) with P01 enrolled and their first condition done,
    study "other", and a free session of P09."""
    with SessionStore.open(data_dir) as store:
        create_study(store, "msc-pilot", CONDITIONS)
        create_study(store, "other", ["quiet_rest", "body_scan"])
        first = enrol(store, "msc-pilot", "P01").condition_order
        done = store.create_session(source="sim", participant_id="P01", protocol_id=first[0])
        store.add_marker(done, Marker(600.0, 0.0, PROTOCOL_COMPLETED, MarkerKind.PROTOCOL))
        store.finish_session(done)
        record_session_in_study(store, done, "msc-pilot", "P01", 0)
        free = store.create_session(source="sim", participant_id="P09")
        store.finish_session(free)
    return {"dir": data_dir, "first": tuple(first), "ids": (done, free)}


def test_an_empty_folder_gives_nothing_and_stays_empty(data_dir):
    assert list_sessions(data_dir) == []
    assert load_choices(data_dir) == ComparisonChoices([], [])
    assert load_study_names(data_dir) == []
    assert not database_path(data_dir).exists()


def test_sessions_newest_first(study_store):
    sessions = list_sessions(study_store["dir"])
    assert [s.id for s in sessions] == sorted(study_store["ids"], reverse=True)
    assert [s.participant_id for s in sessions] == ["P09", "P01"]
    assert sessions[1].protocol_id == study_store["first"][0]
    assert [s.status for s in sessions] == ["complete", "complete"]


def test_comparison_choices_count_participants_and_sessions(study_store):
    choices = load_choices(study_store["dir"])
    assert choices.studies == [("msc-pilot", 1), ("other", 0)]
    assert choices.participants == [("P01", 1), ("P09", 1)]


def test_study_names(study_store):
    assert load_study_names(study_store["dir"]) == ["msc-pilot", "other"]


def test_study_plan_of_an_enrolled_participant(study_store):
    plan = load_study_plan(study_store["dir"], "msc-pilot", "P01")
    assert isinstance(plan, StudyPlan)
    assert plan.order == study_store["first"] == tuple(CONDITIONS)
    assert plan.enrolled and plan.enrol_index == 0
    assert plan.done == frozenset({0}) and plan.position == 1
    assert plan.next_condition == "mindfulness_of_breathing" and plan.problem is None


def test_study_plan_of_a_new_participant_does_not_enrol_them(study_store):
    plan = load_study_plan(study_store["dir"], "msc-pilot", "P02")
    assert plan.order == ("mindfulness_of_breathing", "soothing_touch")  # the design's next
    assert not plan.enrolled and plan.enrol_index == 1
    assert plan.done == frozenset() and plan.position == 0
    assert plan.next_condition == "mindfulness_of_breathing"
    assert load_choices(study_store["dir"]).studies[0] == ("msc-pilot", 1)


def test_study_plan_when_every_condition_is_done(study_store):
    with SessionStore.open(study_store["dir"]) as store:
        second = store.create_session(source="sim", participant_id="P01",
                                      protocol_id=CONDITIONS[1])
        store.add_marker(second, Marker(600.0, 0.0, PROTOCOL_COMPLETED, MarkerKind.PROTOCOL))
        store.finish_session(second)
        record_session_in_study(store, second, "msc-pilot", "P01", 1)
    plan = load_study_plan(study_store["dir"], "msc-pilot", "P01")
    assert plan.position is None and plan.next_condition is None
    assert plan.problem == "Participant P01 has done all 2 conditions of study 'msc-pilot'."


def test_study_plan_of_an_unknown_study_says_so(study_store):
    with pytest.raises(BiofeedbackError, match="nope"):
        load_study_plan(study_store["dir"], "nope", "P01")


@pytest.mark.parametrize("good", ["", "P07", "p-01_b", "Ä1"])
def test_participant_ids_the_store_accepts(good):
    assert participant_id_problem(good) is None


@pytest.mark.parametrize("bad", ["Jane Doe", "p/01", "é@x"])
def test_participant_ids_the_store_refuses(bad, data_dir):
    problem = participant_id_problem(bad)
    assert problem == (
        f"Participant id {bad!r} may only hold letters, digits, '-' or '_' "
        "(a pseudonym such as P07, never a name)."
    )
    # The same verdict as the store's own rule.
    with SessionStore.open(data_dir) as store, pytest.raises(BiofeedbackError):
        store.ensure_participant(bad)
