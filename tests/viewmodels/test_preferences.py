"""biofeedback.viewmodels.preferences: settings.json written by older versions is still read."""

from __future__ import annotations

import json
import shutil

import pytest

from biofeedback.viewmodels.preferences import SETTINGS_FILE, KnownStrap, WindowPreferences
from conftest import DATA as TEST_DATA

OLD_FORMAT = TEST_DATA / "old_format"


def test_settings_json_from_before_the_breathing_rename_loads(tmp_path):
    # settings.json exactly as the version with ``pacer_rate_bpm`` saved it.
    shutil.copy(OLD_FORMAT / SETTINGS_FILE, tmp_path / SETTINGS_FILE)
    settings = WindowPreferences.load(tmp_path)
    assert settings.problems == []
    assert settings.pacer_breaths_per_min == 5.5
    assert settings.pacer_ie_ratio == 0.8
    assert settings.known_straps == [KnownStrap("AA:BB:CC:DD:EE:FF", "Polar H10 1234")]
    settings.save(tmp_path)
    data = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert data["pacer_breaths_per_min"] == 5.5
    assert "pacer_rate_bpm" not in data


def test_old_pacer_name_is_checked_like_the_new_one_and_named_as_stored(tmp_path):
    (tmp_path / SETTINGS_FILE).write_text(json.dumps({"pacer_rate_bpm": 45}), encoding="utf-8")
    settings = WindowPreferences.load(tmp_path)
    assert settings.pacer_breaths_per_min == 6.0
    assert settings.problems == [
        f"{tmp_path / SETTINGS_FILE}: setting 'pacer_rate_bpm' ignored (outside 2..30)"
    ]


def test_new_pacer_name_wins_over_the_old_one(tmp_path):
    data = {"pacer_rate_bpm": 5.0, "pacer_breaths_per_min": 7.0}
    (tmp_path / SETTINGS_FILE).write_text(json.dumps(data), encoding="utf-8")
    settings = WindowPreferences.load(tmp_path)
    assert settings.pacer_breaths_per_min == 7.0
    assert settings.problems == [
        f"{tmp_path / SETTINGS_FILE}: old setting 'pacer_rate_bpm' ignored "
        "('pacer_breaths_per_min' is also set)"
    ]


# ------------------------------------------------------------------------ audio settings


def _load(folder, data):
    (folder / SETTINGS_FILE).write_text(json.dumps(data), encoding="utf-8")
    return WindowPreferences.load(folder)


def test_audio_settings_default_to_audible_but_not_in_replays():
    prefs = WindowPreferences()
    assert (prefs.audio_volume, prefs.audio_muted, prefs.audio_voice, prefs.speech_rate_wpm,
            prefs.audio_in_replays) == (0.8, False, "en", 150.0, False)


def test_audio_settings_are_saved_and_read_back(tmp_path):
    prefs = WindowPreferences(audio_volume=0.35, audio_muted=True, audio_voice="en-gb",
                              speech_rate_wpm=120.0, audio_in_replays=True)
    prefs.save(tmp_path)
    data = json.loads((tmp_path / SETTINGS_FILE).read_text(encoding="utf-8"))
    assert (data["audio_volume"], data["audio_muted"], data["audio_voice"],
            data["speech_rate_wpm"], data["audio_in_replays"]) == (
        0.35, True, "en-gb", 120.0, True)
    again = WindowPreferences.load(tmp_path)
    assert again == prefs and again.problems == []


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("audio_volume", 1.5, "outside 0..1"),
    ("audio_volume", -0.1, "outside 0..1"),
    ("audio_volume", "loud", "expected a number"),
    ("audio_volume", True, "expected a number"),
    ("speech_rate_wpm", 20, "outside 80..450"),
    ("speech_rate_wpm", 1000, "outside 80..450"),
    ("audio_muted", 1, "expected true or false"),
    ("audio_muted", "yes", "expected true or false"),
    ("audio_in_replays", None, "expected true or false"),
    ("audio_voice", "", "expected a voice name, not an empty string"),
    ("audio_voice", "   ", "expected a voice name, not an empty string"),
    ("audio_voice", 3, "expected a string"),
    ("audio_voice", "en; rm -rf /", "expected a voice name (letters, digits and - _ + . : /)"),
])
def test_a_bad_audio_setting_falls_back_to_its_default_and_is_named(tmp_path, key, value,
                                                                     reason):
    prefs = _load(tmp_path, {key: value})
    assert getattr(prefs, key) == getattr(WindowPreferences(), key)
    assert prefs.problems == [f"{tmp_path / SETTINGS_FILE}: setting {key!r} ignored ({reason})"]


def test_a_voice_name_is_kept_without_surrounding_spaces(tmp_path):
    prefs = _load(tmp_path, {"audio_voice": "  en-us ", "audio_volume": 0, "audio_muted": True})
    assert (prefs.audio_voice, prefs.audio_volume, prefs.audio_muted) == ("en-us", 0.0, True)
    assert prefs.problems == []
