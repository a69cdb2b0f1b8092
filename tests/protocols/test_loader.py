"""protocols.loader: TOML protocol files in, PracticeProtocol out, every error located."""

from __future__ import annotations

import dataclasses

import pytest

from biofeedback.core.errors import InputFileError
from conftest import DATA as TEST_DATA
from conftest import ROOT
from protocols.loader import (
    dump_protocol_toml,
    load_protocol_file,
    load_protocol_text,
    locate_key,
)
from protocols.model import (
    CueSettings,
    FeedbackVisibility,
    GuidancePrompt,
    PacerSettings,
    Phase,
    PhaseKind,
    PracticeProtocol,
    ProtocolCategory,
    SelfReportItem,
    StressorSettings,
)

# Line numbers matter: the tests below assert them.
VALID = """\
id = "demo"
name = "Demo protocol"
category = "self_soothing"
description = "A small protocol for the tests."
sources = ["Someone et al. (2000)"]

[[defaults.self_report]]
id = "calm"
question = "How calm are you?"

[[phases]]
id = "settle_in"
name = "Settling in"
kind = "baseline"
duration_min = 2
expected_breaths_per_min = 12

[[phases]]
id = "report_pre"
name = "Before"
kind = "self_report"
duration_s = 60

[[phases]]
id = "practice"
name = "Soothing touch"
kind = "practice"
duration_s = 300
practice = "soothing_touch"
instructions = "Rest a hand where it feels good."

[phases.pacer]
breaths_per_min = 6
inhale_exhale_ratio = 0.67

[[phases.prompts]]
at_s = 0
text = "Settle in."

[[phases.prompts]]
at_s = 60
text = "Notice the warmth of your hand."

[[phases]]
id = "stressor"
name = "Arithmetic"
kind = "stressor"
duration_s = 120

[phases.stressor]
task = "serial_subtraction"
time_limit_s = 7.5

[[phases]]
id = "report_post"
name = "After"
kind = "self_report"
duration_s = 60

[[phases.self_report]]
id = "calm"
question = "How calm are you now?"
low_label = "tense"
high_label = "very calm"

[[phases.self_report]]
id = "kind"
question = "How kind toward yourself?"
"""


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line equal to ``needle`` (after stripping)."""
    seen = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip() == needle:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in text")


def refuse(text: str, *, line: int | None, field: str | None, match: str) -> InputFileError:
    with pytest.raises(InputFileError) as info:
        load_protocol_text(text, "demo.toml")
    err = info.value
    assert err.path.name == "demo.toml"
    assert (err.line, err.field) == (line, field), str(err)
    assert match in err.reason, str(err)
    assert "demo.toml" in str(err)
    if line is not None:
        assert f"line {line}" in str(err)
    if field is not None:
        assert repr(field) in str(err)
    return err


def replace_line(text: str, old: str, new: str, occurrence: int = 1) -> str:
    lines = text.splitlines()
    n = line_of(text, old, occurrence)
    lines[n - 1] = new
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- valid files


def test_valid_text_loads_everything():
    p = load_protocol_text(VALID)
    assert (p.id, p.name, p.category) == ("demo", "Demo protocol", ProtocolCategory.SELF_SOOTHING)
    assert p.sources == ("Someone et al. (2000)",)
    assert [ph.id for ph in p.phases] == [
        "settle_in", "report_pre", "practice", "stressor", "report_post",
    ]
    assert p.phases[0].duration_s == 120.0
    assert p.phases[0].expected_breaths_per_min == 12.0
    # defaults: self-report items go to self_report phases without their own
    assert p.phases[1].self_report == (SelfReportItem("calm", "How calm are you?"),)
    practice = p.phase("practice")
    assert practice.kind is PhaseKind.PRACTICE
    assert practice.practice == "soothing_touch"
    assert practice.category is ProtocolCategory.SELF_SOOTHING  # inherited from the protocol
    assert practice.pacer == PacerSettings(6.0, 0.67)
    assert practice.expected_breaths_per_min == 6.0  # the pacer rate
    assert practice.prompts == (
        GuidancePrompt(0.0, "Settle in."), GuidancePrompt(60.0, "Notice the warmth of your hand."),
    )
    assert p.phase("stressor").stressor == StressorSettings(
        "serial_subtraction", {"start": 1022, "step": 13, "time_limit_s": 7.5}
    )
    assert p.phase("report_post").self_report == (
        SelfReportItem("calm", "How calm are you now?", "tense", "very calm"),
        SelfReportItem("kind", "How kind toward yourself?"),
    )
    assert p.duration_s == 120 + 60 + 300 + 120 + 60


def test_round_trip_file(tmp_path):
    p = load_protocol_text(VALID)
    text = dump_protocol_toml(p)
    path = tmp_path / "again.toml"
    path.write_text(text, encoding="utf-8")
    assert load_protocol_file(path) == p
    assert dump_protocol_toml(load_protocol_file(path)) == text


def test_round_trip_awkward_values():
    p = PracticeProtocol(
        id="odd",
        name='Quotes " and \\ backslash\tand tab',
        category=ProtocolCategory.BREATHING,
        description="Line one\nline two \u00e9\u2764 \x7f",
        phases=(
            Phase(
                "p", "Paced", PhaseKind.PRACTICE, 123.456, practice="x",
                category=ProtocolCategory.BREATHING,
                pacer=PacerSettings(5.5, 0.8, 0.5, 1.25), expected_breaths_per_min=5.5,
                prompts=(GuidancePrompt(0.5, "a"), GuidancePrompt(100.25, "b")),
            ),
            Phase("r", "Rest", PhaseKind.REST, 1.0),
            Phase(
                "s", "Stress", PhaseKind.STRESSOR, 60.0,
                stressor=StressorSettings("serial_subtraction", {"start": 2000, "step": 7,
                                                                 "error_feedback": True}),
            ),
        ),
    )
    assert load_protocol_text(dump_protocol_toml(p)) == p


def test_timed_pacer_and_bom():
    text = "\ufeff" + VALID.replace(
        "breaths_per_min = 6\ninhale_exhale_ratio = 0.67",
        "inhale_s = 4\nexhale_s = 5\nhold_after_exhale_s = 1",
    )
    pacer = load_protocol_text(text).phase("practice").pacer
    assert pacer == PacerSettings(6.0, 0.8, 0.0, 1.0)
    assert pacer.inhale_s == pytest.approx(4.0)
    assert pacer.exhale_s == pytest.approx(5.0)


def test_locator_finds_nested_keys():
    assert locate_key(VALID, ("phases", 2, "pacer", "breaths_per_min")) == line_of(
        VALID, "breaths_per_min = 6"
    )
    assert locate_key(VALID, ("phases", 2, "prompts", 1, "at_s")) == line_of(VALID, "at_s = 60")
    assert locate_key(VALID, ("phases", 4, "self_report", 1, "id")) == line_of(
        VALID, 'id = "kind"'
    )
    # a missing key falls back to its table's header
    assert locate_key(VALID, ("phases", 1, "nope")) == line_of(VALID, "[[phases]]", 2)
    assert locate_key(VALID, ("nothing",)) is None


# --------------------------------------------------------------------------- file-level errors


def test_file_not_found(tmp_path):
    with pytest.raises(InputFileError, match="file not found") as info:
        load_protocol_file(tmp_path / "missing.toml")
    assert info.value.path == tmp_path / "missing.toml"


def test_binary_file(tmp_path):
    path = tmp_path / "b.toml"
    path.write_bytes(b'id = "x"\n\x00\x01\x02')
    with pytest.raises(InputFileError, match="binary") as info:
        load_protocol_file(path)
    assert info.value.line == 2


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(VALID.replace("Demo protocol", "D\u00e9mo").encode("latin-1"))
    with pytest.raises(InputFileError, match="not UTF-8") as info:
        load_protocol_file(path)
    assert info.value.line == 2
    assert info.value.path == path


def test_a_folder(tmp_path):
    with pytest.raises(InputFileError, match="folder"):
        load_protocol_file(tmp_path)


def test_toml_syntax_error_line():
    text = replace_line(VALID, "duration_s = 300", "duration_s = = 300")
    refuse(text, line=line_of(VALID, "duration_s = 300"), field=None, match="not valid TOML")


def test_toml_duplicate_key_line():
    text = replace_line(VALID, 'practice = "soothing_touch"', 'kind = "practice"')
    refuse(text, line=line_of(VALID, 'practice = "soothing_touch"'), field=None,
           match="not valid TOML")


# --------------------------------------------------------------------------- semantic errors


def test_unknown_key_with_suggestion():
    text = replace_line(VALID, "duration_s = 300", "duraton_s = 300")
    err = refuse(text, line=28, field="phases[2].duraton_s", match="unknown key 'duraton_s'")
    assert "did you mean 'duration_s'?" in err.reason


def test_unknown_top_level_and_pacer_keys():
    err = refuse(VALID.replace("sources =", "source ="), line=5, field="source",
                 match="unknown key")
    assert "did you mean 'sources'" in err.reason
    text = replace_line(VALID, "inhale_exhale_ratio = 0.67", "ie_ratio = 0.67")
    refuse(text, line=34, field="phases[2].pacer.ie_ratio", match="unknown key 'ie_ratio'")


def test_missing_required_keys():
    refuse(VALID.replace('name = "Demo protocol"\n', ""), line=None, field="name",
           match="missing required key 'name'")
    text = replace_line(VALID, 'kind = "practice"', "")
    refuse(text, line=line_of(VALID, "[[phases]]", 3), field="phases[2].kind",
           match="missing required key 'kind'")
    text = replace_line(VALID, "duration_s = 300", "")
    refuse(text, line=line_of(VALID, "[[phases]]", 3), field="phases[2].duration_s",
           match="needs duration_s or duration_min")
    text = replace_line(VALID, "at_s = 60", "")
    refuse(text, line=line_of(VALID, "[[phases.prompts]]", 2), field="phases[2].prompts[1].at_s",
           match="missing required key 'at_s'")


def test_wrong_types():
    text = replace_line(VALID, "duration_s = 300", 'duration_s = "300"')
    refuse(text, line=28, field="phases[2].duration_s", match="expected a number")
    text = replace_line(VALID, "duration_s = 300", "duration_s = true")
    refuse(text, line=28, field="phases[2].duration_s", match="expected a number")
    text = replace_line(VALID, 'text = "Settle in."', "text = 5")
    refuse(text, line=38, field="phases[2].prompts[0].text", match="expected a string")
    refuse(VALID.replace('sources = ["Someone et al. (2000)"]', 'sources = "x"'), line=5,
           field="sources", match="expected an array")
    text = replace_line(VALID, 'text = "Settle in."', 'text = "   "')
    refuse(text, line=38, field="phases[2].prompts[0].text", match="must not be empty")


def test_unknown_category_and_kind():
    err = refuse(VALID.replace('"self_soothing"', '"self_sothing"'), line=3, field="category",
                 match="unknown category 'self_sothing'")
    assert "did you mean 'self_soothing'" in err.reason
    text = replace_line(VALID, 'kind = "stressor"', 'kind = "stress"')
    refuse(text, line=47, field="phases[3].kind", match="unknown phase kind 'stress'")


def test_duplicate_phase_ids():
    text = replace_line(VALID, 'id = "stressor"', 'id = "practice"')
    refuse(text, line=45, field="phases[3].id", match="already used by phases[2]")


def test_bad_ids():
    text = replace_line(VALID, 'id = "stressor"', 'id = "two words"')
    refuse(text, line=45, field="phases[3].id", match="not a valid id")


def test_non_positive_durations():
    text = replace_line(VALID, "duration_s = 300", "duration_s = 0")
    refuse(text, line=28, field="phases[2].duration_s", match="must be positive")
    text = replace_line(VALID, "duration_min = 2", "duration_min = -1")
    refuse(text, line=15, field="phases[0].duration_min", match="must be positive")
    text = replace_line(VALID, "duration_min = 2", "duration_min = 2\nduration_s = 5")
    refuse(text, line=15, field="phases[0].duration_min", match="not both")


def test_prompt_outside_phase_or_unsorted():
    text = replace_line(VALID, "at_s = 60", "at_s = 300")
    refuse(text, line=41, field="phases[2].prompts[1].at_s", match="outside its phase")
    text = replace_line(VALID, "at_s = 60", "at_s = 0")
    refuse(text, line=41, field="phases[2].prompts[1].at_s", match="time order")
    text = replace_line(VALID, "at_s = 0", "at_s = -1")
    refuse(text, line=37, field="phases[2].prompts[0].at_s", match="must not be negative")


def test_pacer_limits():
    text = replace_line(VALID, "breaths_per_min = 6", "breaths_per_min = 40")
    refuse(text, line=33, field="phases[2].pacer.breaths_per_min", match="outside 2-30/min")
    text = replace_line(VALID, "breaths_per_min = 6", "breaths_per_min = 1.5")
    refuse(text, line=33, field="phases[2].pacer.breaths_per_min", match="outside 2-30/min")
    text = replace_line(VALID, "inhale_exhale_ratio = 0.67", "inhale_exhale_ratio = 0")
    refuse(text, line=34, field="phases[2].pacer.inhale_exhale_ratio", match="must be positive")
    text = replace_line(
        VALID, "inhale_exhale_ratio = 0.67",
        "inhale_exhale_ratio = 0.67\nhold_after_inhale_s = 4\nhold_after_exhale_s = 5.5",
    )
    refuse(text, line=36, field="phases[2].pacer.hold_after_exhale_s",
           match="at least 1 s is needed")
    text = replace_line(VALID, "inhale_exhale_ratio = 0.67", "inhale_s = 4")
    refuse(text, line=32, field="phases[2].pacer.exhale_s", match="missing required key")
    text = replace_line(VALID, "inhale_exhale_ratio = 0.67", "inhale_s = 4\nexhale_s = 4")
    refuse(text, line=33, field="phases[2].pacer.breaths_per_min", match="add up to 8.00 s")


def test_pacer_not_in_self_report_phase():
    text = replace_line(VALID, "duration_s = 60", "duration_s = 60\npacer = {breaths_per_min = 6}")
    refuse(text, line=23, field="phases[1].pacer", match="cannot have a pacer")


def test_self_report_rules():
    text = replace_line(VALID, 'instructions = "Rest a hand where it feels good."',
                        'self_report = [{id = "a", question = "b"}]')
    refuse(text, line=30, field="phases[2].self_report", match="only self_report phases")
    text = replace_line(VALID, 'id = "kind"', 'id = "calm"')
    refuse(text, line=67, field="phases[4].self_report[1].id", match="used twice")
    text = VALID.replace('[[defaults.self_report]]\nid = "calm"\nquestion = "How calm are you?"\n',
                         "")
    refuse(text, line=line_of(text, "[[phases]]", 2), field="phases[1].self_report",
           match="has no items")


def test_stressor_rules():
    text = replace_line(VALID, 'task = "serial_subtraction"', 'task = "serial_subtract"')
    err = refuse(text, line=51, field="phases[3].stressor.task", match="unknown stressor task")
    assert "did you mean 'serial_subtraction'" in err.reason
    text = replace_line(VALID, "time_limit_s = 7.5", "time_limt_s = 7.5")
    refuse(text, line=52, field="phases[3].stressor.time_limt_s", match="did you mean")
    text = replace_line(VALID, "time_limit_s = 7.5", "start = 10.5")
    refuse(text, line=52, field="phases[3].stressor.start", match="positive whole number")
    text = replace_line(VALID, 'kind = "stressor"', 'kind = "rest"')
    refuse(text, line=50, field="phases[3].stressor", match="only stressor phases")
    # Options the task itself cannot run with are refused at load time, not mid-session.
    text = replace_line(VALID, "time_limit_s = 7.5", "time_limit_s = 30")
    refuse(text, line=50, field="phases[3].stressor", match="time_limit")
    text = replace_line(VALID, "time_limit_s = 7.5", "start = 5")
    refuse(text, line=50, field="phases[3].stressor", match="start")
    text = VALID.replace('[phases.stressor]\ntask = "serial_subtraction"\ntime_limit_s = 7.5\n', "")
    refuse(text, line=line_of(text, "[[phases]]", 4), field="phases[3].stressor",
           match="needs a [phases.stressor] table")


def test_practice_needs_practice_id_and_category():
    text = replace_line(VALID, 'practice = "soothing_touch"', "")
    refuse(text, line=line_of(VALID, "[[phases]]", 3), field="phases[2].practice",
           match="needs 'practice'")
    text = VALID.replace('category = "self_soothing"', 'category = "stress_reactivity"')
    refuse(text, line=line_of(VALID, "[[phases]]", 3), field="phases[2].category",
           match="needs 'category'")
    text = replace_line(VALID, "expected_breaths_per_min = 12", 'practice = "x"')
    refuse(text, line=16, field="phases[0].practice", match="only practice phases")


def test_empty_or_missing_phases():
    head = VALID.split("[[defaults.self_report]]")[0]
    refuse(head, line=None, field="phases", match="no phases")
    refuse(head + "phases = []\n", line=7, field="phases", match="empty")
    refuse(head + "phases = 3\n", line=7, field="phases", match="expected an array of tables")


def test_expected_breathing_range():
    text = replace_line(VALID, "expected_breaths_per_min = 12", "expected_breaths_per_min = 0.5")
    refuse(text, line=16, field="phases[0].expected_breaths_per_min", match="outside")


def test_inline_table_errors_fall_back_to_the_key_line():
    text = VALID.replace(
        '[[phases.prompts]]\nat_s = 60\ntext = "Notice the warmth of your hand."\n', ""
    ).replace('[[phases.prompts]]\nat_s = 0\ntext = "Settle in."\n', "").replace(
        'instructions = "Rest a hand where it feels good."\n',
        'prompts = [\n  {at_s = 0, text = "a"},\n  {at_s = 999, text = "b"},\n]\n',
    )
    refuse(text, line=30, field="phases[2].prompts[1].at_s", match="outside its phase")
    assert line_of(text, "prompts = [") == 30


def test_multiline_strings_do_not_confuse_the_locator():
    text = replace_line(
        VALID, 'instructions = "Rest a hand where it feels good."',
        'instructions = """\nkind = "not a key"\n[[phases]]\n"""',
    )
    assert load_protocol_text(text).phase("practice").instructions == (
        'kind = "not a key"\n[[phases]]\n'
    )
    bad = replace_line(text, 'kind = "stressor"', 'kind = "bogus"')
    refuse(bad, line=50, field="phases[3].kind", match="unknown phase kind")


def test_nothing_partial_is_returned(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(replace_line(VALID, "at_s = 60", "at_s = 999"), encoding="utf-8")
    result = None
    with pytest.raises(InputFileError):
        result = load_protocol_file(path)
    assert result is None
    # the error is raised after phases before the bad one were read: none of them leak out
    assert dataclasses.is_dataclass(load_protocol_text(VALID))


# ------------------------------------------- old key name (before the breathing-rate rename)

OLD_FORMAT = TEST_DATA / "old_format"
BUILTIN_DIR = ROOT / "protocols" / "builtin"


def _as_before_audio(protocol):
    """The protocol without what was added after the rename (audio cues, spoken wording,
    feedback, participant screen), as a file of that release loads: the loader's defaults."""
    phases = tuple(dataclasses.replace(
        phase, cues=CueSettings(), spoken_instructions="",
        feedback=(FeedbackVisibility.SHOWN if phase.kind is PhaseKind.PRACTICE
                  else FeedbackVisibility.HIDDEN),
        prompts=tuple(dataclasses.replace(p, spoken="") for p in phase.prompts),
    ) for phase in protocol.phases)
    return dataclasses.replace(protocol, phases=phases, participant_screen=False)


def test_old_expected_breathing_bpm_file_still_loads():
    # A built-in protocol exactly as the release before the rename wrote it.
    old = load_protocol_file(OLD_FORMAT / "stress_reactivity_expected_breathing_bpm.toml")
    new = load_protocol_file(BUILTIN_DIR / "stress_reactivity.toml")
    assert old == _as_before_audio(new)
    assert old.phase("stressor").expected_breaths_per_min == 16.0
    dumped = dump_protocol_toml(old)
    assert "expected_breaths_per_min = 16" in dumped
    assert "expected_breathing_bpm" not in dumped


def test_old_expected_key_in_text_is_read_and_checked():
    old = VALID.replace("expected_breaths_per_min = 12", "expected_breathing_bpm = 12")
    assert load_protocol_text(old) == load_protocol_text(VALID)
    text = replace_line(VALID, "expected_breaths_per_min = 12", "expected_breathing_bpm = 0.5")
    refuse(text, line=16, field="phases[0].expected_breathing_bpm", match="outside")


def test_old_and_new_expected_keys_together_are_refused():
    text = VALID.replace(
        "expected_breaths_per_min = 12",
        "expected_breaths_per_min = 12\nexpected_breathing_bpm = 12",
    )
    err = refuse(text, line=17, field="phases[0].expected_breathing_bpm", match="old name")
    assert "'expected_breaths_per_min'" in err.reason


def test_old_expected_key_is_not_offered_as_allowed():
    text = replace_line(VALID, "expected_breaths_per_min = 12", "expected_breaths = 12")
    err = refuse(text, line=16, field="phases[0].expected_breaths", match="unknown key")
    assert "expected_breathing_bpm" not in err.reason
    assert "did you mean 'expected_breaths_per_min'" in err.reason
