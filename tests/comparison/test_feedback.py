"""Feedback shown vs hidden (``compare --split-by feedback``): known answers on hand-built
windows, and the whole comparison on sessions stored in a real database."""

from __future__ import annotations

import json

import numpy as np
import pytest

from biofeedback.cli.compare import SPLIT_CHOICES, format_result
from biofeedback.cli.main import main
from biofeedback.comparison.compare import compare
from biofeedback.comparison.dataset import WindowRow
from biofeedback.comparison.feedback import SPLITS, feedback_split
from biofeedback.core.recording import Recording
from biofeedback.core.types import PhaseSpan
from biofeedback.stats.paired import paired_comparison


def window(kind, *, practice=None, category=None, ln=3.5, feedback=None, hr=65.0):
    return {
        "phase_id": practice or kind, "kind": kind, "practice": practice,
        "category": category, "ln_rmssd": ln, "hr_bpm": hr, "hf_ms2": 500.0, "lf_ms2": 800.0,
        "breaths_per_min": 6.0, "hf_valid": True, "excluded": False, "exclusion_reason": None,
        "feedback": feedback,
    }


def session(pid, sid, baseline_ln, practice_ln, feedback, practice="resonance_breathing",
            category="breathing"):
    return [WindowRow(pid, sid, "2026-11-01T10:00:00Z", None, None, None, "p", w) for w in (
        window("baseline", ln=baseline_ln, feedback="hidden"),
        window("practice", practice=practice, category=category, ln=practice_ln,
               feedback=feedback))]


def rows():
    return [
        *session("P1", 1, 3.5, 4.3, "shown"),     # Δ 0.8
        *session("P1", 2, 3.4, 3.9, "hidden"),    # Δ 0.5
        *session("P2", 3, 3.0, 3.6, "shown"),     # Δ 0.6
        *session("P2", 4, 3.1, 3.5, "hidden"),    # Δ 0.4
        *session("P2", 5, 3.0, 3.1, "hidden"),    # Δ 0.1: P2's hidden mean is 0.25
        *session("P3", 6, 4.0, 4.7, "shown"),     # no hidden session: not paired
        *session("P3", 7, 4.0, 4.2, "hidden", "soothing_touch", "self_soothing"),
        *session("P4", 8, 3.0, 3.3, None),        # stored before feedback was recorded
    ]


def test_each_practice_shown_against_hidden_paired_by_participant():
    split = feedback_split(rows(), ("ln_rmssd", "hr_bpm"))
    assert split["contrast"].startswith("feedback shown - hidden")
    resonance, touch = split["practices"]
    assert (resonance["practice"], resonance["category"]) == ("resonance_breathing", "breathing")
    assert (resonance["n_shown"], resonance["n_hidden"], resonance["n_paired"]) == (3, 3, 2)
    people = {p["participant_id"]: p for p in resonance["participants"]}
    assert people["P1"]["delta_ln_rmssd_shown"] == pytest.approx(0.8)
    assert people["P1"]["delta_ln_rmssd_hidden"] == pytest.approx(0.5)
    assert people["P2"]["delta_ln_rmssd_hidden"] == pytest.approx(0.25)
    assert people["P3"]["delta_ln_rmssd_hidden"] is None
    ln = resonance["comparisons"][0]
    assert (ln["metric"], ln["contrast"], ln["n"], ln["n_missing"]) == (
        "delta_ln_rmssd", "shown - hidden", 2, 1)
    assert ln["mean_diff"] == pytest.approx((0.3 + 0.35) / 2)
    expected = paired_comparison([0.8, 0.6], [0.5, 0.25], metric="delta_ln_rmssd",
                                 contrast="shown - hidden")
    assert (ln["ci_low"], ln["ci_high"], ln["d_z"]) == pytest.approx(
        (expected.ci_low, expected.ci_high, expected.d_z))
    hr = resonance["comparisons"][1]
    assert hr["mean_diff"] == pytest.approx(0.0)  # every window's HR equals its baseline's
    # A practice done only with feedback hidden has nothing to compare, and says so.
    assert (touch["practice"], touch["n_shown"], touch["n_hidden"], touch["n_paired"]) == (
        "soothing_touch", 0, 1, 0)
    assert touch["comparisons"][0]["n"] == 0 and touch["comparisons"][0]["note"]
    assert split["not_recorded"] == [{"session_id": 8, "participant_id": "P4",
                                      "phase_id": "resonance_breathing",
                                      "practice": "resonance_breathing"}]


def test_the_cli_offers_exactly_the_splits_compare_takes():
    assert SPLIT_CHOICES == SPLITS
    with pytest.raises(ValueError, match="cannot split by 'colour'; choose one of feedback"):
        compare(None, participants=["P1"], split_by="colour")


def _recording(rng, practice_amplitude_ms: float, feedback: str) -> Recording:
    """150 s of baseline and 150 s of resonance breathing: beats whose RR swings with the
    breath (0.25 Hz at baseline, 0.1 Hz in the practice) by the given amplitudes, ms."""
    times, rrs, t = [], [], 0.0
    while t < 300.0:
        practice = t >= 150.0
        amplitude, rate = (practice_amplitude_ms, 0.1) if practice else (30.0, 0.25)
        rr = 900.0 + amplitude * np.sin(2 * np.pi * rate * t) + rng.normal(0.0, 3.0)
        t += rr / 1000.0
        times.append(t)
        rrs.append(rr)
    return Recording(np.array(rrs), np.array(times), phases=[
        PhaseSpan("baseline", "Baseline", "baseline", 0.0, 150.0, feedback="hidden"),
        PhaseSpan("practice", "Resonance breathing", "practice", 150.0, times[-1] + 0.01,
                  "resonance_breathing", "breathing", feedback)])


@pytest.fixture
def stored(store):
    """P1-P3 each did resonance breathing once with feedback shown (their RR swinging by
    120-140 ms) and once hidden (60-80 ms), stored in a real database."""
    rng = np.random.default_rng(7)
    for n, participant in enumerate(("P1", "P2", "P3")):
        for amplitude, feedback in ((120.0 + 10 * n, "shown"), (60.0 + 10 * n, "hidden")):
            store.import_recording(_recording(rng, amplitude, feedback), source="sim",
                                   participant_id=participant, protocol_id="resonance")
    return store


def test_compare_split_by_feedback_on_stored_sessions(stored, data_dir, capsys):
    result, rows = compare(data_dir, participants=["P1", "P2", "P3"], split_by="feedback",
                           workers=1, window=None)
    assert result["settings"]["split_by"] == "feedback"
    (resonance,) = result["feedback"]["practices"]
    assert (resonance["n_shown"], resonance["n_hidden"], resonance["n_paired"]) == (3, 3, 3)
    # The participant means are the windows' own Δ from their session's baseline.
    windows = {(r.session_id, r.window["kind"]): r.window for r in rows}
    for person in resonance["participants"]:
        sessions = sorted({r.session_id for r in rows
                           if r.participant_id == person["participant_id"]})
        for sid in sessions:
            level = windows[(sid, "practice")]["feedback"]
            delta = windows[(sid, "practice")]["ln_rmssd"] - windows[(sid, "baseline")]["ln_rmssd"]
            assert person[f"delta_ln_rmssd_{level}"] == pytest.approx(delta)
    ln = resonance["comparisons"][0]
    # Larger swings with feedback shown: a higher lnRMSSD, by ln(2) at most (twice the swing).
    assert ln["n"] == 3 and 0.3 < ln["mean_diff"] < np.log(2.0) + 0.1
    assert all(p["delta_ln_rmssd_shown"] > p["delta_ln_rmssd_hidden"]
               for p in resonance["participants"])
    # Breathing practices only: no self-soothing vs attention model, said, not raised.
    assert "needs 2 categories, found 0" in result["mixed_model"]["error"]
    text = format_result(result)
    assert "Feedback shown vs hidden" in text
    assert "resonance_breathing (breathing): 3 shown, 3 hidden, 3 participants with both" in text
    # The command prints the same.
    assert main(["compare", "--participant", "P1", "--participant", "P2", "--participant",
                 "P3", "--split-by", "feedback", "--json", "--workers", "1",
                 "--data-dir", str(data_dir)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["feedback"]["practices"][0]["comparisons"][0]["mean_diff"] == \
        pytest.approx(ln["mean_diff"])
