"""Self-report answers: validation, markers both ways, simulated answers."""

from __future__ import annotations

import numpy as np
import pytest

from biofeedback.core.errors import BiofeedbackError
from biofeedback.core.types import Marker, MarkerKind
from protocols.model import PhaseKind, SelfReportItem
from protocols.self_report import (
    SelfReportAnswer,
    SelfReportError,
    answers_by_phase,
    answers_to_markers,
    markers_to_answers,
    simulated_answers,
    validate_answers,
)

ITEMS = (
    SelfReportItem("calm", "How calm do you feel right now?"),
    SelfReportItem("stress", "How stressed do you feel right now?"),
)


def test_valid_answers_come_back_in_item_order():
    assert validate_answers(ITEMS, {"stress": 2, "calm": 7}) == {"calm": 7, "stress": 2}
    assert list(validate_answers(ITEMS, {"stress": 0, "calm": 10})) == ["calm", "stress"]


@pytest.mark.parametrize(
    ("answers", "words"),
    [
        ({"calm": 7, "stress": 2, "mood": 5}, ["unknown", "'mood'"]),
        ({"calm": 7}, ["not answered", "'stress'"]),
        ({"calm": 7.5, "stress": 2}, ["'calm'", "whole number"]),
        ({"calm": "7", "stress": 2}, ["'calm'", "whole number"]),
        ({"calm": True, "stress": 2}, ["'calm'", "whole number"]),
        ({"calm": 11, "stress": 2}, ["'calm'", "outside 0-10"]),
        ({"calm": 7, "stress": -1}, ["'stress'", "outside 0-10"]),
    ],
)
def test_validation_errors_name_the_problem(answers, words):
    with pytest.raises(SelfReportError) as info:
        validate_answers(ITEMS, answers)
    assert isinstance(info.value, BiofeedbackError)
    for word in words:
        assert word in str(info.value)


def test_numpy_integers_are_accepted():
    assert validate_answers(ITEMS, {"calm": np.int64(4), "stress": 6}) == {"calm": 4, "stress": 6}


def test_markers_round_trip():
    markers = answers_to_markers("post_stress", {"calm": 7, "stress": 3}, 312.5)
    assert [m.label for m in markers] == ["self-report calm=7", "self-report stress=3"]
    assert all(m.kind == MarkerKind.SELF_REPORT and m.onset_s == 312.5 for m in markers)
    assert markers[0].extra == {"phase": "post_stress", "item": "calm", "value": 7}
    mixed = [Marker(1.0, 0.0, "itchy nose"), *markers]
    assert markers_to_answers(mixed) == [
        SelfReportAnswer("calm", 7, 312.5, "post_stress"),
        SelfReportAnswer("stress", 3, 312.5, "post_stress"),
    ]
    later = answers_to_markers("post_practice", {"calm": 8, "stress": 1}, 900.0)
    assert answers_by_phase(markers + later) == {
        "post_stress": {"calm": 7, "stress": 3},
        "post_practice": {"calm": 8, "stress": 1},
    }


def test_answers_to_markers_rejects_bad_values():
    with pytest.raises(SelfReportError):
        answers_to_markers("p", {"calm": 12}, 0.0)


def test_simulated_answers_are_valid_and_plausible():
    rng = np.random.default_rng(1)
    after_stress = [simulated_answers(ITEMS, PhaseKind.STRESSOR, rng) for _ in range(200)]
    after_practice = [simulated_answers(ITEMS, "practice", rng) for _ in range(200)]
    for answers in after_stress + after_practice:
        assert validate_answers(ITEMS, answers) == answers
    calm_stress = np.mean([a["calm"] for a in after_stress])
    calm_practice = np.mean([a["calm"] for a in after_practice])
    assert calm_stress < 4.5 < 5.5 < calm_practice
    assert np.mean([a["stress"] for a in after_stress]) > 5.5
