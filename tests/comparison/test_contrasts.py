"""Contrasts from phase windows: known answers on hand-built windows."""

from __future__ import annotations

import pytest

from biofeedback.comparison.contrasts import (
    category_comparisons,
    participant_means,
    practice_responses,
    same_source_breathing,
)
from biofeedback.comparison.dataset import WindowRow
from biofeedback.stats.paired import paired_comparison


def window(kind, *, practice=None, category=None, ln=3.5, hr=65.0, hf=500.0, lf=800.0,
           breathing=12.0, hf_valid=True, excluded=False, phase_id=None):
    return {
        "phase_id": phase_id or (practice or kind), "kind": kind, "practice": practice,
        "category": category, "ln_rmssd": ln, "hr_bpm": hr, "hf_ms2": hf if hf_valid else None,
        "lf_ms2": lf, "breaths_per_min": breathing, "hf_valid": hf_valid,
        "excluded": excluded, "exclusion_reason": "artifacts 8.0 % > 5 %" if excluded else None,
    }


def session(pid, sid, *windows):
    return [WindowRow(pid, sid, "2026-11-01T10:00:00Z", "S", None, 0, "pc", w)
            for w in windows]


def rows():
    return [
        *session("P1", 1, window("baseline", ln=3.5, hr=66.0),
                 window("practice", practice="soothing_touch", category="self_soothing",
                        ln=3.9, hr=63.0, breathing=10.0),
                 window("practice", practice="body_scan", category="attention",
                        ln=3.6, hr=65.0)),
        *session("P2", 2, window("baseline", ln=3.0, hr=72.0),
                 window("practice", practice="soothing_touch", category="self_soothing",
                        ln=3.2, hr=71.0, hf_valid=False, breathing=7.0),
                 window("practice", practice="body_scan", category="attention",
                        ln=3.1, hr=70.0)),
        # P2's second session: the attention practice window is excluded.
        *session("P2", 3, window("baseline", ln=3.1, hr=71.0),
                 window("practice", practice="soothing_touch", category="self_soothing",
                        ln=3.5, hr=69.0),
                 window("practice", practice="body_scan", category="attention",
                        ln=3.0, excluded=True)),
        *session("P3", 4, window("baseline", ln=4.0, hr=60.0, excluded=True),
                 window("practice", practice="soothing_touch", category="self_soothing",
                        ln=4.3),
                 window("practice", practice="body_scan", category="attention", ln=4.1)),
    ]


def test_deltas_from_the_session_baseline_with_reasons_for_what_is_missing():
    responses = practice_responses(rows())
    assert len(responses) == 8
    p1 = {r.practice: r for r in responses if r.participant_id == "P1"}
    assert p1["soothing_touch"].delta["ln_rmssd"] == pytest.approx(0.4)
    assert p1["soothing_touch"].delta["hr_bpm"] == pytest.approx(-3.0)
    assert p1["soothing_touch"].breaths_per_min == 10.0
    p2 = next(r for r in responses if r.session_id == 2 and r.category == "self_soothing")
    assert p2.delta["hf_ms2"] is None
    assert "HF not valid in the practice window" in p2.missing["hf_ms2"]
    excluded = next(r for r in responses if r.session_id == 3 and r.category == "attention")
    assert excluded.delta["ln_rmssd"] is None
    assert excluded.missing["ln_rmssd"].startswith("practice window excluded (artifacts")
    p3 = [r for r in responses if r.participant_id == "P3"]
    assert all(r.missing["ln_rmssd"].startswith("baseline window excluded") for r in p3)


def breathing(window_dict, *, acc=None, rr=None):
    """``window_dict`` with its breathing from the ACC (``acc``, reliable) or, without it,
    the RR spectrum (``rr``), as phase_windows writes them."""
    source = "acc" if acc is not None else ("rr" if rr is not None else None)
    return {**window_dict, "breaths_per_min": acc if acc is not None else rr,
            "breathing_source": source, "breaths_per_min_rr": rr, "breaths_per_min_acc": acc}


def test_a_breathing_change_uses_one_source_for_both_windows():
    base = window("baseline")
    practice = window("practice", practice="paced", category="self_soothing")
    # Both windows with a reliable ACC rate: ACC minus ACC.
    both = (breathing(practice, acc=6.1, rr=9.4), breathing(base, acc=12.2, rr=12.6))
    assert same_source_breathing(*both) == (6.1, 12.2, "acc")
    # Only the practice has one (the stressor's fast shallow breathing, or the ACC starting
    # late): RR minus RR, never 6.1 - 12.6.
    one = (breathing(practice, acc=6.1, rr=9.4), breathing(base, rr=12.6))
    assert same_source_breathing(*one) == (9.4, 12.6, "rr")
    assert same_source_breathing(*reversed(one)) == (12.6, 9.4, "rr")
    responses = {
        label: practice_responses(session("P1", 1, b, p))[0]
        for label, (p, b) in (("both", both), ("one", one),
                              ("no rr", (breathing(practice, acc=6.1), breathing(base, rr=12.6))))
    }
    assert responses["both"].delta["breaths_per_min"] == pytest.approx(6.1 - 12.2)
    assert responses["both"].breathing_change_source == "acc"
    assert responses["one"].delta["breaths_per_min"] == pytest.approx(9.4 - 12.6)
    assert responses["one"].breathing_change_source == "rr"
    # The practice's own rate (reported beside the contrasts) is still the ACC's.
    assert responses["one"].breaths_per_min == 6.1
    assert responses["one"].breathing_source == "acc"
    # An ACC-only practice without an RR-spectrum rate cannot be compared with an RR baseline.
    missing = responses["no rr"]
    assert missing.delta["breaths_per_min"] is None and missing.breathing_change_source is None
    assert missing.missing["breaths_per_min"] == (
        "no RR-spectrum breathing rate in the practice window")


def test_participant_means_over_sessions_and_the_paired_comparison():
    responses = practice_responses(rows())
    means = participant_means(responses, "ln_rmssd")
    assert means["P1"] == pytest.approx({"self_soothing": 0.4, "attention": 0.1})
    # P2: self-soothing 0.2 (session 2) and 0.4 (session 3); attention only session 2.
    assert means["P2"] == pytest.approx({"self_soothing": 0.3, "attention": 0.1})
    assert means["P3"] == {"self_soothing": None, "attention": None}
    comparison = category_comparisons(responses, ["ln_rmssd"])[0]
    expected = paired_comparison([0.4, 0.3, float("nan")], [0.1, 0.1, float("nan")])
    assert comparison.n == 2 and comparison.n_missing == 1
    assert comparison.mean_diff == pytest.approx(expected.mean_diff)
    assert comparison.p_t == pytest.approx(expected.p_t, rel=1e-12)
    assert comparison.metric == "delta_ln_rmssd"
    assert comparison.contrast == "self_soothing - attention"
    by_practice = participant_means(responses, "ln_rmssd", practice="soothing_touch")
    assert by_practice["P1"]["self_soothing"] == pytest.approx(0.4)
    assert by_practice["P1"]["attention"] is None


def test_reactivity_recovery_and_residualised_change_per_session():
    from biofeedback.comparison.reactivity import session_reactivity
    from biofeedback.stats.change import residualized_change

    def stress_session(pid, sid, base, stress, recov, *, excluded_recovery=False):
        return session(pid, sid, window("baseline", ln=base[0], hr=base[1]),
                       window("stressor", ln=stress[0], hr=stress[1]),
                       window("practice", practice="soothing_touch", category="self_soothing"),
                       window("recovery", ln=recov[0], hr=recov[1],
                              excluded=excluded_recovery))

    data = [*stress_session("P1", 1, (3.5, 66.0), (3.0, 76.0), (3.4, 68.0)),
            *stress_session("P2", 2, (3.0, 72.0), (2.8, 80.0), (3.0, 72.0)),
            *stress_session("P3", 3, (4.0, 60.0), (3.2, 75.0), (3.9, 61.0),
                            excluded_recovery=True),
            *session("P4", 4, window("baseline"), window("practice", practice="body_scan",
                                                         category="attention"))]
    scores = session_reactivity(data)
    assert [s.session_id for s in scores] == [1, 2, 3]  # P4 had no stressor
    p1 = scores[0]
    assert p1.reactivity["hr_bpm"] == pytest.approx(10.0)
    assert p1.recovery["hr_bpm"] == pytest.approx(2.0)
    assert p1.percent_recovery["hr_bpm"] == pytest.approx(80.0)
    assert p1.percent_recovery["ln_rmssd"] == pytest.approx(80.0)
    assert scores[2].recovery["hr_bpm"] is None
    assert scores[2].missing["hr_bpm.recovery"].startswith("excluded (artifacts")
    expected = residualized_change([66.0, 72.0, 60.0], [76.0, 80.0, 75.0])
    assert [s.residualized_reactivity["hr_bpm"] for s in scores] == pytest.approx(
        expected.tolist()
    )


def test_trends_over_sessions_with_a_weekly_slope_of_the_baseline():
    from biofeedback.comparison.compare import participant_trends

    def dated(pid, sid, day, base_ln, practice_ln):
        return [WindowRow(pid, sid, f"2026-10-{day:02d}T09:00:00+00:00", "S", None, 0, "pc", w)
                for w in (window("baseline", ln=base_ln),
                          window("practice", practice="soothing_touch",
                                 category="self_soothing", ln=practice_ln))]

    data = [*dated("P1", 3, 15, 3.6, 3.9), *dated("P1", 1, 1, 3.4, 3.5),
            *dated("P1", 2, 8, 3.5, 3.7), *dated("P2", 4, 2, 3.0, 3.1)]
    trends = participant_trends(data, practice_responses(data))
    p1, p2 = trends
    assert [s["session_id"] for s in p1["sessions"]] == [1, 2, 3]
    assert [s["days_since_first"] for s in p1["sessions"]] == [0.0, 7.0, 14.0]
    assert [s["delta_ln_rmssd"]["soothing_touch"] for s in p1["sessions"]] == pytest.approx(
        [0.1, 0.2, 0.3]
    )
    # Baseline rises 0.1 ln ms per week.
    assert p1["baseline_slope_per_week"] == pytest.approx(0.1)
    assert p2["baseline_slope_per_week"] is None  # one session
