"""biofeedback.viewmodels.preferences: settings.json written by older versions is still read."""

from __future__ import annotations

import json
import shutil

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
