"""Text-to-speech through the real espeak-ng: voices, the cache, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from audio_helpers import manual_runner

from biofeedback.audio.program import AudioProgram
from biofeedback.audio.speech import (
    SpeechError,
    cache_dir,
    find_engine,
    list_voices,
    synthesize,
)
from protocols.loader import load_protocol_text

RATE = 16_000


def test_espeak_speaks_from_the_first_sample_and_the_cache_keeps_it(speech_cache):
    voice = synthesize("Breathe in slowly.", RATE, voice="en", rate_wpm=150)
    assert voice.dtype == np.float32 and 0.6 < len(voice) / RATE < 3.0
    assert abs(voice[0]) >= 0.02 * float(np.max(np.abs(voice)))  # leading silence trimmed
    assert float(np.max(np.abs(voice))) == pytest.approx(0.5, abs=1e-3)
    cached = sorted(cache_dir().glob("*.wav"))
    assert len(cached) == 1 and cache_dir().parent == speech_cache
    stamp = cached[0].stat().st_mtime_ns
    again = synthesize("Breathe in slowly.", RATE, voice="en", rate_wpm=150)
    assert np.array_equal(again, voice)
    assert cached[0].stat().st_mtime_ns == stamp  # read back, not synthesized again
    # Voice, rate and text are all part of the key.
    faster = synthesize("Breathe in slowly.", RATE, voice="en", rate_wpm=220)
    assert len(faster) < len(voice)
    synthesize("Breathe in slowly.", RATE, voice="en-gb", rate_wpm=150)
    assert len(list(cache_dir().glob("*.wav"))) == 3


def test_the_voices_are_listed():
    voices = list_voices()
    ids = {v.id for v in voices}
    assert {"en-gb", "en-us", "de"} <= ids
    assert all(v.name for v in voices)


def test_an_unknown_voice_or_a_bad_rate_is_refused_with_a_sentence():
    with pytest.raises(SpeechError, match="espeak-ng has no voice 'no-such-voice'"):
        synthesize("Hello.", RATE, voice="no-such-voice")
    assert len(synthesize("Hello.", RATE, voice="en-us+f3")) > 0  # a voice with a variant
    assert len(synthesize("Hello.", RATE, voice="en")) > 0  # a language family
    with pytest.raises(SpeechError, match=r"speech rate 5 words/min is out of range \(80-450\)"):
        synthesize("Hello.", RATE, rate_wpm=5)


def test_without_an_engine_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no espeak-ng on it
    with pytest.raises(SpeechError, match="install espeak-ng: sudo apt install espeak-ng"):
        find_engine()
    protocol = load_protocol_text(
        'id = "s"\nname = "S"\ncategory = "neutral"\ndescription = "x"\n'
        '[[phases]]\nid = "a"\nname = "A"\nkind = "rest"\nduration_s = 5\n'
        'instructions = "Rest."\n[phases.cues]\nspeak_instructions = true\n', "s.toml")
    runner, _ = manual_runner(protocol)
    with pytest.raises(SpeechError, match="sudo apt install espeak-ng"):
        AudioProgram.build(protocol, runner, sample_rate=RATE)
    # A protocol that speaks nothing needs no engine.
    silent = load_protocol_text(
        'id = "q"\nname = "Q"\ncategory = "neutral"\ndescription = "x"\n'
        '[[phases]]\nid = "a"\nname = "A"\nkind = "rest"\nduration_s = 5\n', "q.toml")
    runner, _ = manual_runner(silent)
    assert AudioProgram.build(silent, runner, sample_rate=RATE).sample_rate == RATE
