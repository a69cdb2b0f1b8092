"""The methods sentence on feedback shown or hidden, and what it says of old sessions."""

from __future__ import annotations

import numpy as np

from biofeedback.analysis import analyze_recording
from biofeedback.comparison.feedback_methods import (
    feedback_sentence,
    phase_feedback_counts,
    study_feedback_sentence,
)
from biofeedback.comparison.report import session_methods
from biofeedback.core.recording import Recording
from biofeedback.core.types import PhaseSpan

LAB = [("the baseline", "hidden"), ("the stressor", "hidden"), ("resonance breathing", "shown"),
       ("soothing touch", "hidden"), ("the recovery", "hidden")]


def test_shown_only_in_some_phases():
    assert feedback_sentence(LAB) == (
        "Participants saw their heart rate and HRV during resonance breathing only; feedback "
        "was hidden during the baseline, the stressor, soothing touch and the recovery.")


def test_every_phase_the_same():
    assert feedback_sentence([("A", "hidden"), ("B", "hidden")], who="the participant") == (
        "Feedback was hidden during every phase: the participant did not see their heart "
        "rate or HRV.")
    assert feedback_sentence([("A", "shown"), ("B", "shown")]) == (
        "Participants saw their heart rate and HRV during every phase.")


def test_not_recorded_is_said_never_guessed():
    assert feedback_sentence([("A", None), ("B", None)]) == (
        "Feedback shown/hidden was not recorded for these phases.")
    assert feedback_sentence([("Baseline", "hidden"), ("Imported part", None)]) == (
        "Feedback was hidden during Baseline; feedback shown/hidden was not recorded for "
        "Imported part.")
    assert feedback_sentence([]) == ""


def test_sessions_that_differ_are_named_as_such():
    pairs = [("the baseline", "hidden"), ("resonance breathing", "shown"),
             ("the baseline", "hidden"), ("resonance breathing", "hidden"),
             ("the recovery", None), ("the recovery", "hidden")]
    assert feedback_sentence(pairs) == (
        "Feedback was hidden during the baseline and the recovery; feedback was shown in "
        "some sessions and hidden in others during resonance breathing; feedback "
        "shown/hidden was not recorded in some sessions for the recovery.")


def test_study_counts_name_practices_and_phase_kinds():
    windows = [
        {"kind": "baseline", "practice": None, "feedback": "hidden"},
        {"kind": "practice", "practice": "resonance_breathing", "feedback": "shown"},
        {"kind": "practice", "practice": "soothing_touch", "feedback": "hidden"},
        {"kind": "recovery", "practice": None, "feedback": None},
        {"kind": "baseline", "practice": None, "feedback": "hidden"},
    ]
    counts = phase_feedback_counts(windows)
    assert counts == [
        {"label": "the baseline", "shown": 0, "hidden": 2, "not_recorded": 0},
        {"label": "resonance breathing", "shown": 1, "hidden": 0, "not_recorded": 0},
        {"label": "soothing touch", "shown": 0, "hidden": 1, "not_recorded": 0},
        {"label": "the recovery", "shown": 0, "hidden": 0, "not_recorded": 1},
    ]
    assert study_feedback_sentence(counts) == (
        "Participants saw their heart rate and HRV during resonance breathing only; feedback "
        "was hidden during the baseline and soothing touch; feedback shown/hidden was not "
        "recorded for the recovery.")


def _methods(phases: list[PhaseSpan]) -> str:
    from biofeedback.store.database import SessionInfo

    rr = np.full(200, 1000.0) + np.sin(np.arange(200)) * 30.0
    recording = Recording(rr, np.cumsum(rr) / 1000.0, phases=phases)
    info = SessionInfo(1, "P1", "sim", "complete", "p", "2026-11-01T10:00:00.000+00:00",
                       "2026-11-01T10:03:20.000+00:00", 200.0)
    return session_methods(info, analyze_recording(recording).to_dict())


def test_the_session_methods_say_where_feedback_was_shown():
    methods = _methods([
        PhaseSpan("baseline", "Baseline", "baseline", 0.0, 100.0, feedback="hidden"),
        PhaseSpan("practice", "Resonance breathing", "practice", 100.0, 201.0,
                  "resonance_breathing", "breathing", "shown")])
    assert ("The participant saw their heart rate and HRV during Resonance breathing only; "
            "feedback was hidden during Baseline.") in methods


def test_the_session_methods_of_an_old_session_say_it_was_not_recorded():
    methods = _methods([PhaseSpan("baseline", "Baseline", "baseline", 0.0, 100.0),
                        PhaseSpan("practice", "Practice", "practice", 100.0, 201.0)])
    assert "Feedback shown/hidden was not recorded for these phases." in methods
    assert "saw their" not in methods and "was hidden" not in methods
