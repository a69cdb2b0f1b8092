"""The guidance view-model: which page a phase shows, when physiology is hidden, the operator's
mirror sentences, and which display the participant screen goes on."""

from __future__ import annotations

import dataclasses

import pytest

from biofeedback.core.errors import BiofeedbackError
from biofeedback.viewmodels.displays import (
    DisplayNotFoundError,
    choose_participant_display,
    describe_displays,
)
from biofeedback.viewmodels.guidance import (
    GuidancePage,
    feedback_visible,
    page_for,
    self_report_progress,
    stressor_progress,
)
from protocols.library import get_protocol
from protocols.model import FeedbackVisibility


def test_the_stress_reactivity_phases_show_their_pages():
    protocol = get_protocol("stress_reactivity:resonance_breathing")
    pages = {p.id: page_for(p) for p in protocol.phases}
    assert pages == {
        "baseline": GuidancePage.NATURAL,
        "report_baseline": GuidancePage.SELF_REPORT,
        "stressor": GuidancePage.STRESSOR,
        "report_stressor": GuidancePage.SELF_REPORT,
        "practice": GuidancePage.PACER,
        "report_practice": GuidancePage.SELF_REPORT,
        "recovery": GuidancePage.NATURAL,
    }
    stressor = protocol.phase("stressor")
    assert stressor.stressor is not None
    # A stressor guided by prompts only (no task) and a self-report phase without items.
    no_task = dataclasses.replace(
        stressor, stressor=dataclasses.replace(stressor.stressor, task="none"))
    assert page_for(no_task) is GuidancePage.NATURAL
    no_items = dataclasses.replace(protocol.phase("report_baseline"), self_report=())
    assert page_for(no_items) is GuidancePage.NATURAL


def test_feedback_is_hidden_only_in_a_hidden_phase_on_a_shared_window_without_the_key():
    protocol = get_protocol("stress_reactivity:resonance_breathing")
    baseline, practice = protocol.phase("baseline"), protocol.phase("practice")
    # The loader's defaults: hidden in the baseline, shown in a biofeedback practice.
    assert baseline.feedback is FeedbackVisibility.HIDDEN
    assert practice.feedback is FeedbackVisibility.SHOWN
    table = {
        (phase_id, screen, peek): feedback_visible(phase, screen, peek)
        for phase_id, phase in (("none", None), ("baseline", baseline), ("practice", practice))
        for screen in (False, True)
        for peek in (False, True)
    }
    hidden = {key for key, visible in table.items() if not visible}
    assert hidden == {("baseline", False, False)}


def test_the_mirror_sentences_say_what_the_participant_does():
    assert self_report_progress(0, 4, False) == (
        "Answering on the participant screen: question 1 of 4")
    assert self_report_progress(1, 4, False) == (
        "Answering on the participant screen: question 2 of 4")
    assert self_report_progress(4, 4, False) == (
        "Answering on the participant screen: all 4 questions answered, not yet submitted")
    assert self_report_progress(4, 4, True) == (
        "The participant submitted the answers on the participant screen.")
    assert stressor_progress(None) == "The task runs on the participant screen."
    assert stressor_progress({"answers": 4, "correct": 3, "errors": 1}) == (
        "Answering on the participant screen: 4 answers, 3 correct, 1 error")
    assert stressor_progress({"answers": 0, "correct": 0, "errors": 0}) == (
        "Answering on the participant screen: 0 answers, 0 correct, 0 errors")


def test_the_participant_display_is_numbered_from_one_and_defaults_to_another_display():
    names = ["DP-1", "HDMI-1", "DP-2"]
    assert choose_participant_display(names, 1, 0) == 0
    assert choose_participant_display(names, 3, 0) == 2
    # Default: the first display that is not the operator window's, or the only one.
    assert choose_participant_display(names, None, 0) == 1
    assert choose_participant_display(names, None, 1) == 0
    assert choose_participant_display(names, None, None) == 0
    assert choose_participant_display(["only"], None, 0) == 0
    assert describe_displays(names) == "3 displays: 1 = DP-1, 2 = HDMI-1, 3 = DP-2"
    assert describe_displays([""]) == "1 display: 1 = unnamed"


@pytest.mark.parametrize(("names", "requested", "message"), [
    (["DP-1"], 5, "there is no display 5 for the participant screen; there is 1 display: "
                  "1 = DP-1 (displays are numbered from 1)"),
    (["DP-1", "HDMI-1"], 3, "there is no display 3 for the participant screen; there are "
                            "2 displays: 1 = DP-1, 2 = HDMI-1 (displays are numbered from 1)"),
    (["DP-1"], 0, "there is no display 0 for the participant screen"),
    ([], None, "there is no display to open the participant screen on"),
])
def test_a_display_that_does_not_exist_is_refused_naming_those_there_are(
    names, requested, message
):
    with pytest.raises(DisplayNotFoundError) as caught:
        choose_participant_display(names, requested, None)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, BiofeedbackError)
