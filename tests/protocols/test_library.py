"""protocols.library: the built-in protocols, template composition, overrides and the CLI."""

from __future__ import annotations

import argparse
import importlib.resources
import itertools
import json
import re

import pytest

from biofeedback.cli import protocols as cli
from biofeedback.core.errors import BiofeedbackError, InputFileError
from protocols.library import (
    ProtocolOverrideError,
    UnknownProtocolError,
    get_protocol,
    list_practices,
    list_protocols,
)
from protocols.loader import dump_protocol_toml, load_protocol_text
from protocols.model import PhaseKind, PracticeProtocol, ProtocolCategory

SELF_SOOTHING = {
    "soothing_touch", "affectionate_breathing", "self_compassion_break", "loving_kindness_self",
    "compassionate_body_scan", "soothing_rhythm_breathing",
}
ATTENTION = {"mindfulness_of_breathing", "body_scan", "open_awareness"}
PRACTICES = sorted(SELF_SOOTHING | ATTENTION | {"resonance_breathing", "quiet_rest"})
EXPECTED_BREATHS_PER_MIN = {
    "soothing_touch": 10, "affectionate_breathing": 9, "self_compassion_break": 11,
    "loving_kindness_self": 11, "compassionate_body_scan": 10, "soothing_rhythm_breathing": 5.5,
    "mindfulness_of_breathing": 11, "body_scan": 11, "open_awareness": 12,
    "resonance_breathing": 6, "quiet_rest": 12,
}
ITEMS = ["calm", "self_kindness", "stress", "focus"]


def practice_phases(p: PracticeProtocol):
    return [ph for ph in p.phases if ph.kind is PhaseKind.PRACTICE]


def all_text(p: PracticeProtocol) -> str:
    parts = [p.name, p.description]
    for ph in p.phases:
        parts += [ph.name, ph.instructions, ph.spoken_instructions,
                  *(pr.text for pr in ph.prompts), *(pr.spoken for pr in ph.prompts)]
        parts += [t for i in ph.self_report for t in (i.question, i.low_label, i.high_label)]
    return "\n".join(parts)


# --------------------------------------------------------------------------- built-ins


def test_builtin_files_ship_as_package_data():
    names = {e.name for e in importlib.resources.files("protocols.builtin").iterdir()}
    assert {f"{pid}.toml" for pid in PRACTICES} <= names
    assert {"stress_reactivity.toml", "practice_comparison.toml"} <= names


def test_list_is_every_builtin_sorted_by_category_then_name():
    protocols = list_protocols()
    ids = [p.id for p in protocols]
    assert set(ids) == set(PRACTICES) | {"stress_reactivity", "practice_comparison"}
    order = list(ProtocolCategory)
    keys = [(order.index(p.category), p.name.lower()) for p in protocols]
    assert keys == sorted(keys)
    assert {p.id for p in protocols if p.category is ProtocolCategory.SELF_SOOTHING} == (
        SELF_SOOTHING
    )
    assert {p.id for p in protocols if p.category is ProtocolCategory.ATTENTION} == ATTENTION
    assert [p.id for p in list_practices()] == [i for i in ids if i not in (
        "stress_reactivity", "practice_comparison")]


@pytest.mark.parametrize("protocol", list_protocols(), ids=lambda p: p.id)
def test_every_builtin_is_well_formed(protocol):
    assert load_protocol_text(dump_protocol_toml(protocol)) == protocol
    practice = practice_phases(protocol)
    assert practice
    kinds = [ph.kind for ph in protocol.phases]
    first = kinds.index(PhaseKind.PRACTICE)
    for ph in practice:
        i = protocol.phases.index(ph)
        assert protocol.phases[i - 1].kind is PhaseKind.SELF_REPORT
        assert protocol.phases[i + 1].kind is PhaseKind.SELF_REPORT
    assert kinds[0] in (PhaseKind.BASELINE, PhaseKind.REST)
    assert first >= 2
    for ph in protocol.phases:
        assert ph.duration_s > 0
        assert all(0 <= pr.at_s < ph.duration_s for pr in ph.prompts)
        assert [pr.at_s for pr in ph.prompts] == sorted({pr.at_s for pr in ph.prompts})
        if ph.kind is PhaseKind.SELF_REPORT:
            assert [i.id for i in ph.self_report] == ITEMS
        else:
            assert ph.expected_breaths_per_min is not None
        if ph.kind is PhaseKind.PRACTICE:
            times = [pr.at_s for pr in ph.prompts] + [ph.duration_s]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert times[0] == 0
            assert all(30 <= g <= 90 for g in gaps), gaps
            assert ph.practice
            assert ph.category is not None


@pytest.mark.parametrize("pid", PRACTICES)
def test_practices_durations_and_breathing(pid):
    p = get_protocol(pid)
    assert [ph.id for ph in p.phases] == ["settle_in", "report_pre", "practice", "report_post"]
    assert [ph.duration_s for ph in p.phases] == [120, 60, 600, 60]
    assert p.phase("practice").expected_breaths_per_min == EXPECTED_BREATHS_PER_MIN[pid]
    assert p.phase("practice").practice == pid
    assert p.phase("settle_in").expected_breaths_per_min == 12
    if p.category is ProtocolCategory.SELF_SOOTHING:
        assert "some compassion practices can briefly lower HRV" in p.description


@pytest.mark.parametrize("pid", sorted(ATTENTION | {"quiet_rest"}))
def test_attention_practices_have_no_pacer(pid):
    assert all(ph.pacer is None for ph in get_protocol(pid).phases)


def test_paced_practices():
    resonance = get_protocol("resonance_breathing").phase("practice").pacer
    assert (resonance.breaths_per_min, resonance.inhale_exhale_ratio) == (6.0, 0.67)
    assert resonance.inhale_s == pytest.approx(4.0, abs=0.02)
    assert resonance.exhale_s == pytest.approx(6.0, abs=0.02)
    soothing = get_protocol("soothing_rhythm_breathing").phase("practice").pacer
    assert (soothing.breaths_per_min, soothing.inhale_exhale_ratio) == (5.5, 0.67)
    unpaced = [p.id for p in list_practices() if p.phase("practice").pacer is None]
    assert sorted(unpaced) == sorted(set(PRACTICES) - {"resonance_breathing",
                                                        "soothing_rhythm_breathing"})


def test_sources_are_cited():
    assert any("Lehrer" in s for s in get_protocol("resonance_breathing").sources)
    assert any("Gilbert" in s for s in get_protocol("soothing_rhythm_breathing").sources)
    stress = get_protocol("stress_reactivity").sources
    assert any("Steffen" in s for s in stress)
    assert any("Jennings" in s for s in stress)


FORBIDDEN = [
    r"doing it right", r"higher hrv means", r"higher (is|=) better", r"raise your hrv",
    r"increase your hrv", r"boost", r"the goal is .*hrv", r"success", r"correctly",
    r"may i be kind to myself", r"moment of suffering", r"suffering is (a )?part of life",
]


@pytest.mark.parametrize("protocol", list_protocols(), ids=lambda p: p.id)
def test_wording_never_judges_by_hrv(protocol):
    text = all_text(protocol).lower()
    for pattern in FORBIDDEN:
        assert not re.search(pattern, text), (pattern, protocol.id)


# --------------------------------------------------------------------------- templates


def test_stress_reactivity_template():
    p = get_protocol("stress_reactivity")
    assert p.category is ProtocolCategory.STRESS_REACTIVITY
    assert [(ph.kind.value, ph.duration_s) for ph in p.phases] == [
        ("baseline", 300), ("self_report", 60), ("stressor", 300), ("self_report", 60),
        ("practice", 600), ("self_report", 60), ("recovery", 600),
    ]
    stressor = p.phase("stressor")
    assert stressor.stressor.task == "serial_subtraction"
    assert stressor.stressor.options["start"] == 1022
    assert stressor.stressor.options["step"] == 13
    assert stressor.expected_breaths_per_min == 16
    assert p.phase("practice").practice == "quiet_rest"
    assert p.phase("recovery").expected_breaths_per_min == 12


@pytest.mark.parametrize("pid", PRACTICES)
def test_stress_reactivity_with_every_practice(pid):
    practice = get_protocol(pid)
    p = get_protocol(f"stress_reactivity:{pid}")
    assert p.id == f"stress_reactivity:{pid}"
    assert p.category is ProtocolCategory.STRESS_REACTIVITY
    template = get_protocol("stress_reactivity")
    assert [ph.id for ph in p.phases] == [ph.id for ph in template.phases]
    slot = p.phase("practice")
    source = practice.phase("practice")
    assert slot.duration_s == 600
    assert slot.practice == pid
    assert slot.category == source.category
    assert slot.pacer == source.pacer
    assert slot.expected_breaths_per_min == source.expected_breaths_per_min
    assert slot.prompts == source.prompts  # same 10 min: unchanged
    assert load_protocol_text(dump_protocol_toml(p)) == p
    assert (p.category is ProtocolCategory.STRESS_REACTIVITY)
    if practice.category is ProtocolCategory.SELF_SOOTHING:
        assert "briefly lower HRV" in p.description


def test_practice_comparison_keeps_the_given_order():
    ab = get_protocol("practice_comparison:affectionate_breathing,mindfulness_of_breathing")
    ba = get_protocol("practice_comparison:mindfulness_of_breathing,affectionate_breathing")
    assert [ph.practice for ph in practice_phases(ab)] == [
        "affectionate_breathing", "mindfulness_of_breathing",
    ]
    assert [ph.practice for ph in practice_phases(ba)] == [
        "mindfulness_of_breathing", "affectionate_breathing",
    ]
    assert ba.id == "practice_comparison:mindfulness_of_breathing,affectionate_breathing"
    assert [(ph.id, ph.kind.value, ph.duration_s) for ph in ab.phases] == [
        ("baseline", "baseline", 300), ("report_pre_a", "self_report", 60),
        ("practice_a", "practice", 600), ("report_post_a", "self_report", 60),
        ("washout", "rest", 300), ("report_pre_b", "self_report", 60),
        ("practice_b", "practice", 600), ("report_post_b", "self_report", 60),
        ("recovery", "recovery", 300),
    ]
    default = get_protocol("practice_comparison")
    assert default.id == "practice_comparison"
    assert default.phases == ab.phases


def test_composition_rescales_prompts():
    p = get_protocol("stress_reactivity:soothing_touch", practice_min=5)
    slot = p.phase("practice")
    source = get_protocol("soothing_touch").phase("practice")
    assert slot.duration_s == 300
    assert [pr.at_s for pr in slot.prompts] == [pr.at_s / 2 for pr in source.prompts]
    assert [pr.text for pr in slot.prompts] == [pr.text for pr in source.prompts]


def test_composition_errors():
    with pytest.raises(ProtocolOverrideError, match="takes 2 practice"):
        get_protocol("practice_comparison:soothing_touch")
    with pytest.raises(ProtocolOverrideError, match="takes 1 practice"):
        get_protocol("stress_reactivity:soothing_touch,body_scan")
    with pytest.raises(ProtocolOverrideError, match="different practices"):
        get_protocol("practice_comparison:body_scan,body_scan")
    with pytest.raises(ProtocolOverrideError, match="is a template"):
        get_protocol("stress_reactivity:practice_comparison")
    with pytest.raises(UnknownProtocolError, match="did you mean 'soothing_touch'"):
        get_protocol("stress_reactivity:soothing_tuch")
    with pytest.raises(ProtocolOverrideError, match="not a template"):
        get_protocol("body_scan:soothing_touch")


def test_practice_from_a_file(tmp_path):
    custom = get_protocol("body_scan")
    path = tmp_path / "my_scan.toml"
    path.write_text(dump_protocol_toml(custom).replace('"body_scan"', '"my_scan"'),
                    encoding="utf-8")
    assert get_protocol(str(path)).id == "my_scan"
    p = get_protocol(f"stress_reactivity:{path}")
    assert p.phase("practice").practice == "my_scan"


# --------------------------------------------------------------------------- overrides


def test_rate_and_ratio_overrides():
    p = get_protocol("resonance_breathing", rate=5.5, ie_ratio=1.0)
    pacer = p.phase("practice").pacer
    assert (pacer.breaths_per_min, pacer.inhale_exhale_ratio) == (5.5, 1.0)
    assert p.phase("practice").expected_breaths_per_min == 5.5
    assert p.phase("settle_in").pacer is None
    assert get_protocol("resonance_breathing").phase("practice").pacer.breaths_per_min == 6
    composed = get_protocol("stress_reactivity:resonance_breathing", rate=4.5)
    assert composed.phase("practice").pacer.breaths_per_min == 4.5


def test_override_errors():
    with pytest.raises(ProtocolOverrideError, match="no breathing pacer"):
        get_protocol("mindfulness_of_breathing", rate=6)
    with pytest.raises(ProtocolOverrideError, match="outside 2-30"):
        get_protocol("resonance_breathing", rate=40)
    with pytest.raises(ProtocolOverrideError, match="positive"):
        get_protocol("resonance_breathing", ie_ratio=-1)
    with pytest.raises(ProtocolOverrideError, match="did you mean 'rate'"):
        get_protocol("resonance_breathing", rates=5)
    assert get_protocol("body_scan", practice_min=15).phase("practice").duration_s == 900


def test_unknown_id_lists_close_matches():
    with pytest.raises(UnknownProtocolError) as info:
        get_protocol("soothing_tuch")
    assert isinstance(info.value, BiofeedbackError)
    assert "did you mean 'soothing_touch'" in str(info.value).lower()
    assert "resonance_breathing" in str(info.value)  # the known ids are listed
    with pytest.raises(UnknownProtocolError):
        get_protocol("")


def test_missing_file_spec(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        get_protocol(str(tmp_path / "nope.toml"))


# --------------------------------------------------------------------------- CLI


def run_cli(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    cli.add_parser(sub)
    args = parser.parse_args(["protocols", *argv])
    code = args.run(args)
    return code, capsys.readouterr().out


def test_cli_list(capsys):
    code, out = run_cli(capsys)
    assert code == 0
    for pid in PRACTICES:
        assert pid in out
    assert "settle_in 2, report_pre 1, practice 10, report_post 1" in out
    code, listed = run_cli(capsys, "list")
    assert (code, listed) == (0, out)


def test_cli_list_json(capsys):
    code, out = run_cli(capsys, "--json")
    data = json.loads(out)
    assert code == 0
    ids = [p["id"] for p in data["protocols"]]
    assert ids == [p.id for p in list_protocols()]
    first = data["protocols"][0]
    assert first["duration_s"] == sum(ph["duration_s"] for ph in first["phases"])
    code, out2 = run_cli(capsys, "list", "--json")
    assert json.loads(out2) == data


def test_cli_show(capsys):
    code, out = run_cli(capsys, "show", "stress_reactivity:soothing_rhythm_breathing")
    assert code == 0
    assert "Mental arithmetic" in out
    assert "5.5/min" in out
    assert "How calm do you feel right now?" in out
    assert "0:45" in out  # prompt times
    assert "total 33 min" in out
    assert "participant screen: yes" in out
    assert "   feedback: hidden; sound: chimes, instructions spoken, prompts spoken\n" in out
    assert "spoken: Please keep your eyes open. Count backwards out loud from ten" in out
    assert "spoken: Please open your eyes and answer the questions on the screen." in out
    assert "sound: chimes, instructions spoken, prompts spoken, tone pacer" in out
    code, out = run_cli(capsys, "show", "body_scan", "--json")
    data = json.loads(out)
    assert data["id"] == "body_scan"
    practice = next(ph for ph in data["phases"] if ph["kind"] == "practice")
    assert practice["pacer"] is None
    assert practice["prompts"][1]["at_s"] == 45
    assert (practice["feedback"], data["participant_screen"]) == ("shown", False)
    assert practice["cues"] == {"chimes": True, "halfway_bell": False,
                                "speak_instructions": True, "speak_prompts": True,
                                "pacer_sound": "off"}
    assert practice["prompts"][-1]["spoken"].endswith("When you are ready, open your eyes.")
    report = next(ph for ph in data["phases"] if ph["kind"] == "self_report")
    assert [i["id"] for i in report["self_report"]] == ITEMS


def test_cli_show_unknown(capsys):
    with pytest.raises(UnknownProtocolError, match="did you mean"):
        run_cli(capsys, "show", "bodyscan")


def test_cli_validate(capsys, tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(dump_protocol_toml(get_protocol("soothing_touch")), encoding="utf-8")
    code, out = run_cli(capsys, "validate", str(good))
    # Validating synthesizes what the protocol speaks (the built-ins speak their guidance).
    assert (code, out.strip()) == (
        0, "ok: soothing_touch (4 phases, 14 min, 16 spoken texts synthesized by espeak-ng)")
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace("kind =", "knd =", 1),
                   encoding="utf-8")
    with pytest.raises(InputFileError, match="did you mean 'kind'") as info:
        run_cli(capsys, "validate", str(bad))
    assert info.value.line is not None


def test_cli_validate_through_main(tmp_path, capsys):
    # main prints BiofeedbackError without a traceback and exits 1; only when registered there
    from biofeedback.cli import main

    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\n', encoding="utf-8")
    assert main.main(["protocols", "validate", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err
    assert "Traceback" not in err
