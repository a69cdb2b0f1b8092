"""comparison.guidance_methods: how the guidance was delivered, said from stored markers."""

from __future__ import annotations

from biofeedback.comparison.guidance_methods import guidance_sentence
from biofeedback.core.types import (
    PARTICIPANT_SCREEN_CLOSED,
    PARTICIPANT_SCREEN_OPENED,
    Marker,
    MarkerKind,
)


def audio(onset_s: float, cue: str, error_ms: float, **extra: object) -> Marker:
    return Marker(onset_s, 0.0, cue, MarkerKind.AUDIO,
                  {"cue": cue, "scheduled_s": onset_s - error_ms / 1000, "error_ms": error_ms,
                   **extra})


def test_the_audio_cues_the_voice_and_their_timing_are_said() -> None:
    speech = {"engine": "espeak-ng", "voice": "en", "rate_wpm": 150}
    markers = [
        audio(0.0, "start_chime", 1.0), audio(1.0, "instructions", 2.0, **speech),
        audio(60.0, "prompt", -3.0, **speech), audio(90.0, "prompt", 4.0, **speech),
        audio(120.0, "start_chime", 9.0), audio(120.5, "recording", 0.5, file="/a/b/calm.ogg"),
        Marker(5.0, 0.0, "distraction", MarkerKind.USER, {}),
    ]
    assert guidance_sentence(markers) == (
        "Audio guidance was played: 2 chimes, 1 spoken instruction, 2 spoken prompts and 1 "
        "recorded guidance file (speech synthesized offline by espeak-ng, voice en, 150 "
        "words/min); recorded guidance: calm.ogg. Each cue's heard onset was stored beside its "
        "scheduled one: they differed by a median of 2.5 ms (max 9.0 ms, 6 cues)."
    )


def test_the_participant_screen_is_said_and_no_audio_is_not_guessed() -> None:
    markers = [
        Marker(0.2, 0.0, PARTICIPANT_SCREEN_OPENED, MarkerKind.PROTOCOL, {"display": 2}),
        Marker(300.0, 0.0, PARTICIPANT_SCREEN_CLOSED, MarkerKind.PROTOCOL, {}),
    ]
    assert guidance_sentence(markers) == (
        "No audio guidance was recorded (the guidance was on screen only). A participant "
        "screen (display 2) showed the participant the guidance, the pacer, the stressor and "
        "the questions, and no physiology; it was closed for part of the session; the "
        "operator followed the recording on a separate window."
    )
    late = [Marker(150.0, 0.0, PARTICIPANT_SCREEN_OPENED, MarkerKind.PROTOCOL, {"display": 1})]
    assert "(display 1) showed" in guidance_sentence(late)
    assert "no physiology from 2.5 min;" in guidance_sentence(late)


def test_a_free_recording_without_guidance_says_nothing() -> None:
    assert guidance_sentence([], has_protocol=False) == ""
    assert guidance_sentence([]) == (
        "No audio guidance was recorded (the guidance was on screen only).")
