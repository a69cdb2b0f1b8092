"""protocols.loader: the keys of issue 15 (feedback shown/hidden, audio cues, spoken wording,
participant screen), their defaults, their errors, and their way back through the dumper."""

from __future__ import annotations

import pytest

from biofeedback.core.errors import InputFileError
from protocols.library import compose, get_protocol
from protocols.loader import dump_protocol_toml, load_protocol_text
from protocols.model import (
    CueSettings,
    FeedbackVisibility,
    PacerSound,
    PhaseKind,
    ProtocolCategory,
)

HEAD = """\
id = "demo"
name = "Demo"
category = "self_soothing"
description = "Test protocol."
"""

PHASES = """
[[phases]]
id = "baseline"
name = "Baseline"
kind = "baseline"
duration_s = 60

[[phases]]
id = "practice"
name = "Practice"
kind = "practice"
practice = "soothing_touch"
duration_s = 120
instructions = "Rest a hand where it feels good."
spoken_instructions = "Close your eyes, and rest a hand where it feels good."

[[phases.prompts]]
at_s = 10
text = "Notice the warmth."
spoken = "Notice the warmth of your hand."

[[phases.prompts]]
at_s = 20
text = "Keep resting."

[[phases]]
id = "recovery"
name = "Recovery"
kind = "recovery"
duration_s = 60
"""


def test_feedback_defaults_hide_everything_but_practices() -> None:
    protocol = load_protocol_text(HEAD + PHASES)
    feedback = {p.id: p.feedback for p in protocol.phases}
    assert feedback == {
        "baseline": FeedbackVisibility.HIDDEN,
        "practice": FeedbackVisibility.SHOWN,
        "recovery": FeedbackVisibility.HIDDEN,
    }
    assert protocol.participant_screen is False


def test_defaults_feedback_applies_to_practices_and_a_phase_key_wins() -> None:
    text = HEAD + 'participant_screen = true\n[defaults]\nfeedback = "hidden"\n' + PHASES.replace(
        'kind = "recovery"', 'kind = "recovery"\nfeedback = "shown"'
    )
    protocol = load_protocol_text(text)
    assert protocol.participant_screen is True
    assert protocol.phase("practice").feedback is FeedbackVisibility.HIDDEN
    assert protocol.phase("recovery").feedback is FeedbackVisibility.SHOWN


def test_cues_merge_defaults_key_by_key() -> None:
    phase_cues = (
        '[phases.cues]\nhalfway_bell = false\npacer_sound = "breath"\n'
        "speak_instructions = true\n\n[[phases.prompts]]\nat_s = 10"
    )
    text = HEAD + "[defaults.cues]\nspeak_prompts = true\nhalfway_bell = true\n" + PHASES.replace(
        "[[phases.prompts]]\nat_s = 10", phase_cues
    )
    protocol = load_protocol_text(text)
    assert protocol.phase("baseline").cues == CueSettings(
        chimes=True, halfway_bell=True, speak_prompts=True
    )
    assert protocol.phase("practice").cues == CueSettings(
        chimes=True, halfway_bell=False, speak_instructions=True, speak_prompts=True,
        pacer_sound=PacerSound.BREATH,
    )
    assert load_protocol_text(HEAD + PHASES).phase("practice").cues == CueSettings()


def test_spoken_wording_falls_back_to_the_written_one() -> None:
    protocol = load_protocol_text(HEAD + PHASES)
    practice = protocol.phase("practice")
    assert practice.spoken_text == "Close your eyes, and rest a hand where it feels good."
    assert [p.spoken_text for p in practice.prompts] == [
        "Notice the warmth of your hand.", "Keep resting."
    ]
    assert protocol.phase("baseline").spoken_text == ""


def test_the_new_keys_come_back_from_the_dumper() -> None:
    text = HEAD + 'participant_screen = true\n[defaults.cues]\nspeak_prompts = true\n' + PHASES
    protocol = load_protocol_text(text)
    assert load_protocol_text(dump_protocol_toml(protocol)) == protocol


@pytest.mark.parametrize(
    ("tail", "field", "match"),
    [
        ('feedback = "visible"', "phases[2].feedback", "unknown feedback 'visible'"),
        ('[phases.cues]\nchimes = "yes"', "phases[2].cues.chimes", "expected true or false"),
        ('[phases.cues]\npacer_sound = "bell"', "phases[2].cues.pacer_sound",
         "unknown pacer sound 'bell'"),
        ("[phases.cues]\nchime = true", "phases[2].cues.chime", "did you mean 'chimes'?"),
        ('duration = "audio"', "phases[2].duration", "not both duration_s and duration"),
    ],
)
def test_bad_values_name_the_field(tail: str, field: str, match: str) -> None:
    # Appended to the last phase (the recovery, phases[2]).
    text = HEAD + PHASES + tail + "\n"
    with pytest.raises(InputFileError) as info:
        load_protocol_text(text, "demo.toml")
    assert info.value.field == field, str(info.value)
    assert match in info.value.reason
    assert info.value.line == text.splitlines().index(tail.splitlines()[-1]) + 1


def test_duration_audio_needs_an_audio_file() -> None:
    text = HEAD + PHASES.replace("duration_s = 120", 'duration = "audio"')
    with pytest.raises(InputFileError) as info:
        load_protocol_text(text, "demo.toml")
    assert info.value.field == "phases[1].duration"
    assert "needs the phase's 'audio' file" in info.value.reason
    text = HEAD + PHASES.replace("duration_s = 120", 'duration = "long"')
    with pytest.raises(InputFileError, match='only duration by name is "audio"'):
        load_protocol_text(text, "demo.toml")


def test_a_lab_template_hides_feedback_but_a_breathing_practice_keeps_its_own() -> None:
    template = load_protocol_text(
        HEAD.replace('"self_soothing"', '"stress_reactivity"')
        + 'participant_screen = true\n[defaults]\nfeedback = "hidden"\n'
        + PHASES.replace('practice = "soothing_touch"\n',
                         'practice = "slot"\ncategory = "neutral"\n')
    )
    assert template.phase("practice").feedback is FeedbackVisibility.HIDDEN
    soothing = get_protocol("soothing_touch")
    resonance = get_protocol("resonance_breathing")
    assert resonance.category is ProtocolCategory.BREATHING
    for practice, expected in ((soothing, FeedbackVisibility.HIDDEN),
                               (resonance, FeedbackVisibility.SHOWN)):
        composed = compose(template, [practice])
        slot = [p for p in composed.phases if p.kind is PhaseKind.PRACTICE]
        assert slot and all(p.feedback is expected for p in slot), practice.id
        assert composed.participant_screen is True
