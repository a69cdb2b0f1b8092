"""Fuzzing ``settings.json``: whatever the file holds (any JSON value, valid settings mutated,
a cut file, bytes, numbers of thousands of digits, nesting deeper than the parser's stack),
``WindowPreferences.load`` returns usable settings, names in ``problems`` the file and what
it did not use, and what it returns saves and loads back equal (``tests/fuzz_targets.py``).
Plain regression tests below keep every input that once crashed the loader or slipped
through it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fuzz_targets import check_settings, settings_texts
from hypothesis import HealthCheck, given, settings

from biofeedback.viewmodels.preferences import SETTINGS_FILE, KnownStrap, WindowPreferences

EXAMPLES = int(os.environ.get("BIOFEEDBACK_FUZZ_EXAMPLES", "150"))
"""Examples (raise it for a longer hunt, or run benchmarks/fuzz_inputs.py)."""


@settings(max_examples=EXAMPLES * 2, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=settings_texts())
def test_any_settings_file_loads_usable_settings(tmp_path, data):
    check_settings(tmp_path / "data", data)


# ------------------------------------------------------------------ regressions (found by fuzzing)


def _load(folder: Path, text: str) -> WindowPreferences:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / SETTINGS_FILE).write_text(text, encoding="utf-8")
    return WindowPreferences.load(folder)


@pytest.mark.parametrize("key", ["speed", "plot_span_s", "pacer_breaths_per_min"])
def test_a_whole_number_beyond_the_floats_is_ignored_with_a_reason(tmp_path, key):
    # Found: {"speed": 1000...0} (400 digits) escaped as OverflowError.
    prefs = _load(tmp_path, f'{{"{key}": 1{"0" * 400}}}')
    assert getattr(prefs, key) == getattr(WindowPreferences(), key)
    assert prefs.problems == [f"{tmp_path / SETTINGS_FILE}: setting {key!r} ignored (too large)"]


def test_a_number_of_5000_digits_gives_the_defaults_with_a_reason(tmp_path):
    # Found: Python refuses to read ints of more than 4300 digits: ValueError escaped.
    prefs = _load(tmp_path, '{"speed": ' + "9" * 5000 + "}")
    assert prefs == WindowPreferences()
    assert len(prefs.problems) == 1
    assert prefs.problems[0].startswith(f"{tmp_path / SETTINGS_FILE}: not usable (Exceeds the "
                                        "limit (4300 digits) for integer string conversion")
    assert prefs.problems[0].endswith("; using defaults")


def test_nesting_deeper_than_the_json_parser_recurses_gives_the_defaults(tmp_path):
    # Found: [[[[...]]]] 100 000 deep escaped as RecursionError.
    prefs = _load(tmp_path, '{"marker_labels": ' + "[" * 100_000 + "]" * 100_000 + "}")
    assert prefs == WindowPreferences()
    assert prefs.problems == [
        f"{tmp_path / SETTINGS_FILE}: nested too deeply to read; using defaults"
    ]


@pytest.mark.parametrize("text", ["Infinity", "-Infinity", "NaN", '"2"', "true"])
def test_speed_is_a_finite_positive_number_or_null(tmp_path, text):
    # Found: Infinity was kept as the speed, and "2" and true were read as 2.0 and 1.0.
    prefs = _load(tmp_path, f'{{"speed": {text}}}')
    assert prefs.speed == 1.0
    assert len(prefs.problems) == 1 and "setting 'speed' ignored" in prefs.problems[0]


def test_a_strap_entry_without_a_usable_address_is_named_not_turned_into_text(tmp_path):
    # Found: {"address": null} became a strap with the address "None", a list became
    # "['x']", and other entries were dropped without a word.
    prefs = _load(tmp_path, '{"known_straps": [{"address": "AA:BB"}, {"address": null}, '
                            '{"address": ["x"]}, "CC:DD", {"address": "EE:FF", "name": 3}, '
                            '{"address": "11:22", "name": "H10"}]}')
    assert prefs.known_straps == [KnownStrap("AA:BB"), KnownStrap("11:22", "H10")]
    path = tmp_path / SETTINGS_FILE
    assert [p.split(" ignored")[0] for p in prefs.problems] == [
        f"{path}: known_straps[{i}]" for i in (1, 2, 3, 4)
    ]
