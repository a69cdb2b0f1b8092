"""Every protocol runs end to end with the simulated strap; studies place sessions in order."""

from __future__ import annotations

import asyncio
import json

import pytest
from helpers import run_simulated_protocol as run_protocol

from biofeedback.analysis import analyze_recording
from biofeedback.cli.main import main
from biofeedback.core.types import MarkerKind
from biofeedback.session.live_session import LiveSession
from biofeedback.session.protocol_session import ProtocolSession
from biofeedback.store import SessionStore
from biofeedback.store.studies import session_study
from protocols.library import get_protocol, list_protocols
from protocols.model import PhaseKind
from sensors.simulated import SimulatedStrap
from sensors.simulated.protocol_schedule import physiology_schedule

SPECS = [p.id for p in list_protocols()] + [
    "stress_reactivity:soothing_touch",
    "stress_reactivity:mindfulness_of_breathing",
    "practice_comparison:affectionate_breathing,body_scan",
]


@pytest.mark.parametrize("spec", SPECS)
def test_protocol_runs_end_to_end_and_stores_its_phases(store, spec):
    protocol, session, runner = run_protocol(store, spec)
    assert runner.runner.finished
    info = store.session_info(session.session_id)
    assert info.status == "complete" and info.protocol_id == protocol.id
    rec = store.load_recording(session.session_id)
    # The session stopped when the protocol ended, not when the strap's time ran out.
    assert rec.time_s[-1] == pytest.approx(protocol.duration_s, abs=2.0)
    declared, t = [], 0.0
    for phase in protocol.phases:
        declared.append((phase.id, str(phase.kind), t, t + phase.duration_s,
                         str(phase.feedback)))
        t += phase.duration_s
    # Each phase is stored with whether the participant saw their physiology.
    stored = [(p.phase_id, p.kind, p.start_s, p.end_s, p.feedback) for p in rec.phases]
    assert stored == declared
    reports = [m for m in rec.markers if m.kind is MarkerKind.SELF_REPORT]
    for phase in protocol.phases:
        if phase.kind is PhaseKind.SELF_REPORT:
            answered = {m.extra["item"] for m in reports if m.extra.get("phase") == phase.id}
            assert answered == {item.id for item in phase.self_report}
    stressor_ends = [m for m in rec.markers
                     if m.kind is MarkerKind.STRESSOR and m.extra.get("event") == "end"]
    n_stressors = sum(p.kind is PhaseKind.STRESSOR for p in protocol.phases)
    assert len(stressor_ends) == n_stressors


def test_simulated_physiology_follows_the_phases(store):
    _, session, _ = run_protocol(store, "stress_reactivity:resonance_breathing", seed=4)
    rows = {p["phase_id"]: p for p in
            analyze_recording(store.load_recording(session.session_id)).to_dict()["phases"]}
    base, stress, practice, recovery = (rows[k] for k in
                                        ("baseline", "stressor", "practice", "recovery"))
    # The lab template hides feedback except during the breathing practice in its slot.
    assert {k: r["feedback"] for k, r in rows.items()} == {
        "baseline": "hidden", "report_baseline": "hidden", "stressor": "hidden",
        "report_stressor": "hidden", "practice": "shown", "report_practice": "hidden",
        "recovery": "hidden"}
    assert stress["mean_hr_bpm"] > base["mean_hr_bpm"] + 5
    assert stress["ln_rmssd"] < base["ln_rmssd"] - 0.3
    assert practice["breaths_per_min"] == pytest.approx(6.0, abs=0.5)
    assert practice["hf_valid"] is False
    assert base["breaths_per_min"] == pytest.approx(12.0, abs=1.0)
    assert stress["breaths_per_min"] == pytest.approx(16.0, abs=1.0)
    assert base["ln_rmssd"] - 0.3 < recovery["ln_rmssd"] < base["ln_rmssd"] + 0.3


def test_stressor_markers_record_every_answer(store):
    _, session, runner = run_protocol(store, "stress_reactivity", seed=2)
    rec = store.load_recording(session.session_id)
    answers = [m for m in rec.markers if m.kind is MarkerKind.STRESSOR
               and m.extra.get("event") in ("answer", "timeout")]
    summary = runner.stressor_summaries[0]
    assert len(answers) == summary["answers"] + summary["timeouts"] > 20
    stressor = next(p for p in rec.phases if p.kind == "stressor")
    assert all(stressor.start_s <= m.onset_s <= stressor.end_s for m in answers)
    assert all("latency_ms" in m.extra and "correct" in m.extra for m in answers)


def test_cli_records_a_study_in_counterbalanced_order(tmp_path, capsys):
    data = str(tmp_path / "data")

    def cli(*args):
        code = main([*args, "--data-dir", data])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, err = cli("study", "create", "S1", "--conditions",
                         "soothing_touch,mindfulness_of_breathing", "--json")
    assert code == 0, err
    orders = {}
    for pid in ("P1", "P2"):
        code, out, err = cli("study", "enrol", "S1", pid, "--json")
        assert code == 0, err
        orders[pid] = json.loads(out)["enrolment"]["condition_order"]
    assert orders["P1"] == list(reversed(orders["P2"]))
    ids = []
    for _ in range(2):
        code, out, err = cli("record", "--source", "sim", "--speed", "max", "--seed", "1",
                             "--study", "S1", "--participant", "P1", "--quiet", "--no-neurokit")
        assert code == 0, err
        ids.append(int(out.strip()))
    with SessionStore.open(data) as store:
        placed = [session_study(store, sid) for sid in ids]
        protocols = [store.session_info(sid).protocol_id for sid in ids]
    assert [p.condition_position for p in placed] == [0, 1]
    assert protocols == orders["P1"]
    assert all(list(p.condition_order) == orders["P1"] for p in placed)
    code, _, err = cli("record", "--source", "sim", "--speed", "max", "--study", "S1",
                       "--participant", "P1", "--quiet", "--no-neurokit")
    assert code == 1 and "has done all 2 conditions" in err
    code, out, err = cli("record", "--source", "sim", "--speed", "max", "--seed", "2",
                         "--study", "S1", "--participant", "P2", "--protocol",
                         "practice_comparison", "--quiet", "--no-neurokit")
    assert code == 0, err
    with SessionStore.open(data) as store:
        info = store.session_info(int(out.strip()))
    assert info.protocol_id == "practice_comparison:" + ",".join(orders["P2"])
    assert info.settings["study"]["order"] == orders["P2"]


def test_cli_protocol_errors_are_sentences(tmp_path, capsys):
    code = main(["record", "--protocol", "soothing_touchh", "--data-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1 and "soothing_touch" in err and "Traceback" not in err


def test_without_a_participant_answering_reports_are_marked_and_prompts_time_out(store):
    protocol = get_protocol("stress_reactivity")
    strap = SimulatedStrap(seed=3, speed="max", duration_s=protocol.duration_s + 60.0,
                           schedule=physiology_schedule(protocol))
    session = LiveSession(strap, store=store, protocol_id=protocol.id, neurokit=False)
    runner = ProtocolSession(session, protocol, simulated_participant=False)
    asyncio.run(session.run())
    rec = store.load_recording(session.session_id)
    unanswered = [m.label for m in rec.markers if m.label.endswith("not answered")]
    assert unanswered == [f"self-report {p.id} not answered" for p in protocol.phases
                          if p.kind is PhaseKind.SELF_REPORT]
    summary = runner.stressor_summaries[0]
    assert summary["answers"] == 0 and summary["timeouts"] > 10
    # Unanswered prompts relax the limit up to its ceiling (x1.1 per timeout, max 15 s).
    assert summary["final_time_limit_s"] == pytest.approx(15.0)


def test_study_placement_counts_only_completed_conditions(tmp_path, capsys):
    data = str(tmp_path / "data")

    def cli(*args):
        code = main([*args, "--data-dir", data, *(
            ["--quiet", "--no-neurokit", "--source", "sim", "--speed", "max"]
            if args[0] == "record" else [])])
        out = capsys.readouterr()
        return code, out.out, out.err

    assert cli("study", "create", "S2", "--conditions", "body_scan,quiet_rest")[0] == 0
    # A typo or a wrong condition fails before enrolment: the design is not used up.
    code, _, err = cli("record", "--study", "S2", "--participant", "P1", "--protocol",
                       "quiet_rest")
    assert code == 1 and "next condition in study 'S2' is 'body_scan'" in err
    code, out, _ = cli("study", "show", "S2", "--json")
    assert json.loads(out)["study"]["participants"] == []
    # An aborted session (cut by --duration) does not count as done.
    code, out, err = cli("record", "--study", "S2", "--participant", "P1", "--duration", "30")
    assert code == 0, err
    aborted = int(out.strip())
    code, out, err = cli("record", "--study", "S2", "--participant", "P1", "--seed", "2")
    assert code == 0, err
    redo = int(out.strip())
    with SessionStore.open(data) as store:
        assert session_study(store, aborted).condition_position == 0
        assert session_study(store, redo).condition_position == 0
        assert store.session_info(redo).protocol_id == "body_scan"
        labels = [m.label for m in store.load_recording(redo).markers]
    assert "protocol completed" in labels
    code, out, err = cli("record", "--study", "S2", "--participant", "P1", "--seed", "3")
    assert code == 0, err
    with SessionStore.open(data) as store:
        assert store.session_info(int(out.strip())).protocol_id == "quiet_rest"


def test_a_pause_during_the_stressor_holds_its_deadline_and_refuses_answers(store):
    protocol = get_protocol("stress_reactivity")
    stressor_start = sum(p.duration_s for p in protocol.phases[:2])
    strap = SimulatedStrap(seed=4, speed="max", duration_s=stressor_start + 120.0,
                           schedule=physiology_schedule(protocol))
    session = LiveSession(strap, store=store, protocol_id=protocol.id, neurokit=False)
    runner = ProtocolSession(session, protocol, simulated_participant=False)
    refused: list[str] = []
    held: dict[str, float] = {}

    def operator(event):
        now = runner.runner.now_s
        if runner.stressor is None:
            return
        if "paused_at" not in held and now >= stressor_start + 3.0:
            held["paused_at"] = now  # before pause(): its marker calls back here
            runner.runner.pause()
            try:
                runner.answer_stressor("1009")
            except ValueError as exc:
                refused.append(str(exc))
        elif "resumed_at" not in held and "paused_at" in held and now >= stressor_start + 33.0:
            held["resumed_at"] = now
            runner.runner.resume()

    session.subscribe(operator)
    asyncio.run(session.run(duration_s=stressor_start + 90.0))
    assert refused == ["the protocol is paused; answers count again once it resumes"]
    rec = store.load_recording(session.session_id)
    timeouts = [m for m in rec.markers if m.kind is MarkerKind.STRESSOR
                and m.extra.get("event") == "timeout"]
    paused_s = held["resumed_at"] - held["paused_at"]
    # The first prompt (7.5 s to answer) times out 7.5 s of protocol time after it was shown:
    # the pause does not count.
    assert timeouts[0].onset_s == pytest.approx(stressor_start + 7.5 + paused_s, abs=1e-6)
    assert not [m for m in timeouts if held["paused_at"] < m.onset_s < held["resumed_at"]]
