"""Simulated studies: structure in the store, stored truth, recovered effect, determinism."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from biofeedback.analysis import analyze_recording
from biofeedback.cli import simulate_study as cli
from biofeedback.simulation import SimulationSetupError, simulate_study
from biofeedback.store import SessionStore
from biofeedback.store.studies import StudyError, get_study, session_study, study_sessions
from protocols.library import UnknownProtocolError

SOOTHE, ATTEND = "soothing_touch", "mindfulness_of_breathing"
SCALE = 0.25
"""Sessions of 585 s (practice phases of 150 s): fast, and long enough that RMSSD is stable
(Munoz et al. 2015: RMSSD near its 5-min value from 120 s)."""


def practice_ln_rmssd(store: SessionStore, session_id: int) -> dict[str, float]:
    """lnRMSSD of each practice's phase(s) of a stored session, from analyze_recording."""
    rec = store.load_recording(session_id)
    rows = analyze_recording(rec).to_dict()["phases"]
    practice = {p.phase_id: p.practice for p in rec.phases if p.kind == "practice"}
    return {practice[r["phase_id"]]: r["ln_rmssd"] for r in rows if r["phase_id"] in practice}


def observed_effects(store: SessionStore, sim) -> list[float]:
    out = []
    for p in sim.participants:
        ln = practice_ln_rmssd(store, p.sessions[0].session_id)
        out.append(ln[SOOTHE] - ln[ATTEND])
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """4 participants with the default (realistic) artifacts, effect 0.4."""
    path = tmp_path_factory.mktemp("sim") / "db.sqlite3"
    calls = []
    with SessionStore(path) as store:
        sim = simulate_study(store, "sim-A", participants=4, effect_ln_rmssd=0.4, seed=11,
                             duration_scale=SCALE, progress=lambda i, n: calls.append((i, n)))
        yield store, sim, calls


def test_study_has_both_conditions_and_counterbalanced_enrolment(study):
    store, sim, calls = study
    stored = get_study(store, "sim-A")
    assert stored.conditions == (SOOTHE, ATTEND)
    orders = [e.condition_order for e in stored.participants]
    assert orders == [(SOOTHE, ATTEND), (ATTEND, SOOTHE)] * 2  # AB/BA in turn
    assert [p.condition_order for p in sim.participants] == orders
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_sessions_are_complete_in_the_enrolment_order(study):
    store, sim, _ = study
    assert len(sim.session_ids) == 4
    assert [s.session_id for s in study_sessions(store, "sim-A")] == sorted(sim.session_ids)
    for p in sim.participants:
        (s,) = p.sessions
        info = store.session_info(s.session_id)
        assert info.status == "complete" and info.participant_id == p.participant_id
        assert info.protocol_id == "practice_comparison:" + ",".join(p.condition_order)
        placed = session_study(store, s.session_id)
        assert placed.condition_order == p.condition_order and placed.condition_position == 0
        rec = store.load_recording(s.session_id)
        practices = [ph.practice for ph in rec.phases if ph.kind == "practice"]
        assert practices == list(p.condition_order)
        assert rec.time_s[-1] == pytest.approx(585.0, abs=2.0)


def test_ground_truth_is_stored_with_study_and_sessions(study):
    store, sim, _ = study
    truth = get_study(store, "sim-A").settings["simulation"]
    assert truth["settings"]["seed"] == 11 and truth["settings"]["effect_ln_rmssd"] == 0.4
    stored = {p["participant_id"]: p for p in truth["participants"]}
    for p in sim.participants:
        assert stored[p.participant_id]["true_effect_ln_rmssd"] == p.true_effect_ln_rmssd
        settings = store.session_info(p.sessions[0].session_id).settings
        assert settings["simulation"]["participant"]["baseline_hr_bpm"] == p.baseline_hr_bpm
        assert settings["simulation"]["session"]["strap_seed"] == p.sessions[0].strap_seed
        assert settings["study"]["order"] == list(p.condition_order)
        # Calibration reached the drawn effect (no clamping at these sizes).
        assert not p.clamped
        assert p.model_effect_ln_rmssd == pytest.approx(p.true_effect_ln_rmssd, abs=0.005)
        assert 0.0 < p.artifacts["missed"] + p.artifacts["extra"] <= 0.03
    # Between-person variation is present.
    assert np.ptp([p.baseline_hr_bpm for p in sim.participants]) > 2.0
    assert np.ptp([p.baseline_ln_rmssd for p in sim.participants]) > 0.1
    json.dumps(sim.to_dict())  # the summary is JSON-ready


@pytest.mark.parametrize("effect", [0.4, 0.0])
def test_recovered_effect_matches_the_truth(tmp_path, effect):
    # Missed/extra beats are switched off here: with them (0-3 % per person) the analysis'
    # correction leaves occasional large errors (up to ~1 ln unit in one 150-s phase; see
    # the report of issue 6), which is a finding about the correction, not the simulation.
    # Ectopic pairs (0.2 %) stay on.
    with SessionStore(tmp_path / "db.sqlite3") as store:
        sim = simulate_study(store, f"eff{effect}", participants=4, effect_ln_rmssd=effect,
                             seed=21, duration_scale=SCALE, max_missed_extra=0.0)
        observed = np.array(observed_effects(store, sim))
    truth = np.array([p.model_effect_ln_rmssd for p in sim.participants])
    # Tolerances. Measured over 24 simulated participants (seeds 3 and 5, 150-s practice
    # phases, no missed/extra beats) the per-participant error observed - truth had an SD of
    # 0.025 and a largest |error| of 0.07 (slow Mayer/VLF waves and breathing wander within
    # a phase, 1/1024-s RR resolution). The mean of 4 then has an SE of ~0.015: 0.08 is more
    # than 5 SE. Against the nominal effect, the sample of 4 true effects (SD 0.1) adds an
    # SE of 0.05: 0.2 is 4 SE.
    assert abs(observed.mean() - truth.mean()) < 0.08
    assert abs(observed.mean() - effect) < 0.2
    if effect > 0:
        assert observed.mean() > 0.2 and (observed > 0).all()
    else:
        assert abs(observed.mean()) < 0.15


def test_same_seed_gives_identical_beats(tmp_path):
    beats = []
    for run in range(2):
        with SessionStore(tmp_path / f"db{run}.sqlite3") as store:
            sim = simulate_study(store, "det", participants=2, effect_ln_rmssd=0.3, seed=5,
                                 duration_scale=0.05)
            beats.append([store.load_recording(s).rr_ms for s in sim.session_ids])
            truths = [p.to_dict(sessions=False) for p in sim.participants]
            beats[-1].append(truths)
    *rr0, t0 = beats[0]
    *rr1, t1 = beats[1]
    assert all(np.array_equal(a, b) for a, b in zip(rr0, rr1, strict=True))
    assert t0 == t1
    with SessionStore(tmp_path / "db2.sqlite3") as store:
        other = simulate_study(store, "det", participants=1, effect_ln_rmssd=0.3, seed=6,
                               duration_scale=0.05)
        assert not np.array_equal(store.load_recording(other.session_ids[0]).rr_ms, rr0[0])


def test_separate_design_records_one_session_per_condition_in_order(tmp_path):
    with SessionStore(tmp_path / "db.sqlite3") as store:
        sim = simulate_study(store, "sep", participants=2, effect_ln_rmssd=0.2, seed=1,
                             design="separate", duration_scale=0.1)
        for p in sim.participants:
            assert [s.protocol_id for s in p.sessions] == list(p.condition_order)
            assert [s.condition_position for s in p.sessions] == [0, 1]
            for s in p.sessions:
                assert session_study(store, s.session_id).condition == s.protocol_id


# ------------------------------------------------------------------------------ CLI


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="biofeedback")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


def test_cli_prints_json_summary_and_progress(tmp_path, capsys):
    args = parse(["simulate-study", "cli1", "--participants", "2", "--effect-ln-rmssd", "0.3",
                  "--seed", "4", "--duration-scale", "0.05", "--json",
                  "--data-dir", str(tmp_path)])
    assert args.run(args) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    assert summary["study"] == "cli1" and len(summary["session_ids"]) == 2
    assert summary["settings"]["seed"] == 4
    assert [p["enrol_index"] for p in summary["participants"]] == [0, 1]
    assert "participant 1/2" in out.err and "participant 2/2" in out.err


def test_cli_errors_are_sentences(tmp_path, capsys):
    base = ["--data-dir", str(tmp_path), "--duration-scale", "0.05", "--quiet"]
    args = parse(["simulate-study", "dup", "--participants", "1", "--effect-ln-rmssd", "0",
                  *base])
    assert args.run(args) == 0
    capsys.readouterr()
    with pytest.raises(StudyError, match="a study named 'dup' exists already"):
        args.run(args)
    bad = parse(["simulate-study", "big", "--participants", "1", "--effect-ln-rmssd", "3",
                 *base])
    with pytest.raises(SimulationSetupError, match=r"effect \(lnRMSSD\) must be a number "
                       r"from -1 to 1, not 3\.0"):
        bad.run(bad)
    typo = parse(["simulate-study", "typo", "--participants", "1", "--effect-ln-rmssd", "0",
                  "--self-soothing", "soothing_tuch", *base])
    with pytest.raises(UnknownProtocolError, match="did you mean 'soothing_touch'"):
        typo.run(typo)
    with pytest.raises(SystemExit):
        parse(["simulate-study", "x", "--participants", "zero", "--effect-ln-rmssd", "0"])
    assert "expected a whole number, not 'zero'" in capsys.readouterr().err
    with SessionStore(tmp_path / "other.sqlite3") as store:
        with pytest.raises(SimulationSetupError, match="number of participants must be"):
            simulate_study(store, "n0", participants=0, effect_ln_rmssd=0.1, seed=0)
        with pytest.raises(SimulationSetupError, match="two practices must differ"):
            simulate_study(store, "same", participants=1, effect_ln_rmssd=0.1, seed=0,
                           self_soothing=ATTEND)
        with pytest.raises(SimulationSetupError, match="design must be one of"):
            simulate_study(store, "d", participants=1, effect_ln_rmssd=0.1, seed=0,
                           design="parallel")
