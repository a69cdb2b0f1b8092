"""The built-in protocols' audio guidance and feedback: every one speaks and chimes, its
spoken wording works with closed eyes, and the lab templates hide the participant's
physiology (except during a breathing practice, which is biofeedback by design)."""

from __future__ import annotations

import itertools

import pytest

from protocols.library import get_protocol, list_practices, list_protocols
from protocols.model import (
    FeedbackVisibility,
    PacerSound,
    Phase,
    PhaseKind,
    PracticeProtocol,
    ProtocolCategory,
)

TEMPLATES = ("stress_reactivity", "practice_comparison")
PRACTICE_IDS = sorted(p.id for p in list_practices())


def composed() -> list[PracticeProtocol]:
    """Every built-in, and every lab template filled with every built-in practice."""
    protocols = list(list_protocols())
    protocols += [get_protocol(f"stress_reactivity:{p}") for p in PRACTICE_IDS]
    protocols += [get_protocol(f"practice_comparison:{a},{b}")
                  for a, b in itertools.permutations(PRACTICE_IDS, 2)]
    return protocols


def says_close_eyes(phase: Phase) -> bool:
    spoken = [phase.spoken_text, *(p.spoken_text for p in phase.prompts)]
    return any("eyes close" in t or "close your eyes" in t for t in spoken)


def test_the_lab_templates_use_the_participant_screen():
    assert all(get_protocol(t).participant_screen for t in TEMPLATES)
    assert get_protocol("practice_comparison:resonance_breathing,soothing_touch") \
        .participant_screen
    assert not any(p.participant_screen for p in list_practices())  # a practice at home


@pytest.mark.parametrize("template", TEMPLATES)
@pytest.mark.parametrize("practice", PRACTICE_IDS)
def test_lab_templates_hide_feedback_except_a_breathing_practice(template, practice):
    other = "body_scan" if practice == "quiet_rest" else "quiet_rest"
    spec = (f"{template}:{practice}" if template == "stress_reactivity"
            else f"{template}:{practice},{other}")
    protocol = get_protocol(spec)
    shown = [ph.id for ph in protocol.phases if ph.feedback is FeedbackVisibility.SHOWN]
    breathing = [ph.id for ph in protocol.phases if ph.category is ProtocolCategory.BREATHING]
    assert shown == breathing
    assert breathing == (["practice" if template == "stress_reactivity" else "practice_a"]
                         if practice == "resonance_breathing" else [])


def test_the_bare_templates_hide_every_phase():
    for template in TEMPLATES:
        assert {ph.feedback for ph in get_protocol(template).phases} == {
            FeedbackVisibility.HIDDEN}


def test_breathing_practices_alone_show_feedback_with_an_audio_pacer():
    for pid in ("resonance_breathing", "soothing_rhythm_breathing"):
        practice = get_protocol(pid).phase("practice")
        assert practice.feedback is FeedbackVisibility.SHOWN
        assert practice.pacer is not None
        assert practice.cues.pacer_sound is PacerSound.TONE, pid


@pytest.mark.parametrize("protocol", composed(), ids=lambda p: p.id)
def test_every_built_in_speaks_and_chimes(protocol):
    for phase in protocol.phases:
        cues = phase.cues
        assert (cues.chimes, cues.speak_instructions, cues.speak_prompts) == (
            True, True, True), (protocol.id, phase.id)
        assert phase.spoken_text.strip(), (protocol.id, phase.id)
        if phase.pacer is not None:
            assert phase.cues.pacer_sound is not PacerSound.OFF, (protocol.id, phase.id)


@pytest.mark.parametrize("protocol", composed(), ids=lambda p: p.id)
def test_spoken_wording_works_with_closed_eyes(protocol):
    for phase in protocol.phases:
        where = (protocol.id, phase.id)
        if phase.kind is PhaseKind.SELF_REPORT:
            # The questions are on the screen: the voice asks to open the eyes first.
            assert phase.spoken_text == ("Please open your eyes and answer the questions on "
                                         "the screen."), where
        if says_close_eyes(phase):
            # Whoever closed their eyes is told when to open them, before the phase ends.
            assert phase.prompts, where
            assert phase.prompts[-1].spoken_text.endswith(
                "When you are ready, open your eyes."), where
        # Read aloud, numbers and the screen's pacer need words of their own.
        for text in (phase.spoken_text, *(p.spoken_text for p in phase.prompts)):
            assert "1022" not in text and "0 to 10" not in text, where


def test_practices_done_with_closed_eyes_say_so_at_the_start_and_the_end():
    closed = [p.id for p in list_practices() if says_close_eyes(p.phase("practice"))]
    assert sorted(closed) == sorted(set(PRACTICE_IDS) - {"quiet_rest",
                                                          "resonance_breathing"})
    # The resonance pacer stays on the screen, beside the feedback: the eyes stay open.
    resonance = get_protocol("resonance_breathing").phase("practice")
    assert "open your eyes" not in resonance.prompts[-1].spoken_text
    assert resonance.prompts[0].spoken_text.startswith("Sit upright and relaxed. Follow the "
                                                       "pacer, or the tone")


def test_a_halfway_bell_in_the_long_silent_sitting_only():
    bells = [(p.id, ph.id) for p in list_protocols() for ph in p.phases
             if ph.cues.halfway_bell]
    assert bells == [("open_awareness", "practice")]
    # In a lab template the practice keeps its bell.
    assert get_protocol("stress_reactivity:open_awareness").phase("practice").cues \
        .halfway_bell


def test_the_stressor_is_spoken_in_words():
    stressor = get_protocol("stress_reactivity").phase("stressor")
    assert stressor.spoken_text.startswith("Please keep your eyes open. Count backwards out "
                                           "loud from ten twenty-two in steps of thirteen")
    assert stressor.instructions.startswith("Count backwards out loud from 1022")
    assert stressor.prompts[0].spoken_text == ("Begin now: ten twenty-two, minus thirteen, "
                                               "and keep going out loud.")
